"""User input -> :class:`Target` (a normalised HTTPS origin) or :class:`TargetError`.

Admins paste what their browser shows: full URLs with paths, upper case, quotes, trailing
dots, http://, ports, internationalised names. All of that is accepted and reduced to
``https://host[:port]``. What can never be a Canvas server (other schemes, credentials in
the URL, IP literals, broken names, impossible ports) is refused with one plain sentence.
:func:`parse` raises nothing but :class:`TargetError`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field

import idna

__all__ = ["Target", "TargetError", "parse", "MAX_INPUT"]

MAX_INPUT = 2048
_QUOTES = "\"'`<>\u201c\u201d\u2018\u2019\u00ab\u00bb()[]"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]{0,30}):")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IDN_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


class TargetError(ValueError):
    """The input cannot be a Canvas address; ``str()`` is one sentence for a person."""


@dataclass(frozen=True)
class Target:
    """A Canvas server to check.

    Attributes:
        input: what the user typed, trimmed (never used for connections).
        host: ASCII (IDNA) host name, lower case, no trailing dot.
        port: TCP port (443 unless the input named one).
        display_host: the host as a person reads it (Unicode for IDNs).
        notes: info codes about how the input was read (input.http_upgraded,
            input.path_ignored).
    """

    input: str
    host: str
    port: int = 443
    display_host: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def origin(self) -> str:
        return f"https://{self.host}" if self.port == 443 else f"https://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        return self.host if self.port == 443 else f"{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path


def parse(text: object) -> Target:
    """Normalise what a person pasted into a Target, or raise TargetError."""
    if not isinstance(text, str):
        raise TargetError("Enter the address of your Canvas, for example myschool.instructure.com.")
    raw = text.strip()
    if len(raw) > MAX_INPUT:
        raise TargetError("That is too long to be a Canvas address.")
    s = _strip_wrapping(raw)
    if not s:
        raise TargetError("Enter the address of your Canvas, for example myschool.instructure.com.")
    if any(c.isspace() for c in s):
        raise TargetError("A Canvas address has no spaces in it; paste just the address.")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        raise TargetError("The address contains control characters; paste just the address.")

    notes: list[str] = []
    scheme = None
    m = _SCHEME.match(s)
    if m and not _looks_like_host_port(s):
        scheme = m.group(1).lower()
        s = s[m.end():]
        if scheme not in ("http", "https"):
            raise TargetError(f"Only web addresses (https://...) can be checked, not {scheme}: links.")
        if not s.startswith("//"):
            s = s.lstrip("/")
        else:
            s = s[2:]
    elif s.startswith("//"):
        s = s[2:]
    s = s.replace("\\", "/")

    authority, rest = _split_authority(s)
    if "@" in authority:
        raise TargetError("Remove the user name or password from the address; Badgr connects without them.")
    host_part, port = _split_port(authority)
    if scheme == "http":
        notes.append("input.http_upgraded")
        if port == 80:
            port = None
    if rest.strip("/") or "?" in rest or "#" in rest:
        notes.append("input.path_ignored")

    host, display = _normalise_host(host_part)
    return Target(input=raw, host=host, port=port or 443, display_host=display, notes=tuple(notes))


def _strip_wrapping(s: str) -> str:
    prev = None
    while s != prev:
        prev = s
        s = s.strip().strip(_QUOTES).strip()
        s = s.rstrip(".,;:!").rstrip()
    return s


def _looks_like_host_port(s: str) -> bool:
    """'canvas.example.edu:443' parses as scheme 'canvas.example.edu'; tell them apart."""
    head, _, tail = s.partition(":")
    return "." in head and not tail.startswith("//")


def _split_authority(s: str) -> tuple[str, str]:
    cut = len(s)
    for sep in "/?#":
        i = s.find(sep)
        if i != -1:
            cut = min(cut, i)
    return s[:cut], s[cut:]


def _split_port(authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        raise TargetError("Enter the Canvas host name, not an IP address: Badgr needs the name its certificate is issued for.")
    host, sep, port_text = authority.rpartition(":")
    if not sep:
        return authority, None
    if not port_text:
        return host, None
    if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        raise TargetError(f"'{port_text[:20]}' is not a port number.")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise TargetError(f"Port {port} cannot be used; Canvas normally runs on 443.")
    return host, port


def _normalise_host(host: str) -> tuple[str, str]:
    host = host.translate(_IDN_DOTS).rstrip(".")
    if not host:
        raise TargetError("The address has no host name in it.")
    if _is_ip_literal(host):
        raise TargetError("Enter the Canvas host name, not an IP address: Badgr needs the name its certificate is issued for.")
    if host.isascii():
        # Plain DNS names need no IDNA: its rules refuse real ones such as
        # "r3---sn-x.example.com" (hyphens in the 3rd and 4th place), which DNS, browsers
        # and Badgr's servers all accept. The LDH check below is the rule that applies.
        ascii_host = host
    else:
        try:
            ascii_host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise TargetError(f"'{_short(host)}' is not a valid host name.") from None
    ascii_host = ascii_host.lower()
    if _is_ip_literal(ascii_host):  # IDNA folds full-width digits and letters: "０ｘ７ｆ..." -> "0x7f..."
        raise TargetError("Enter the Canvas host name, not an IP address: Badgr needs the name its certificate is issued for.")
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise TargetError(f"'{_short(host)}' is not a valid host name.")
    if labels[-1].isdigit():
        raise TargetError(f"'{_short(host)}' is not a valid host name.")
    try:
        display = idna.decode(ascii_host)
    except (idna.IDNAError, UnicodeError, ValueError):
        display = ascii_host
    return ascii_host, display


def _is_ip_literal(host: str) -> bool:
    """Every spelling: dotted, decimal (2130706433), octal (0177.0.0.1), hex, short (127.1), IPv6."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if re.fullmatch(r"(0[xX][0-9a-fA-F]*|[0-9]+)(\.(0[xX][0-9a-fA-F]*|[0-9]+)){0,3}", host):
        try:
            socket.inet_aton(host)
        except OSError:
            return True  # numeric but not a valid address: still not a host name
        return True
    return ":" in host


def _short(s: str) -> str:
    return s if len(s) <= 60 else s[:57] + "..."
