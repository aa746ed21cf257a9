"""Will Canvas accept this redirect URI for this Developer Key? (reference §4, pure)

Canvas (``DeveloperKey#redirect_domain_matches?``) accepts a ``redirect_uri`` when

1. it is one of the lines of "Redirect URIs", compared as whole strings (scheme, host,
   port, path, trailing slash and query string all count, letter for letter), or
2. "Redirect URI (Legacy)" parses as an address with a host, and the request's host is
   that host or a subdomain of it, over the same scheme; path and port are ignored.

:func:`advise` answers the question before any probe and, when the answer is no, says
why in the words an admin needs (a trailing slash, http vs https, the wrong region's
host, a subdomain in the legacy field) and what to type where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["UriParts", "Advice", "parse_uri", "list_matches", "legacy_matches", "matching_field", "advise"]

LIST_FIELD = '"Redirect URIs"'
LEGACY_FIELD = '"Redirect URI (Legacy)"'

_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?$")


@dataclass(frozen=True)
class UriParts:
    """An absolute URI as Canvas (Ruby's URI) reads it: scheme lower-cased, host as typed.

    Attributes:
        scheme: lower case ("https").
        host: as typed (Ruby does not lower-case it, so neither do we).
        port: the explicit port, or None.
        path: "" or "/..." as typed.
        query: the query string without "?", or None when there is none.
    """

    scheme: str
    host: str
    port: int | None
    path: str
    query: str | None


def parse_uri(text: str | None) -> UriParts | None:
    """The parts of an absolute http(s)-style URI, or None when Canvas would find no host
    in it (empty, no scheme, spaces or other characters a URI cannot hold)."""
    if not text or any(c.isspace() for c in text) or any(c in text for c in '"<>\\^`{|}'):
        return None
    m = _URI.match(text)
    if not m:
        return None
    authority = m.group("authority").rpartition("@")[2]
    host, port = authority, None
    if authority.startswith("["):
        end = authority.find("]")
        host, rest = authority[: end + 1], authority[end + 1:]
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif ":" in authority:
        host, _, port_text = authority.partition(":")
        if port_text and not port_text.isdigit():
            return None
        port = int(port_text) if port_text else None
    if not host:
        return None
    return UriParts(m.group("scheme").lower(), host, port, m.group("path"), m.group("query"))


def list_matches(redirect_uri: str, entries: Sequence[str]) -> bool:
    """Rule 1: one of the "Redirect URIs" lines is exactly this string."""
    return bool(redirect_uri) and redirect_uri in entries


def legacy_matches(redirect_uri: str, legacy: str | None) -> bool:
    """Rule 2: same scheme, and the host is the legacy host or a subdomain of it."""
    ours, theirs = parse_uri(redirect_uri), parse_uri(legacy)
    if ours is None or theirs is None:
        return False
    return ours.scheme == theirs.scheme and (ours.host == theirs.host or ours.host.endswith("." + theirs.host))


def matching_field(redirect_uri: str, entries: Sequence[str], legacy: str | None) -> str | None:
    """"list", "legacy" or None: which field lets Canvas accept ``redirect_uri``."""
    if list_matches(redirect_uri, entries):
        return "list"
    if legacy_matches(redirect_uri, legacy):
        return "legacy"
    return None


@dataclass(frozen=True)
class Advice:
    """What Canvas will do with one redirect URI and one key's two fields.

    Attributes:
        redirect_uri: the URI Badgr sends.
        field: "list" or "legacy" when Canvas will accept it, None when it will not.
        reasons: why each field does (not) match, one sentence each.
        suggestion: what to type where; "" when it will match.
    """

    redirect_uri: str
    field: str | None
    reasons: tuple[str, ...]
    suggestion: str

    @property
    def will_match(self) -> bool:
        return self.field is not None

    def to_evidence(self, entries: Sequence[str], legacy: str | None) -> dict[str, Any]:
        return {
            "redirect_uri": self.redirect_uri,
            "key_redirect_uris": list(entries),
            "key_legacy_redirect_uri": legacy,
            "will_match": self.will_match,
            "matched_by": self.field,
            "reasons": list(self.reasons),
        }


def advise(redirect_uri: str, entries: Sequence[str] = (), legacy: str | None = None) -> Advice:
    """Apply §4 to what the admin typed in the key and the URI Badgr uses, and explain."""
    entries = [e for e in entries if e is not None and e != ""]
    legacy = legacy if legacy else None
    reasons: list[str] = []
    ours = parse_uri(redirect_uri)
    if ours is None:
        reasons.append(f"{redirect_uri!r} is not a full address (it needs https:// and a host name), so Canvas "
                       "cannot match it against either field.")
    elif ours.scheme != "https":
        reasons.append(f"{redirect_uri} does not start with https://; Badgr's redirect URIs always do - check "
                       "the value Badgr support gave you.")

    field = matching_field(redirect_uri, entries, legacy)
    if field == "list":
        reasons.append(f"It is on the {LIST_FIELD} list exactly as Badgr sends it.")
        return Advice(redirect_uri, field, tuple(reasons), "")

    if not entries:
        reasons.append(f"{LIST_FIELD} is empty.")
    else:
        for entry in entries[:5]:
            reasons.append(_list_difference(redirect_uri, entry))

    if field == "legacy":
        theirs = parse_uri(legacy)
        assert ours is not None and theirs is not None
        how = "the same host" if ours.host == theirs.host else f"a subdomain of {theirs.host}"
        reasons.append(f"{LEGACY_FIELD} is {legacy}: {ours.host} is {how} over {ours.scheme}, which is all "
                       "the legacy field checks (path and port are ignored).")
        return Advice(redirect_uri, field, tuple(reasons), "")

    reasons.append(_legacy_difference(ours, legacy))
    suggestion = (f"Edit the key: put {redirect_uri} in {LEGACY_FIELD} and leave {LIST_FIELD} blank (the fix "
                  f"Badgr documents), or add {redirect_uri} as its own line of {LIST_FIELD}, exactly as written.")
    return Advice(redirect_uri, None, tuple(reasons), suggestion)


def _list_difference(uri: str, entry: str) -> str:
    """One sentence: how a "Redirect URIs" line differs from the URI Badgr sends."""
    prefix = f"The {LIST_FIELD} line {entry!r} is not {uri!r}"
    if entry.strip() == uri:
        return f"{prefix}: it has spaces before or after it, and Canvas compares the whole line."
    a, b = parse_uri(uri), parse_uri(entry.strip())
    if a is None or b is None:
        return f"{prefix}: Canvas compares the whole address, letter for letter."
    differences = []
    if a.scheme != b.scheme:
        differences.append(f"it uses {b.scheme}:// instead of {a.scheme}://")
    if a.host != b.host:
        if a.host.lower() == b.host.lower():
            differences.append("the host name differs in upper/lower case")
        elif a.host.endswith("." + b.host) or b.host.endswith("." + a.host):
            differences.append(f"the host is {b.host} instead of {a.host} (the list does not accept subdomains)")
        else:
            differences.append(f"the host is {b.host} instead of {a.host}" + _region_hint(a.host, b.host))
    if a.port != b.port:
        differences.append("the port differs")
    if a.path != b.path:
        if a.path.rstrip("/") == b.path.rstrip("/"):
            differences.append("it ends with a slash" if b.path.endswith("/") else "the trailing slash is missing")
        elif a.path.lower() == b.path.lower():
            differences.append("the path differs in upper/lower case")
        else:
            differences.append(f"the path is {b.path or '/'!r} instead of {a.path or '/'!r}")
    if a.query != b.query:
        if b.query is None:
            differences.append("it lacks the query string (?...) Badgr sends")
        elif a.query is None:
            differences.append("it has a query string (?...) that Badgr does not send")
        else:
            differences.append("the query string (?...) differs")
    if not differences:
        differences.append("they differ in a character Canvas compares letter for letter")
    return f"{prefix}: {'; '.join(differences)}."


def _legacy_difference(ours: UriParts | None, legacy: str | None) -> str:
    if legacy is None:
        return f"{LEGACY_FIELD} is empty."
    theirs = parse_uri(legacy)
    if theirs is None:
        return (f"{LEGACY_FIELD} {legacy!r} is not a full address, so Canvas finds no host in it: it needs "
                "https:// and a host name, with no spaces.")
    if ours is None:
        return f"{LEGACY_FIELD} is {legacy}, but the redirect URI has no host to compare with it."
    if ours.scheme != theirs.scheme:
        return (f"{LEGACY_FIELD} {legacy} uses {theirs.scheme}:// but Badgr uses {ours.scheme}://; current "
                "Canvas requires the same scheme.")
    if ours.host.lower() == theirs.host.lower() or ours.host.lower().endswith("." + theirs.host.lower()):
        return (f"{LEGACY_FIELD} {legacy} differs from {ours.host} only in upper/lower case, and Canvas "
                "compares host names letter for letter: type it in lower case.")
    if theirs.host.endswith("." + ours.host):
        return (f"{LEGACY_FIELD} names {theirs.host}, which is under {ours.host}: the legacy field accepts "
                f"its own host and hosts below it, not the one above. Use {ours.scheme}://{ours.host}.")
    return f"{LEGACY_FIELD} names {theirs.host}, not {ours.host} or a domain above it" + _region_hint(ours.host, theirs.host) + "."


def _region_hint(wanted: str, typed: str) -> str:
    regions = ("eu", "ca", "au", "sg", "test")
    wanted_labels, typed_labels = set(wanted.lower().split(".")), set(typed.lower().split("."))
    if "badgr" in wanted.lower() and "badgr" in typed.lower():
        w = sorted(wanted_labels & set(regions))
        t = sorted(typed_labels & set(regions))
        if w != t:
            return (f" - that looks like another Badgr region ({', '.join(t) or 'us'} instead of "
                    f"{', '.join(w) or 'us'})")
    return ""
