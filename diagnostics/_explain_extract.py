"""Values worth carrying to other pages, found in a pasted error (private helper of :mod:`explain`).

- ``canvas_url``: the normalised origin of the host in the paste that is most plausibly
  the Canvas instance. Hosts score for being under instructure.com, for a Canvas path
  (``/login/oauth2``, ``/api/v1``, ``/courses`` ...), for being the host an error names
  (``Could not resolve host: X``, ``HTTPSConnectionPool(host='X')``, Chrome's "from X (for
  example ..."), and for "canvas" in the name. Never Badgr's hosts, the tool's redirect
  URI host, documentation or code-hosting sites, the LTI issuer ``canvas.instructure.com``
  or ``sso.canvaslms.com``. A host with no such signal is not guessed at.
- ``canvas_url_as_shown``: for Badgr's preauthorization notice, the URL exactly as the
  message shows it (support needs it character for character).
- ``client_id``, ``redirect_uri``, ``error_report_id``, ``request_context_id``.

Every search here is bounded: regexes with a literal start over the lower-cased view,
at most a fixed number of candidates looked at, and windows around known positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Sequence
from urllib.parse import unquote, urlsplit

from . import target as _target
from ._explain_rules import Anchor
from ._explain_unwrap import View

__all__ = ["EXTRACTED_KEYS", "extract", "url_as_shown"]

EXTRACTED_KEYS = ("canvas_url", "client_id", "redirect_uri", "error_report_id", "request_context_id", "canvas_url_as_shown")

MAX_URLS = 400
MAX_PER_LITERAL = 20
_SEP = r"""\\?["']?\s{0,5}+(?:=|:|%3d)\s{0,5}+\\?["']?"""

_CLIENT_ID = re.compile(r"client[_ ]?id" + _SEP + r"(\d{1,20})(?![0-9])")
_KEY_ID = re.compile(r"(?:developer key|key) id\s{0,3}+[:#=]?\s{0,3}+(\d{10,20})(?![0-9])")
_REDIRECT_URI = re.compile(r"redirect[_ ]uri(?:\s{1,3}is\s{1,3}|" + _SEP + r""")([^\s"'<>&\\,;]{1,2048}+)""")
_ERROR_REPORT = re.compile(r"error[_ ]report[_ ]id" + r"""\\?["']?\s{0,5}+[:=#]?\s{0,5}+\\?["']?(\d{1,20})(?![0-9])""")
_CONTEXT_ID = re.compile(r"request[_\- ]context[_\- ]id" + r"""\\?["']?\s{0,5}+[:=]?\s{0,5}+\\?["']?([0-9a-f][0-9a-f\-]{7,63}+)(?![0-9a-z])""")
_URL = re.compile(r"""https?://([a-z0-9][a-z0-9.\-]{0,252})(:\d{1,5})?([/?#][^\s"'<>`\\]{0,2048}+)?""")
_HOST_AFTER = re.compile(r"""["'(<\[]?\s?([a-z0-9][a-z0-9.\-]{0,252})""")
_HOST_BEFORE = re.compile(r"""([a-z0-9][a-z0-9.\-]{0,252})["')>\]]?(?:'s)?\s?$""")
_SHOWN = re.compile(r"""https?://[^\s"'<>`]{1,2048}+|(?<![@A-Za-z0-9.\-])[A-Za-z0-9][A-Za-z0-9\-]{0,62}\.[A-Za-z0-9.\-]{1,252}(?::\d{1,5})?(?:/[^\s"'<>`]{0,2048}+)?""")

#: Literal phrases followed by the host an error was about.
_HOST_AFTER_LITERALS = (
    "could not resolve host: ", "couldn't resolve host: ", "could not resolve host ", "host='", 'host="', "host: ",
    "-connect ", "getaddrinfo enotfound ", "getaddrinfo eai_again ", "unknownhostexception: ", "lookup ",
    "failed to connect to ", "connection to ", "server at ", "identity of the website ", "pretending to be ",
    "find the server ", "information from ", "is not valid for ", "wanted to match ", "dns name matching ",
    "no name matching ", "failed to resolve ", "connect to host ", "did not continue to ", "may be impersonating ",
    "typo in ", "could not prove that it is ", "private connection to ", "connected to ",
)
#: Literal phrases preceded by the host they are about (Chrome's error pages).
_HOST_BEFORE_LITERALS = (
    " refused to connect", " took too long to respond", "server ip address could not be found",
    " unexpectedly closed the connection", " sent an invalid response", " uses an invalid security certificate",
    " uses an unsupported protocol", " doesn't support a secure connection",
)

#: The words each literal needs, so a literal whose words are absent is not searched for.
_AFTER_GATES = tuple((lit, Anchor.parse("*" + lit + "*").words) for lit in _HOST_AFTER_LITERALS)
_BEFORE_GATES = tuple((lit, Anchor.parse("*" + lit + "*").words) for lit in _HOST_BEFORE_LITERALS)

_CANVAS_PATHS = ("/login/oauth2", "/api/v1", "/api/lti", "/courses", "/accounts", "/login/canvas", "/profile", "/users/", "/oauth2")
_NOT_CANVAS_SUFFIXES = frozenset((
    "badgr.io", "badgr.com", "canvaslms.com", "github.com", "githubusercontent.com", "github.io", "gitlab.com",
    "stackoverflow.com", "stackexchange.com", "google.com", "googleapis.com", "gstatic.com", "mozilla.org",
    "mozilla.net", "apple.com", "microsoft.com", "imsglobal.org", "1edtech.org", "w3.org", "ietf.org",
    "openid.net", "python.org", "pypi.org", "nodejs.org", "npmjs.com", "golang.org", "go.dev", "oracle.com",
    "java.com", "openssl.org", "curl.se", "haxx.se", "chromium.org", "googlesource.com", "letsencrypt.org",
    "ssllabs.com", "cloudfront.net", "amazonaws.com", "inscloudgate.net", "zendesk.com", "youtube.com",
    "readthedocs.io", "example.com", "example.org", "example.net", "badssl.com", "mozilla.com",
))
_NOT_CANVAS_HOSTS = frozenset({
    "instructure.com", "www.instructure.com", "canvas.instructure.com", "canvas.beta.instructure.com",
    "canvas.test.instructure.com", "community.instructure.com", "guides.instructure.com",
    "status.instructure.com", "developerdocs.instructure.com", "support.instructure.com", "api.instructure.com",
    "localhost",
})
_FILE_SUFFIXES = frozenset({
    "py", "js", "ts", "go", "rb", "java", "c", "h", "cc", "cpp", "cs", "php", "json", "html", "htm", "txt", "log",
    "pem", "crt", "cer", "key", "yml", "yaml", "xml", "md", "png", "jpg", "gif", "svg", "css", "exe", "dll", "so",
    "gz", "zip", "jar", "class", "kt", "swift", "mjs", "cjs", "lock", "toml", "ini", "cfg", "conf", "sh",
})
_TRAILING = ".,;:!?)]}>\"'"
_LEADING = "(<[\"'"


@dataclass
class _Candidate:
    host: str
    port: int | None
    score: int
    position: float


def extract(views: Sequence[View]) -> dict[str, str | None]:
    """client_id, redirect_uri, error_report_id, request_context_id and canvas_url."""
    out: dict[str, str | None] = dict.fromkeys(EXTRACTED_KEYS)
    out["redirect_uri"] = _redirect_uri(views)
    out["client_id"] = _first(views, ((_CLIENT_ID, "client"), (_KEY_ID, "key id")))
    out["error_report_id"] = _first(views, ((_ERROR_REPORT, "report"),))
    out["request_context_id"] = _first(views, ((_CONTEXT_ID, "context"),))
    out["canvas_url"] = _canvas_url(views, out["redirect_uri"])
    return out


def url_as_shown(view: View, start: int, end: int, window: int = 500) -> tuple[str | None, str | None]:
    """(the URL exactly as shown near a preauthorization notice, its normalised origin)."""
    lo, hi = max(0, start - window), min(len(view.text), end + window)
    best: tuple[int, str] | None = None
    for m in _SHOWN.finditer(view.text, lo, hi):
        shown = m.group(0).strip(_LEADING).rstrip(_TRAILING)
        host = _host_of(shown)
        if not host or _excluded(host) or "@" in view.text[max(0, m.start() - 1):m.start()]:
            continue
        distance = 0 if start <= m.start() < end else min(abs(m.start() - end), abs(m.end() - start))
        if best is None or distance < best[0]:
            best = (distance, shown)
    if best is None:
        return None, None
    return best[1], _origin(best[1])


def _first(views: Sequence[View], patterns: Sequence[tuple[re.Pattern[str], str]]) -> str | None:
    """The first value a pattern finds, trying each pattern (whose keyword occurs) in turn."""
    for pattern, keyword in patterns:
        for view in views:
            if keyword in view.lowered:
                m = pattern.search(view.lowered)
                if m:
                    return m.group(1)
    return None


def _redirect_uri(views: Sequence[View]) -> str | None:
    # The flat view first: there a percent-encoded '&' inside the URI is still encoded.
    for view in reversed(views):
        if "redirect" not in view.lowered:
            continue
        for n, m in enumerate(_REDIRECT_URI.finditer(view.lowered)):
            if n >= MAX_PER_LITERAL:
                break
            value = view.text[m.start(1):m.end(1)].rstrip(_TRAILING)
            for _ in range(3):
                if "%" not in value:
                    break
                value = unquote(value, errors="replace")
            if _plausible_redirect(value):
                return value
    return None


def _plausible_redirect(value: str) -> bool:
    if value.lower().startswith("urn:"):
        return len(value) > 4
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and "[redacted]" not in value


def _canvas_url(views: Sequence[View], redirect_uri: str | None) -> str | None:
    avoid = set()
    if redirect_uri:
        host = _host_of(redirect_uri)
        if host:
            avoid.add(host)
    best: _Candidate | None = None
    seen: dict[str, _Candidate] = {}
    for view in views:
        for cand in _candidates(view):
            prev = seen.get(cand.host)
            if prev is None:
                seen[cand.host] = cand
            else:
                prev.score = max(prev.score, cand.score)
                prev.position = min(prev.position, cand.position)
                prev.port = prev.port or cand.port
    for cand in seen.values():
        if cand.host in avoid or _excluded(cand.host):
            continue
        cand.score += _host_score(cand.host)
        if cand.score < 1:
            continue
        if best is None or (cand.score, -cand.position) > (best.score, -best.position):
            best = cand
    if best is None:
        return None
    return _origin(best.host if not best.port else f"{best.host}:{best.port}")


def _candidates(view: View) -> Iterator[_Candidate]:
    lowered, n = view.lowered, max(1, len(view.lowered))
    if "://" in lowered:
        for count, m in enumerate(_URL.finditer(lowered)):
            if count >= MAX_URLS:
                break
            host = _clean_host(m.group(1))
            path = m.group(3) or ""
            port = int(m.group(2)[1:]) if m.group(2) else None
            if host:
                bonus = 2 if any(path.startswith(p) for p in _CANVAS_PATHS) else 0
                yield _Candidate(host, port, bonus, m.start() / n)
    for literal, words in _AFTER_GATES:
        if not words <= view.words:
            continue
        for pos in _find_all(lowered, literal):
            m = _HOST_AFTER.match(lowered, pos + len(literal))
            host = _clean_host(m.group(1)) if m else None
            if host and _bare_host_ok(host):
                yield _Candidate(host, None, 2, pos / n)
    for literal, words in _BEFORE_GATES:
        if not words <= view.words:
            continue
        for pos in _find_all(lowered, literal):
            m = _HOST_BEFORE.search(lowered, max(0, pos - 256), pos)
            host = _clean_host(m.group(1)) if m and not _percent_encoded(lowered, m.start(1)) else None
            if host and _bare_host_ok(host):
                yield _Candidate(host, None, 2, pos / n)
    for pos in _find_all(lowered, ".instructure.com") if b"instructure" in view.words else ():
        m = _HOST_BEFORE.search(lowered, max(0, pos - 200), pos)
        if m and not _percent_encoded(lowered, m.start(1)):
            host = _clean_host(m.group(1) + ".instructure.com")
            end = pos + len(".instructure.com")
            if host and not (end < len(lowered) and (lowered[end].isalnum() or lowered[end] in ".-")):
                yield _Candidate(host, None, 0, pos / n)


def _percent_encoded(lowered: str, start: int) -> bool:
    """A name glued to %2F and the like: the decoded view holds it correctly."""
    return (start >= 1 and lowered[start - 1] == "%") or (start >= 3 and lowered[start - 3] == "%")


def _find_all(lowered: str, literal: str) -> Iterator[int]:
    pos = lowered.find(literal)
    count = 0
    while pos != -1 and count < MAX_PER_LITERAL:
        yield pos
        count += 1
        pos = lowered.find(literal, pos + 1)


def _clean_host(host: str) -> str | None:
    host = host.strip(".-").lower()
    if "." not in host or ".." in host or len(host) > 253:
        return None
    tld = host.rsplit(".", 1)[1]
    if not tld.isalpha() or len(tld) < 2:
        return None
    return host


def _bare_host_ok(host: str) -> bool:
    return host.rsplit(".", 1)[1] not in _FILE_SUFFIXES


def _host_score(host: str) -> int:
    score = 0
    if host.endswith(".instructure.com"):
        score += 4
    if "canvas" in host or host.startswith(("lms.", "learn.", "elearn.", "courses.")):
        score += 1
    return score


def _excluded(host: str) -> bool:
    if host in _NOT_CANVAS_HOSTS or "badgr" in host:
        return True
    labels = host.split(".")
    return any(".".join(labels[i:]) in _NOT_CANVAS_SUFFIXES for i in range(len(labels) - 1))


def _host_of(url_or_host: str) -> str | None:
    text = url_or_host if "://" in url_or_host else "https://" + url_or_host
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return _clean_host(host) if host else None


def _origin(text: str) -> str | None:
    try:
        return _target.parse(text).origin
    except _target.TargetError:
        return None
