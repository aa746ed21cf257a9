"""Developer Key step: ask Canvas itself whether the key ID, redirect URI and secret work.

In order, and only with what the admin gave:

1. Redirect URI advice (pure, before any probe): the URI Badgr uses (entered, or the
   region's from regions.toml) against the key's two fields, by reference §4
   -> ``oauth.redirect_uri_advice`` (info when it will match, warn when not).
2. Key format (``diagnostics.keys``) -> ``oauth.key_format``; an ID that is not digits is
   never sent to Canvas.
3. One unauthenticated ``GET /login/oauth2/auth`` (response_type=code, client_id,
   redirect_uri; ``Accept: application/json``; no cookies; redirects not followed) read
   through reference §3's table by :func:`read_auth_answer` -> ``oauth.unknown_client``,
   ``oauth.redirect_uri_mismatch``, ``oauth.invalid_scope``, ``oauth.unauthorized_client``,
   ``oauth.client_ok``, or ``oauth.probe_inconclusive`` with the evidence. Without a
   redirect URI the probe uses Canvas's out-of-band URI, which passes Canvas's redirect
   check, so the ID, scopes and On/Off are still tested (the detail says so).
4. Secret verification, opt-in (``Options.secret``) and only when the TLS step says the
   certificate is trusted: one ``POST /login/oauth2/token`` with the ID, the secret and a
   deliberately invalid code, read by :func:`read_token_answer` -> ``oauth.secret_ok``
   (400 invalid_grant), ``oauth.secret_invalid`` (401 invalid client), JSON or 302 form;
   otherwise ``oauth.secret_not_checked`` with the reason.

The secret lives only in the form body of that one request: it is never in a URL, a
finding, evidence, extras, a log record or an exception message (``_scrub`` removes it
from anything the server sends back, in case a server echoes what it received).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping
from urllib.parse import parse_qs, urlencode, urlsplit

from .. import regions
from ..model import Status
from ..net import HttpResult, NetError
from ..redirect_uri import Advice, advise
from ..runner import RunContext
from .http import parse_canvas_json

log = logging.getLogger(__name__)

AUTH_PATH = "/login/oauth2/auth"
TOKEN_PATH = "/login/oauth2/token"
#: Canvas's out-of-band redirect URI: always passes its redirect check (Provider.is_oob?).
OOB_URI = "urn:ietf:wg:oauth:2.0:oob"
#: Sent as the authorization code when verifying a secret; no Canvas ever issues it.
INVALID_CODE = "connect-check-deliberately-invalid-code"
_EXCERPT = 300


@dataclass(frozen=True)
class Reading:
    """What one answer from Canvas means.

    Attributes:
        code: the catalog code it decides.
        detail: one sentence for this run.
        evidence: the facts that decided it (status, error, location, body excerpt).
        status: a status other than the catalog's, or None.
    """

    code: str
    detail: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    status: Status | None = None


# ----------------------------------------------------------------------------- pure readings


def auth_url(origin: str, client_id: str, redirect_uri: str) -> str:
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri})
    return f"{origin}{AUTH_PATH}?{query}"


def canvas_error(result: HttpResult) -> tuple[str | None, str | None]:
    """(error, error_description) from a JSON body (``while(1);`` stripped) or from the
    query of a redirect; (None, None) when the answer carries neither."""
    body = parse_canvas_json(result)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description")
        return body["error"], description if isinstance(description, str) else None
    if 300 <= result.status < 400 and result.location:
        query = parse_qs(urlsplit(result.location).query)
        if "error" in query:
            return query["error"][-1], (query.get("error_description") or [None])[-1]
    return None, None


def read_auth_answer(result: HttpResult, origin: str, client_id: str, redirect_uri: str) -> Reading:
    """Reference §3's table, first match wins; anything else is reported, not guessed."""
    oob = redirect_uri == OOB_URI
    error, description = canvas_error(result)
    location = result.location
    evidence: dict[str, Any] = {
        "request": f"GET {auth_url(origin, client_id, redirect_uri)}",
        "status": result.status,
        "error": error,
        "error_description": description,
        "location": location,
    }
    shown_uri = "Canvas's out-of-band placeholder" if oob else redirect_uri
    redirected = 300 <= result.status < 400 and location is not None
    # Canvas sends its 302 errors to the redirect_uri (or, out of band, back to its own
    # auth page); an error on a redirect anywhere else is not Canvas's answer.
    error_from_canvas = redirected and (
        location.startswith(f"{origin}{AUTH_PATH}") if oob else location.startswith(redirect_uri))

    if result.status == 401 and error == "invalid_client":
        return Reading("oauth.unknown_client",
                       f"Canvas answered 401 {description or 'unknown client'} for key ID {client_id}.", evidence)
    if result.status == 400 and error == "invalid_request" and "redirect_uri" in (description or ""):
        if oob:
            return Reading("oauth.probe_inconclusive",
                           f"Canvas knows key ID {client_id} (it passed the ID check) but refused the out-of-band "
                           "placeholder redirect URI; enter the redirect URI Badgr uses to test the rest.",
                           evidence, Status.INFO)
        return Reading("oauth.redirect_uri_mismatch",
                       f"Canvas knows key ID {client_id} but answered \"{description}\" for {redirect_uri}.", evidence)
    if error == "invalid_scope" and (result.status == 400 or error_from_canvas):
        return Reading("oauth.invalid_scope", f"Canvas answered invalid_scope: {description or 'no description'}",
                       evidence)
    if error == "unauthorized_client" and error_from_canvas:
        return Reading("oauth.unauthorized_client",
                       f"Key ID {client_id} exists and {shown_uri} passed the redirect check, but Canvas answered "
                       f"\"{description or 'unauthorized_client'}\".", evidence)
    if redirected and error is None:
        parts = urlsplit(location)
        same_host = f"{parts.scheme}://{parts.netloc}".lower() == origin.lower()
        if same_host and (parts.path == "/login" or parts.path.startswith("/login/")):
            checked = ("The redirect URI was not checked: none was entered and none is configured for the region."
                       if oob else f"The redirect URI {redirect_uri} matches the key.")
            return Reading("oauth.client_ok",
                           f"Canvas accepted key ID {client_id} and sent the browser on to its login page "
                           f"({parts.path}). {checked}", evidence)
    evidence["content_type"] = result.header("content-type")
    evidence["body_excerpt"] = result.text()[:_EXCERPT]
    return Reading("oauth.probe_inconclusive", _inconclusive_detail(result, origin, error, description), evidence)


def _inconclusive_detail(result: HttpResult, origin: str, error: str | None, description: str | None) -> str:
    location = result.location
    if 300 <= result.status < 400 and location:
        parts = urlsplit(location)
        if f"{parts.scheme}://{parts.netloc}".lower() != origin.lower():
            return (f"The OAuth endpoint redirected to another site ({parts.scheme}://{parts.netloc}), which looks "
                    "like a single sign-on page or proxy in front of Canvas, not Canvas's own answer.")
        if error:
            return f"Canvas redirected with error={error} ({description or 'no description'}), which is not about the key."
        return f"The OAuth endpoint redirected to {location}, not to Canvas's login page."
    if error:
        return f"The OAuth endpoint answered {result.status} with error={error} ({description or 'no description'})."
    kind = (result.header("content-type") or "no content type").split(";")[0]
    return f"The OAuth endpoint answered {result.status} ({kind}) instead of one of Canvas's OAuth answers."


def read_token_answer(result: HttpResult) -> Reading:
    """The token endpoint's 401/400 split, JSON or 302 form (reference §3)."""
    error, description = canvas_error(result)
    evidence: dict[str, Any] = {
        "request": f"POST {TOKEN_PATH} with the key ID, the secret and a deliberately invalid code",
        "status": result.status,
        "error": error,
        "error_description": description,
        "form": "redirect" if 300 <= result.status < 400 else "json",
    }
    if error == "invalid_client" and (description or "").strip() == "unknown client":
        return Reading("oauth.secret_not_checked",
                       "Canvas answered \"unknown client\": it does not know the key ID, so the secret could not "
                       "be tested.", evidence, Status.SKIP)
    if error == "invalid_client" and result.status in (401, 302, 303):
        return Reading("oauth.secret_invalid",
                       f"Canvas answered {error} ({description or 'invalid client'}) for this key ID and secret.",
                       evidence)
    if error == "invalid_grant":
        return Reading("oauth.secret_ok",
                       f"Canvas accepted the key ID and secret and only refused the deliberately invalid code "
                       f"({description or 'invalid_grant'}).", evidence)
    evidence["location"] = result.location
    evidence["body_excerpt"] = result.text()[:_EXCERPT]
    what = f"error={error}" if error else f"{result.status} ({(result.header('content-type') or 'no content type').split(';')[0]})"
    return Reading("oauth.secret_not_checked",
                   f"The token endpoint answered {what}, which does not tell a right secret from a wrong one.",
                   evidence, Status.WARN)


def _scrub(value: Any, secret: str) -> Any:
    """Deep copy with every occurrence of ``secret`` replaced (servers may echo input)."""
    if isinstance(value, str):
        return value.replace(secret, "[redacted]") if secret else value
    if isinstance(value, Mapping):
        return {k: _scrub(v, secret) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, secret) for v in value]
    return value


#: Loggers that see the token exchange: httpcore logs response headers at DEBUG, and a
#: server that echoes the form into a header would put the secret there.
_HTTP_LOGGERS = ("httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks",
                 "httpx")


class _RedactSecret(logging.Filter):
    def __init__(self, secret: str):
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format is not ours to fix
            return True
        if self._secret in message:
            record.msg, record.args = message.replace(self._secret, "[redacted]"), ()
        return True


@contextlib.contextmanager
def _redacted_logs(secret: str) -> Iterator[None]:
    """While the token request runs, no log record of the HTTP stack carries the secret."""
    redact = _RedactSecret(secret)
    loggers = [logging.getLogger(name) for name in _HTTP_LOGGERS]
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)


# ----------------------------------------------------------------------------- the check


def redirect_uri_for(options: Any) -> tuple[str | None, str | None]:
    """(URI, where it came from: "entered" or "region"), or (None, None)."""
    entered = (options.redirect_uri or "").strip()
    if entered:
        return entered, "entered"
    try:
        region = regions.get(options.region)
    except regions.RegionsError:
        log.warning("regions file unusable; no configured redirect URI", exc_info=True)
        region = None
    if region is not None and region.redirect_uri:
        return region.redirect_uri, "region"
    return None, None


async def check(ctx: RunContext) -> None:
    opts = ctx.options
    redirect_uri, source = redirect_uri_for(opts)
    advice = _advise(ctx, redirect_uri, source)
    if not (opts.client_id or "").strip():
        if opts.secret:
            ctx.emit("oauth.secret_not_checked", detail="No Developer Key ID was given, so the secret cannot be tested.",
                     evidence={"reason": "no_client_id"})
        return

    client_id = _format_checks(ctx, opts.client_id, opts.secret)
    if client_id is None:
        if opts.secret:
            ctx.emit("oauth.secret_not_checked", detail="The key ID is not a number, so Canvas was not asked.",
                     evidence={"reason": "client_id_malformed"})
        return
    if await ctx.need("dns") is None:
        if opts.secret:
            ctx.emit("oauth.secret_not_checked", detail="Canvas could not be reached (see the Address step).",
                     evidence={"reason": "unreachable"})
        return

    probe_uri = redirect_uri or OOB_URI
    url = auth_url(ctx.target.origin, client_id, probe_uri)
    try:
        result = await ctx.net.fetch(url, headers={"Accept": "application/json"}, verify=False)
    except NetError as exc:
        ctx.emit("oauth.probe_inconclusive", status=Status.SKIP, detail=f"Canvas's OAuth endpoint could not be asked: {exc}.",
                 evidence={"request": f"GET {url}", "error": str(exc)})
        reading = None
    else:
        reading = read_auth_answer(result, ctx.target.origin, client_id, probe_uri)
        # the hosting step finishes about when the probe does; its answer sharpens one hint
        hosting = await ctx.need("hosting") if reading.code == "oauth.unknown_client" else None
        detail = reading.detail + _context_hint(hosting, reading.code, client_id, advice)
        ctx.emit(reading.code, detail=detail, evidence={**reading.evidence, "redirect_uri_source": source},
                 status=reading.status)

    if opts.secret:
        await _verify_secret(ctx, client_id, redirect_uri, reading)


def _advise(ctx: RunContext, redirect_uri: str | None, source: str | None) -> Advice | None:
    opts = ctx.options
    entries = tuple(u for u in (opts.key_redirect_uris or ()) if u)
    legacy = opts.key_legacy_redirect_uri or None
    if not redirect_uri or not (entries or legacy):
        return None
    advice = advise(redirect_uri, entries, legacy)
    if advice.will_match:
        field_name = "\"Redirect URIs\" list" if advice.field == "list" else "\"Redirect URI (Legacy)\" field"
        detail = f"Canvas will accept {redirect_uri} through the key's {field_name}."
        status = Status.INFO
    else:
        detail = f"Canvas will not accept {redirect_uri} with these key settings. {advice.suggestion}"
        status = Status.WARN
    ctx.emit("oauth.redirect_uri_advice", status=status, detail=detail,
             evidence={**advice.to_evidence(entries, legacy), "redirect_uri_source": source})
    return advice


def _format_checks(ctx: RunContext, raw_id: str, secret: str | None) -> str | None:
    """Emit ``oauth.key_format`` for what cannot be right; the ID to probe, or None."""
    from .. import keys

    client_id = keys.normalise_client_id(raw_id)
    problems = list(keys.check_client_id(raw_id))
    secret_problems = list(keys.check_secret(secret)) if secret else []
    usable_id = client_id.isascii() and client_id.isdigit()
    if problems or secret_problems:
        unusable = not usable_id or bool(keys.errors_only(problems + secret_problems))
        ctx.emit(
            "oauth.key_format",
            status=Status.FAIL if unusable else Status.WARN,
            detail=" ".join(p.message for p in problems + secret_problems),
            evidence={"problems": [{"field": p.field, "kind": p.kind, "severity": p.severity, "message": p.message}
                                   for p in problems + secret_problems],
                      "client_id": client_id if usable_id else None},
        )
    return client_id if usable_id else None


def _context_hint(hosting: Any, code: str, client_id: str, advice: Advice | None) -> str:
    """A sentence from what other steps know (hosting, the redirect advice)."""
    env = getattr(hosting, "environment", None)
    if code == "oauth.unknown_client":
        if getattr(hosting, "kind", None) == "instructure" and env in ("beta", "test"):
            return (f" This is {env}: it is refreshed from production, so keys made here vanish and keys made in "
                    "production since the last refresh are not here yet.")
        if len(client_id) < 14:
            return " Canvas key IDs have 14 to 18 digits: this one may be cut short."
    if code == "oauth.redirect_uri_mismatch" and advice is not None and not advice.will_match:
        return " " + advice.suggestion
    return ""


async def _verify_secret(ctx: RunContext, client_id: str, redirect_uri: str | None, reading: Reading | None) -> None:
    from .. import keys

    secret = keys.normalise_secret(ctx.options.secret)
    if keys.errors_only(keys.check_secret(secret)):
        ctx.emit("oauth.secret_not_checked", detail="The secret is not in the form Canvas uses (see above), so it was not sent.",
                 evidence={"reason": "secret_malformed"})
        return
    if reading is not None and reading.code == "oauth.unknown_client":
        ctx.emit("oauth.secret_not_checked", detail="Canvas does not know the key ID, so the secret was not sent.",
                 evidence={"reason": "unknown_client"})
        return
    tls = await ctx.need("tls")
    if getattr(tls, "trusted", None) is not True:
        ctx.emit("oauth.secret_not_checked",
                 detail="The secret is only sent over a certificate that validates, and this one did not (see the "
                        "Certificate step)." if tls is not None else
                        "The certificate could not be checked, and the secret is only sent over one that validates.",
                 evidence={"reason": "tls_not_trusted"})
        return
    form = {"client_id": client_id, "client_secret": secret, "grant_type": "authorization_code", "code": INVALID_CODE}
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    try:
        with _redacted_logs(secret):
            result = await ctx.net.fetch(ctx.target.url(TOKEN_PATH), method="POST", data=form,
                                         headers={"Accept": "application/json"}, verify=True)
    except NetError as exc:
        ctx.emit("oauth.secret_not_checked", detail=_scrub(f"The token endpoint could not be reached: {exc}.", secret),
                 evidence={"reason": "network", "error": _scrub(str(exc), secret)})
        return
    finally:
        form.clear()
    answer = read_token_answer(result)
    ctx.emit(answer.code, detail=_scrub(answer.detail, secret), evidence=_scrub(dict(answer.evidence), secret),
             status=answer.status)
