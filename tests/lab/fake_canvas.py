"""A fake Canvas that behaves as reference/canvas-badgr.md describes.

``FakeCanvas`` holds the instance's state (hosted or self-hosted, environment, developer
keys); ``FakeCanvas.handler()`` gives a request handler for tests/lab/servers.serve_http.
Routes are a table (``ROUTES``) so each area adds its endpoints in one place.

Developer Keys, OAuth2 and LTI (reference §3-§5) are implemented the way canvas-lms does
it (``OAuth2ProviderController#auth``/``#token``, ``Canvas::OAuth::Provider``,
``DeveloperKey#redirect_domain_matches?``, ``Lti::IMS::SecurityController#jwks``), so
each oauth.* and lti.* finding is produced by the same decisions Canvas makes:

- ``FakeCanvas.add_key(...)`` makes a :class:`FakeKey` (state active/inactive/deleted,
  binding on/off/allow for the root account, "Redirect URIs" list and legacy field,
  scopes);
- ``GET /login/oauth2/auth`` walks §3's table in order, JSON errors carry the
  ``while(1);`` prefix for GETs that do not ask for JSON;
- ``POST /login/oauth2/token`` splits 401 ``invalid_client`` from 400 ``invalid_grant``,
  as JSON or - with ``token_errors_redirect=True`` (Canvas without the
  ``no_redirect_on_oauth_token_method`` flag) - as a 302 to the redirect_uri;
- ``GET /api/lti/security/jwks`` serves the platform key set; ``sso=True`` makes a
  server that is only the hosted SSO host (``sso.canvaslms.com``): JWKS and nothing else.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from .servers import LabHandler


@dataclass
class FakeCanvas:
    """State of one fake instance.

    Attributes:
        hosted: send Instructure-hosted headers (cluster/zone in X-Canvas-Meta, P3P,
            X-Request-Processor); self-hosted installs lack them.
        environment: production, beta or test (only shows in hosted headers' cluster).
        canvas_headers: False makes a site that answers but is not Canvas-like at all.
        keys: Developer Keys by their global id (see :meth:`add_key`).
        token_errors_redirect: token endpoint errors come back as a 302 to the
            redirect_uri (Canvas's older behaviour) instead of JSON.
        auth_codes: authorization codes that exist, code -> key id (none by default:
            nobody ever logs in to the fake).
        jwks: the platform's public keys; None serves two RS256 keys like Canvas.
        jwks_status: HTTP status of the JWKS endpoint (a broken proxy answers 502...).
        jwks_body: raw body to serve instead of the key set (HTML, garbage), or None.
        sso: this server is Instructure's SSO host for hosted LTI, not a Canvas.
        lti_issuer_public: an issuer that ``/api/lti/security/openid-configuration``
            shows without a registration token (a proxy or patched install; stock Canvas
            answers 401 there, the default).
    """

    hosted: bool = False
    environment: str = "production"
    canvas_headers: bool = True
    extra_routes: dict[tuple[str, str], Callable[["CanvasHandler"], None]] = field(default_factory=dict)
    keys: dict[str, "FakeKey"] = field(default_factory=dict)
    token_errors_redirect: bool = False
    auth_codes: dict[str, str] = field(default_factory=dict)
    jwks: list[dict] | None = None
    jwks_status: int = 200
    jwks_body: str | None = None
    sso: bool = False
    lti_issuer_public: str | None = None

    def add_key(
        self,
        *,
        redirect_uris: list[str] | tuple[str, ...] = (),
        redirect_uri: str | None = None,
        state: str = "active",
        binding: str = "on",
        require_scopes: bool = False,
        scopes: list[str] | tuple[str, ...] = (),
        id: str | None = None,  # noqa: A002 - Canvas's name
        api_key: str | None = None,
    ) -> "FakeKey":
        """A Developer Key on this instance; ids look like the hosting's (§5)."""
        base = 170000000000000 if self.hosted else 10000000000000
        key = FakeKey(
            id=id or str(base + 1 + len(self.keys)),
            api_key=api_key or new_api_key(),
            redirect_uris=list(redirect_uris),
            redirect_uri=redirect_uri,
            workflow_state=state,
            binding=binding,
            require_scopes=require_scopes,
            scopes=list(scopes),
        )
        self.keys[key.id] = key
        return key

    def find_key(self, client_id: str | None) -> "FakeKey | None":
        """``Canvas::OAuth::Provider#key``: Integer(client_id) or nothing, then by id."""
        if not client_id:
            return None
        try:
            wanted = int(client_id.strip(), 10)
        except ValueError:
            return None
        return next((k for k in self.keys.values() if int(k.id) == wanted), None)

    def handler(self) -> type["CanvasHandler"]:
        canvas = self
        return type("BoundCanvasHandler", (CanvasHandler,), {"canvas": canvas})


class CanvasHandler(LabHandler):
    canvas: FakeCanvas

    # -- plumbing -------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def _dispatch(self, method: str) -> None:
        self.record()
        path = urlsplit(self.path).path
        route = self.canvas.extra_routes.get((method, path)) or ROUTES.get((method, path))
        if self.canvas.sso and route is not None and (method, path) not in SSO_ROUTES:
            route = None
        if route is None and self.canvas.sso:
            self.answer(404, "Not Found", {"Content-Type": "text/plain"})
            return
        if route is None:
            self.canvas_json(404, {"errors": [{"message": "The specified resource does not exist."}]})
            return
        route(self)

    def canvas_headers(self) -> dict[str, str]:
        if not self.canvas.canvas_headers:
            return {"Server": "nginx"}
        meta = "q=1;a=1;g=abc;s=1;o=users;n=show;t=User;i=1;b=1;m=1;u=0.01;y=0.00;d=0.00;"
        headers = {
            "X-Request-Context-Id": str(uuid.uuid4()),
            "X-Session-Id": uuid.uuid4().hex,
            "X-Request-Cost": "0.01",
            "X-Rate-Limit-Remaining": "700.0",
        }
        if self.canvas.hosted:
            cluster = {"production": "cluster21", "beta": "cluster21beta", "test": "cluster21test"}[self.canvas.environment]
            meta += f"c={cluster};z=us-east-1b;"
            headers["P3P"] = 'CP="None, see http://www.instructure.com/privacy-policy"'
            headers["X-Request-Processor"] = str(uuid.uuid4())
        headers["X-Canvas-Meta"] = meta
        return headers

    def canvas_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload)
        if self.command in ("GET", "HEAD") and "application/json" not in (self.headers.get("Accept") or ""):
            body = "while(1);" + body
        self.answer(status, body, {"Content-Type": "application/json; charset=utf-8", **self.canvas_headers(), **(headers or {})})

    def canvas_redirect(self, location: str, status: int = 302) -> None:
        self.answer(status, f'<html><body>You are being <a href="{location}">redirected</a>.</body></html>',
                    {"Location": location, "Content-Type": "text/html", **self.canvas_headers()})


def _users_self(h: CanvasHandler) -> None:
    if not h.canvas.canvas_headers:
        h.answer(200, "<html><body>Welcome to our campus portal</body></html>", {"Content-Type": "text/html"})
        return
    h.canvas_json(
        401,
        {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]},
        {"WWW-Authenticate": 'Bearer realm="canvas-lms"'},
    )


def _login_canvas(h: CanvasHandler) -> None:
    if not h.canvas.canvas_headers:
        h.answer(404, "not found", {"Content-Type": "text/plain"})
        return
    h.answer(200, '<!DOCTYPE html><html><head><title>Log In to Canvas</title></head>'
                  '<body><form action="/login/canvas" method="post"><input name="pseudonym_session[unique_id]">'
                  '</form></body></html>', {"Content-Type": "text/html; charset=utf-8", **h.canvas_headers()})


def _root(h: CanvasHandler) -> None:
    if not h.canvas.canvas_headers:
        h.answer(200, "<html><body>Welcome to our campus portal</body></html>", {"Content-Type": "text/html"})
        return
    h.canvas_redirect(f"https://{h.headers.get('Host')}/login/canvas")


def _login(h: CanvasHandler) -> None:
    h.canvas_redirect(f"https://{h.headers.get('Host')}/login/canvas")


# ----------------------------------------------------------------------------- developer keys (§5)

OOB_URI = "urn:ietf:wg:oauth:2.0:oob"
_KEY_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0OoIl1")


def new_api_key() -> str:
    """A 64-character secret like newer Canvas makes (no easily confused characters)."""
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(64))


@dataclass
class FakeKey:
    """One Developer Key.

    Attributes:
        id: global id, digits (``shard * 10**13 + local id``).
        api_key: the 64-character secret.
        redirect_uris: the "Redirect URIs" list (exact matches).
        redirect_uri: "Redirect URI (Legacy)" (host and subdomains, same scheme), or None.
        workflow_state: active, inactive or deleted (only active keys are "known").
        binding: the root account's On/Off/Allow switch; only "on" authorizes.
        require_scopes: "Enforce Scopes" (every LTI key has it).
        scopes: the scopes the key grants.
    """

    id: str
    api_key: str
    redirect_uris: list[str] = field(default_factory=list)
    redirect_uri: str | None = None
    workflow_state: str = "active"
    binding: str = "on"
    require_scopes: bool = False
    scopes: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.workflow_state == "active"

    def authorized_for_account(self) -> bool:
        return self.binding == "on"

    def redirect_domain_matches(self, redirect_uri: str) -> bool:
        """``DeveloperKey#redirect_domain_matches?`` (current canvas-lms), written
        independently of diagnostics/redirect_uri.py so tests compare two readings."""
        if not redirect_uri:
            return False
        if redirect_uri in self.redirect_uris:
            return True
        mine, theirs = _ruby_uri(self.redirect_uri), _ruby_uri(redirect_uri)
        if mine is None or theirs is None:
            return False
        (my_scheme, my_host), (their_scheme, their_host) = mine, theirs
        return bool(my_host) and bool(their_host) and my_scheme == their_scheme and (
            my_host == their_host or their_host.endswith("." + my_host))


def _ruby_uri(text: str | None) -> tuple[str, str] | None:
    """(scheme lower-cased, host as typed) the way Ruby's URI.parse gives them; None where
    it raises (nil, spaces, characters a URI cannot hold) or finds no host."""
    if text is None or any(c.isspace() or c in '"<>\\^`{|}' for c in text):
        return None
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme or not scheme[0].isalpha():
        return None
    authority = rest
    for stop in "/?#":
        authority = authority.split(stop, 1)[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    else:
        host, _, port = host.partition(":")
        if port and not port.isdigit():
            return None
    return scheme.lower(), host


# ----------------------------------------------------------------------------- OAuth2 (§3)

_ERRORS = {
    "invalid_client_id": (401, "invalid_client", "unknown client"),
    "invalid_client_secret": (401, "invalid_client", "invalid client"),
    "invalid_redirect": (400, "invalid_request", "redirect_uri does not match client settings"),
    "invalid_authorization_code": (400, "invalid_grant", "authorization_code not found"),
    "incorrect_client": (400, "invalid_grant", "incorrect client"),
    "authorization_code_not_supplied": (400, "invalid_request",
                                        "You must provide the code parameter when using the authorization_code grant type"),
    "unsupported_grant_type": (400, "unsupported_grant_type", "The grant_type you requested is not currently supported"),
}
_SCOPE_ERROR = ("A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. "
                "The following scopes were requested, but not granted: ")


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    @classmethod
    def named(cls, name: str) -> "_OAuthError":
        return cls(*_ERRORS[name])


def _to_sentence(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def _append_query(uri: str, params: list[tuple[str, str]]) -> str:
    """``final_redirect`` / ``RequestError#append_error``: params added to the URI's query."""
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def _params(h: CanvasHandler) -> dict[str, str]:
    query = parse_qs(urlsplit(h.path).query, keep_blank_values=True)
    out = {k: v[-1] for k, v in query.items()}
    if h.command == "POST":
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        out.update({k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()})
    return out


def _oauth_json_error(h: CanvasHandler, err: _OAuthError) -> None:
    extra = {"WWW-Authenticate": "Canvas OAuth 2.0"} if err.status == 401 else {}
    h.canvas_json(err.status, {"error": err.error, "error_description": err.description}, extra)


def _oauth2_auth(h: CanvasHandler) -> None:
    """``OAuth2ProviderController#auth`` for a browser with no Canvas session."""
    p = _params(h)
    if "code" in p or "error" in p:  # the out-of-band landing page
        h.answer(200, "<html><body>OAuth2 result</body></html>", {"Content-Type": "text/html", **h.canvas_headers()})
        return
    scopes = (p.get("scope") or p.get("scopes") or "").split()
    redirect_uri = p.get("redirect_uri") or ""
    oob = redirect_uri == OOB_URI
    key = h.canvas.find_key(p.get("client_id"))
    if key is None or not key.active:
        _oauth_json_error(h, _OAuthError.named("invalid_client_id"))
        return
    if not (oob or key.redirect_domain_matches(redirect_uri)):
        _oauth_json_error(h, _OAuthError.named("invalid_redirect"))
        return
    if key.require_scopes and not (scopes and all(s in key.scopes for s in scopes)):
        missing = [s for s in scopes if s not in key.scopes]
        err = _OAuthError(400, "invalid_scope", _SCOPE_ERROR + _to_sentence(missing))
        if oob:
            _oauth_json_error(h, err)
        else:
            h.canvas_redirect(_append_query(redirect_uri, [("error", err.error), ("error_description", err.description)]))
        return

    def final_redirect(params: dict[str, str]) -> None:
        if "state" in p:
            params = {**params, "state": p["state"]}
        ordered = sorted(params.items())  # Rails' to_query sorts keys
        if oob:
            h.canvas_redirect(_append_query(f"https://{h.headers.get('Host')}/login/oauth2/auth", ordered))
        else:
            h.canvas_redirect(_append_query(redirect_uri, ordered))

    if not key.authorized_for_account():
        final_redirect({"error": "unauthorized_client",
                        "error_description": "Client does not have access to the specified Canvas account."})
        return
    if p.get("response_type") != "code":
        final_redirect({"error": "unsupported_response_type", "error_description": "Only response_type=code is permitted"})
        return
    if p.get("prompt") == "none":
        final_redirect({"error": "login_required", "error_description": "prompt=none but there is no current session"})
        return
    h.canvas_redirect(f"https://{h.headers.get('Host')}/login")


def _oauth2_token(h: CanvasHandler) -> None:
    """``OAuth2ProviderController#token`` for the authorization_code grant."""
    p = _params(h)
    client_id, secret = p.get("client_id") or None, p.get("client_secret") or None
    auth = h.headers.get("Authorization") or ""
    if auth.startswith("Basic ") and (client_id is None or secret is None):
        user, _, password = base64.b64decode(auth[6:]).decode("utf-8", errors="replace").partition(":")
        client_id, secret = client_id or user, secret or password
    grant_type = p.get("grant_type") or ("authorization_code" if p.get("code") else "__UNSUPPORTED_PLACEHOLDER__")
    try:
        if grant_type != "authorization_code":
            raise _OAuthError.named("unsupported_grant_type")
        key = h.canvas.find_key(client_id)
        if key is None or not key.active:
            raise _OAuthError.named("invalid_client_id")
        if secret != key.api_key:
            raise _OAuthError.named("invalid_client_secret")
        code = p.get("code")
        if not code:
            raise _OAuthError.named("authorization_code_not_supplied")
        if code not in h.canvas.auth_codes:
            raise _OAuthError.named("invalid_authorization_code")
        if h.canvas.auth_codes[code] != key.id:
            raise _OAuthError.named("incorrect_client")
        h.canvas_json(200, {"access_token": "1~" + secrets.token_hex(16), "token_type": "Bearer"})
    except _OAuthError as err:
        redirect_uri = p.get("redirect_uri") or ""
        if h.canvas.token_errors_redirect and redirect_uri and redirect_uri != OOB_URI:
            h.canvas_redirect(_append_query(redirect_uri, [("error", err.error), ("error_description", err.description)]))
        else:
            _oauth_json_error(h, err)


# ----------------------------------------------------------------------------- LTI (§6)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def default_jwks() -> list[dict]:
    """Two RS256 public keys shaped like ``Lti::KeyStorage.public_keyset`` (current and next)."""
    return [
        {"kty": "RSA", "e": "AQAB", "n": _b64url(secrets.token_bytes(256)), "kid": kid, "alg": "RS256", "use": "sig"}
        for kid in ("2026-11-01T00:00:04Z", "2026-12-01T00:00:02Z")
    ]


def _jwks(h: CanvasHandler) -> None:
    if h.canvas.jwks_body is not None:
        h.answer(h.canvas.jwks_status, h.canvas.jwks_body, {"Content-Type": "text/html"})
        return
    if h.canvas.jwks is None:
        h.canvas.jwks = default_jwks()
    if h.canvas.jwks_status != 200:
        h.answer(h.canvas.jwks_status, "<html><body>Bad Gateway</body></html>", {"Content-Type": "text/html"})
        return
    h.canvas_json(200, {"keys": h.canvas.jwks}, {"Cache-Control": "max-age=864000"})


def _openid_configuration(h: CanvasHandler) -> None:
    """Stock Canvas wants a dynamic-registration token here (an admin's); without one, 401."""
    issuer = h.canvas.lti_issuer_public
    if issuer is None:
        h.canvas_json(401, {"errors": [{"message": "registration_token is missing or invalid"}]})
        return
    h.canvas_json(200, {"issuer": issuer, "jwks_uri": f"{issuer}/api/lti/security/jwks",
                        "authorization_endpoint": f"{issuer}/api/lti/authorize_redirect",
                        "token_endpoint": f"https://{h.headers.get('Host')}/login/oauth2/token"})


ROUTES: dict[tuple[str, str], Callable[[CanvasHandler], None]] = {
    ("GET", "/"): _root,
    ("GET", "/login"): _login,
    ("GET", "/login/canvas"): _login_canvas,
    ("GET", "/api/v1/users/self"): _users_self,
    ("GET", "/login/oauth2/auth"): _oauth2_auth,
    ("POST", "/login/oauth2/token"): _oauth2_token,
    ("GET", "/api/lti/security/jwks"): _jwks,
    ("GET", "/api/lti/security/openid-configuration"): _openid_configuration,
}
#: What Instructure's SSO host (``sso.canvaslms.com``) answers for hosted LTI.
SSO_ROUTES = frozenset({("GET", "/api/lti/security/jwks")})
