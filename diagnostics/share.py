"""Share links: the inputs of a check as plain query parameters, and nothing else.

A share link re-runs the same check when it is opened, so it carries what the check
needs and no more::

    /check?url=https://myschool.instructure.com&region=eu&client_id=170000000000044
    /check?report=<id>            a saved snapshot (an opaque id looked up in the store)

Links come from strangers, so they are parsed as data: an allow-list of keys
(:data:`ALLOWED_KEYS`), a length cap per value, values checked against their shape, and
anything else dropped. The Developer Key secret never has a key here, and values that
look like they carry credentials (user:password in a URL, tokens in a query string) are
cleaned before a link is built. Nothing is ever deserialised from a link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "ALLOWED_KEYS",
    "REGIONS",
    "MAX_URL",
    "ShareParams",
    "clean_url",
    "parse_report_id",
    "build_link",
    "REPORT_ID_RE",
]

REGIONS = ("us", "eu", "ca", "au", "sg", "test")
#: The only keys a share link may carry (``report`` is handled by :func:`parse_report_id`).
ALLOWED_KEYS = ("url", "region", "client_id", "redirect_uri", "key_redirect_uris", "key_legacy_redirect_uri")
MAX_URL = 2048
#: At most this many lines of the key's "Redirect URIs" list travel in a link.
MAX_KEY_URIS = 20
MAX_CLIENT_ID = 24
#: Snapshot ids are ``secrets.token_urlsafe`` strings (see store.py).
REPORT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# Query keys whose values are credentials or one-time codes: dropped from any URL we echo.
_SENSITIVE_QUERY = re.compile(
    r"(secret|token|password|passwd|pwd|api[_-]?key|code|state|hint|session|auth|sig|jwt|assertion|cookie)",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_url(text: object, *, keep_path: bool = True, keep_query: bool = False) -> str:
    """A URL fit to echo in a link: no user:password, no fragment, capped, one line.

    The query string is dropped unless ``keep_query``; even then keys that look like
    credentials (token, secret, code, state, login_hint, ...) are removed. Returns ""
    for anything that is not a string.
    """
    if not isinstance(text, str):
        return ""
    s = _CONTROL.sub("", text.strip())[:MAX_URL]
    if not s:
        return ""
    candidate = s if "://" in s or s.startswith("//") else "//" + s
    try:
        parts = urlsplit(candidate)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        # Not parseable as a URL: keep the text (the checker explains what is wrong),
        # minus a query, a fragment and anything before an '@', where credentials hide.
        head = re.split(r"[?#]", s, maxsplit=1)[0]
        return head.rsplit("@", 1)[-1]
    netloc = host if not port else f"{host}:{port}"
    if parts.hostname and ":" in parts.hostname:
        netloc = f"[{parts.hostname}]" + (f":{port}" if port else "")
    query = ""
    if keep_query and parts.query:
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _SENSITIVE_QUERY.search(k)]
        query = urlencode(kept)
    path = parts.path if keep_path else ""
    rebuilt = urlunsplit(SplitResult(parts.scheme, netloc, path, query, ""))
    if "://" not in s and not s.startswith("//"):
        rebuilt = rebuilt[2:] if rebuilt.startswith("//") else rebuilt
    return rebuilt[:MAX_URL]


def _clean_client_id(value: object) -> str:
    if not isinstance(value, str):
        return ""
    s = value.strip()
    # Developer Key IDs are all digits (reference §5); anything else is not echoed.
    return s if s.isascii() and s.isdigit() and len(s) <= MAX_CLIENT_ID else ""


def _clean_uri_lines(value: object) -> str:
    """The key's "Redirect URIs" list: one cleaned URI per line, blank lines dropped, at
    most :data:`MAX_KEY_URIS` lines and :data:`MAX_URL` characters in all."""
    if not isinstance(value, str):
        return ""
    kept: list[str] = []
    for line in value[: MAX_URL * MAX_KEY_URIS].splitlines():
        uri = clean_url(line, keep_query=True).replace(" ", "%20")
        if uri and len(kept) < MAX_KEY_URIS and sum(map(len, kept)) + len(kept) + len(uri) <= MAX_URL:
            kept.append(uri)
    return "\n".join(kept)


def _clean_region(value: object) -> str:
    if not isinstance(value, str):
        return ""
    s = value.strip().lower()
    return s if s in REGIONS else ""


@dataclass(frozen=True)
class ShareParams:
    """The inputs of a check that a link may carry; empty strings mean "not given".

    Attributes:
        url: the Canvas address, cleaned by :func:`clean_url` (no credentials, query or
            fragment).
        region: one of :data:`REGIONS` or "".
        client_id: the Developer Key ID (digits only, at most 24) or "".
        redirect_uri: the redirect URI, cleaned (credential-like query keys removed).
        key_redirect_uris: what the admin entered in the Developer Key's "Redirect URIs"
            list, one cleaned URI per line (at most :data:`MAX_KEY_URIS`).
        key_legacy_redirect_uri: the key's "Redirect URI (Legacy)" field, cleaned.
    """

    url: str = ""
    region: str = ""
    client_id: str = ""
    redirect_uri: str = ""
    key_redirect_uris: str = ""
    key_legacy_redirect_uri: str = ""

    @classmethod
    def from_inputs(cls, url: object = "", region: object = "", client_id: object = "",
                    redirect_uri: object = "", key_redirect_uris: object = "",
                    key_legacy_redirect_uri: object = "") -> "ShareParams":
        return cls(
            url=clean_url(url),
            region=_clean_region(region),
            client_id=_clean_client_id(client_id),
            redirect_uri=clean_url(redirect_uri, keep_query=True),
            key_redirect_uris=_clean_uri_lines(key_redirect_uris),
            key_legacy_redirect_uri=clean_url(key_legacy_redirect_uri, keep_query=True),
        )

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> "ShareParams":
        """Read a link's query parameters; unknown keys are ignored, bad values dropped."""
        def first(key: str) -> object:
            value = query.get(key, "")
            if isinstance(value, (list, tuple)):
                value = value[0] if value else ""
            return value

        values = {key: first(key) for key in ALLOWED_KEYS}
        # in a link the list is space-separated (a space is not a URI character; a
        # newline would be a control character in the address bar)
        uris = values["key_redirect_uris"]
        values["key_redirect_uris"] = "\n".join(uris.split()) if isinstance(uris, str) else ""
        return cls.from_inputs(**values)

    def to_query(self) -> dict[str, str]:
        """Only the keys that have a value, in a stable order."""
        query = {k: v for k in ALLOWED_KEYS if (v := getattr(self, k))}
        if "key_redirect_uris" in query:
            query["key_redirect_uris"] = " ".join(self.key_redirect_uri_list)
        return query

    @property
    def key_redirect_uri_list(self) -> tuple[str, ...]:
        return tuple(self.key_redirect_uris.splitlines())

    @property
    def empty(self) -> bool:
        return not self.url


def parse_report_id(value: object) -> str | None:
    """A snapshot id from a query value, a bare id or a pasted permalink; else None."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if not isinstance(value, str):
        return None
    s = value.strip()[:MAX_URL]
    if "report=" in s:
        try:
            s = dict(parse_qsl(urlsplit(s).query or s.split("?", 1)[-1])).get("report", "")
        except ValueError:
            return None
    s = s.strip()
    return s if REPORT_ID_RE.match(s) else None


def build_link(base_url: str, params: ShareParams | None = None, *, report_id: str | None = None) -> str:
    """``base_url`` (the check page's address) plus the query for ``params`` or a report id."""
    base = base_url.split("?", 1)[0].split("#", 1)[0]
    if report_id is not None:
        if not REPORT_ID_RE.match(report_id):
            raise ValueError("not a report id")
        return f"{base}?{urlencode({'report': report_id})}"
    query = urlencode((params or ShareParams()).to_query())
    return f"{base}?{query}" if query else base
