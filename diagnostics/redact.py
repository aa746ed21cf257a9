"""Remove secrets from pasted text before it is shown, stored, shared or returned.

What goes (each replaced by ``[redacted]``; the name of the field stays):

- JWTs (``id_token``, ``lti_message_hint``, client assertions): anything starting ``eyJ``;
- ``Bearer`` credentials and whole ``Authorization`` header values;
- Canvas access tokens (``7~...``) and any run of exactly 64 letters and digits (the length
  of a Developer Key secret);
- the value of every field whose name says it is secret, wherever it appears (query
  strings, form posts, JSON, headers, logs): ``client_secret``, ``access_token``,
  ``refresh_token``, ``id_token``, ``login_hint``, ``lti_message_hint``, ``password``,
  session ids, CSRF tokens, and ``code=`` in a query string or form post;
- cookie headers (``Cookie:``, ``Set-Cookie:``, ``curl -b``) and private key blocks.

What stays: everything an explanation needs (error codes and descriptions, Developer Key
IDs, redirect URIs, error report and request context ids, host names) and certificates,
which are public.

Safe on any input: the patterns run on the lower-cased text (case-insensitive matching
is several times slower in ``re``), each starts at a boundary its own body cannot cross,
and every repeat is bounded with nothing repeated inside a repeat, so the work grows
linearly with the input. A pattern whose keyword does not occur is not run at all. The
spans found are merged and replaced in one pass.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "redact"]

REDACTED = "[redacted]"

# A name/value separator as it appears in query strings, JSON (escaped, HTML-escaped or
# percent-encoded), headers and YAML.
_QUOTE = r"""(?:\\?["']|%22|%27|&quot;|&\#34;|&\#39;)?"""
_SEP = _QUOTE + r"""\s{0,10}+(?:=|:|%3d|%3a|%253d|%253a|&\#61;|&\#x3d;|&\#58;)\s{0,10}+""" + _QUOTE
_VALUE = r"""(?P<v>[^\s"'&<>,;\\()\[\]{}]{1,16384}+)"""
_FIELD = re.compile(
    r"(?:secret|token|passw(?:or)?d|hint|session|sessid|assertion|oauth_signature|pseudonym_credentials|api_?key|private_?key"
    r"|sid(?<![a-z0-9_]sid))[a-z0-9_\-]{0,20}+" + _SEP + _VALUE
)
_CODE_PARAM = re.compile(
    r"""code=(?:(?<=[?&]code=)|(?<=^code=)|(?<=-d code=)|(?<=-d 'code=)|(?<=-d "code=)|(?<=data code=)|(?<=data 'code=))""" + _VALUE
)
_COOKIE = re.compile(r"""cookie(?<![a-z0-9_]cookie)\\?["']?\s{0,10}+[:=]\s{0,10}+\\?["']?(?P<v>[^\r\n"'\\]{1,16384}+)""")
_CURL_COOKIE = re.compile(r"""(?:-b|--cookie)(?<!\S-b)(?<!\S--cookie)\s{1,10}+(?P<v>'[^']{0,16384}+'|"[^"]{0,16384}+"|[^\s"']{1,16384}+)""")
_AUTH_HEADER = re.compile(
    r"""authorization(?<![a-z0-9_]authorization)\\?["']?\s{0,10}+[:=]\s{0,10}+\\?["']?(?P<v>[^\r\n"'\\,}]{1,16384}+)"""
)
_BEARER = re.compile(r"bearer(?<![a-z0-9_\-]bearer)\s{1,10}+(?!realm\b)(?P<v>[a-z0-9._~+/=\-]{8,16384}+)")
_JWT = re.compile(r"eyj(?<![a-z0-9_\-]eyj)[a-z0-9_\-]{4,65536}+\.?[a-z0-9_\-]{0,262144}+\.?[a-z0-9_\-]{0,65536}+")
_CANVAS_TOKEN = re.compile(r"~(?<=[0-9]~)(?P<v>[a-z0-9]{16,256}+)(?![a-z0-9])")
_KEY64 = re.compile(r"(?<![a-z0-9])[a-z0-9]{64}(?![a-z0-9])")
_ALNUM_MARKS = bytes(97 if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256))
_RUN64 = b"a" * 64

#: (keywords, any of which must occur in the lower-cased text; pattern). The part
#: replaced is the group named ``v`` when the pattern has one, else the whole match.
_RULES: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("cookie",), _COOKIE),
    (("-b", "--cookie"), _CURL_COOKIE),
    (("authorization",), _AUTH_HEADER),
    (("bearer",), _BEARER),
    (("secret", "token", "pass", "hint", "sess", "sid", "assertion", "oauth_signature", "pseudonym_credentials", "key"), _FIELD),
    (("code=",), _CODE_PARAM),
    (("eyj",), _JWT),
    (("~",), _CANVAS_TOKEN),
    ((), _KEY64),
)

#: Every pattern this module runs (tests check them for nested repeats).
PATTERNS: tuple[re.Pattern[str], ...] = tuple(p for _, p in _RULES)

#: Where a ``_FIELD`` match can begin: a match starts with one of these. ``re`` tries a
#: leading alternation at every index (17 ms a MiB); finding the words with ``str.find``
#: and trying the pattern only there gives the same matches in a tenth of the time.
_FIELD_STARTS = ("secret", "token", "passw", "hint", "sess", "sid", "assertion", "oauth_signature",
                 "pseudonym_credentials", "api", "private")

_PRIVATE_KEY = re.compile(r"-----begin [a-z0-9 ]{0,40}private key-----")
_PRIVATE_KEY_END = "private key-----"
_CERT_BEGIN = "-----begin certificate-----"
_CERT_END = "-----end certificate-----"


def redact(text: str) -> str:
    """``text`` with credentials, hints, session ids and cookies replaced by ``[redacted]``.

    Never raises: ``None`` gives "", anything else that is not a str its ``str()``.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if not text:
        return text
    lowered = lower_same_length(text)
    spans = _private_key_spans(lowered) if "-----begin" in lowered else []
    protected = _certificate_spans(lowered) if _CERT_BEGIN in lowered else []
    for keywords, pattern in _RULES:
        if keywords and not any(k in lowered for k in keywords):
            continue
        if pattern is _KEY64 and not _has_run64(lowered):
            continue
        has_value = "v" in pattern.groupindex
        matches = _field_matches(lowered) if pattern is _FIELD else pattern.finditer(lowered)
        for m in matches:
            start, end = m.span("v") if has_value else m.span()
            if end > start:
                spans.append((start, end))
    if not spans:
        return text
    return _replace(text, _merge(spans), protected)


def _field_matches(lowered: str) -> list[re.Match[str]]:
    """``_FIELD.finditer(lowered)``, tried only where one of its words begins."""
    starts: list[int] = []
    for word in _FIELD_STARTS:
        i = lowered.find(word)
        while i != -1:
            starts.append(i)
            i = lowered.find(word, i + 1)
    starts.sort()
    found: list[re.Match[str]] = []
    end = 0
    for i in starts:
        if i < end:
            continue  # finditer does not look for a match inside the previous one
        m = _FIELD.match(lowered, i)
        if m:
            found.append(m)
            end = m.end()
    return found


def _has_run64(lowered: str) -> bool:
    """Whether 64 letters and digits ever follow each other (a cheap pass before the regex)."""
    return _RUN64 in lowered.encode("utf-8", "replace").translate(_ALNUM_MARKS)


def lower_same_length(text: str) -> str:
    """``text.lower()`` with every character kept at its index (only U+0130 grows)."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = text.replace("\u0130", "I").lower()
    return lowered


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _replace(text: str, spans: list[tuple[int, int]], protected: list[tuple[int, int]]) -> str:
    out: list[str] = []
    pos = 0
    p = 0
    for start, end in spans:
        while p < len(protected) and protected[p][1] <= start:
            p += 1
        if p < len(protected) and protected[p][0] <= start and end <= protected[p][1]:
            continue  # inside a certificate: public base64, not a secret
        out.append(text[pos:start])
        out.append(REDACTED)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _private_key_spans(lowered: str) -> list[tuple[int, int]]:
    """Whole private key blocks (to the end of the text when the END line is missing)."""
    spans = []
    pos = 0
    while True:
        m = _PRIVATE_KEY.search(lowered, pos)
        if not m:
            return spans
        end = lowered.find(_PRIVATE_KEY_END, m.end())
        stop = len(lowered) if end == -1 else end + len(_PRIVATE_KEY_END)
        spans.append((m.start(), stop))
        pos = stop


def _certificate_spans(lowered: str) -> list[tuple[int, int]]:
    """Complete certificate blocks, which may legitimately hold 64-letter base64 lines."""
    spans = []
    pos = 0
    while True:
        start = lowered.find(_CERT_BEGIN, pos)
        if start == -1:
            return spans
        end = lowered.find(_CERT_END, start)
        if end == -1:
            return spans
        spans.append((start, end + len(_CERT_END)))
        pos = end + len(_CERT_END)
