"""Developer Key format checks: is this text a Canvas key ID, is that one its secret?

Pure functions shared by the request builder (``request.py``) and the live OAuth checks
(``checks/oauth.py``). Facts from reference §5:

- The ID (``client_id``) is the key's global id, ``shard * 10**13 + local id``: all
  digits, 14 on a single-shard self-hosted Canvas, 15-18 on Instructure's. It is kept as
  a string everywhere (it exceeds 2**53, so JSON numbers and JavaScript would round it).
- The secret (``api_key``) is 64 letters and digits. Canvas shows only about 20
  characters of it until "Show Key" is clicked, which is the most common bad copy.

Each check returns a list of :class:`KeyProblem` (empty when the value looks right), each
naming the likely mistake in one sentence. Messages about the secret never repeat any of
it: they say its length and what kind of thing it looks like, nothing more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "KeyProblem",
    "SECRET_LENGTH",
    "ID_TYPICAL_DIGITS",
    "normalise_client_id",
    "normalise_secret",
    "check_client_id",
    "check_secret",
    "errors_only",
]

SECRET_LENGTH = 64
#: 14 digits on a single-shard self-hosted Canvas, up to 18 on Instructure's shards.
ID_TYPICAL_DIGITS = (14, 18)
#: The secret as Canvas shows it before "Show Key": roughly 20 characters.
_DISPLAY_LENGTHS = range(15, 31)

_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb"
_ALNUM = re.compile(r"^[A-Za-z0-9]+$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+=*$")
# Canvas writes some ids as "shard~local" (17~44 is 170000000000044).
_TILDE_ID = re.compile(r"^(\d{1,5})~(\d{1,13})$")
# What the truncated display leaves behind when it is copied.
_DISPLAY_MARKS = ("\u2026", "...", "*", "\u2022")


@dataclass(frozen=True)
class KeyProblem:
    """One thing wrong (or unusual) with a pasted key ID or secret.

    Attributes:
        field: ``client_id`` or ``secret``.
        kind: a short machine word: ``empty``, ``not_digits``, ``whitespace``, ``url``,
            ``jwt``, ``secret_pasted``, ``tilde_id``, ``unusual_length`` (ID); ``empty``,
            ``display_copied``, ``whitespace``, ``url``, ``jwt``, ``id_pasted``,
            ``bad_characters``, ``too_short``, ``wrong_length``, ``pasted_twice`` (secret).
        message: one plain sentence: the likely mistake and what to copy instead. Never
            contains any part of a secret.
        severity: ``error`` (the value cannot work) or ``warning`` (unusual, may work).
    """

    field: str
    kind: str
    message: str
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def errors_only(problems: list[KeyProblem]) -> list[KeyProblem]:
    """The problems that make the value unusable (warnings dropped)."""
    return [p for p in problems if p.is_error]


def _strip(text: object) -> str:
    if not isinstance(text, str):
        return ""
    prev = None
    s = text
    while s != prev:
        prev = s
        s = s.strip().strip(_QUOTES)
    return s


def normalise_client_id(text: object) -> str:
    """The ID as typed minus surrounding whitespace and quotes; always a string, never int."""
    return _strip(text)


def normalise_secret(text: object) -> str:
    """The secret minus surrounding whitespace and quotes (inside whitespace is kept: it is
    a problem to report, not to hide)."""
    return _strip(text)


def _looks_like_url(s: str) -> bool:
    low = s.lower()
    return "://" in low or low.startswith(("www.", "http:", "https:", "/login/", "/api/"))


def _looks_like_jwt(s: str) -> bool:
    parts = s.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return False
    if not all(_B64URL.match(p) for p in parts if p):
        return False
    # A JWT header is base64url JSON ("{"), so it starts with "eyJ"; accept others only
    # when the parts are long enough not to be, say, a version number.
    return parts[0].startswith("eyJ") or min(len(parts[0]), len(parts[1])) >= 10


def _id_in_url(s: str) -> str | None:
    try:
        query = parse_qs(urlsplit(s if "://" in s else "https://" + s).query)
    except ValueError:
        return None
    for value in query.get("client_id", []):
        value = value.strip()
        if value.isascii() and value.isdigit():
            return value
    return None


def check_client_id(text: object) -> list[KeyProblem]:
    """Problems with a pasted Developer Key ID; empty list when it looks right."""
    s = normalise_client_id(text)

    def problem(kind: str, message: str, severity: str = "error") -> list[KeyProblem]:
        return [KeyProblem("client_id", kind, message, severity)]

    if not s:
        return problem("empty", "Enter the Developer Key ID: the long number shown under Details "
                                "in Admin > Developer Keys (for example 10000000000003).")
    if _looks_like_url(s):
        found = _id_in_url(s)
        if found:
            return problem("url", f"That is a web address; the key ID inside it is {found}: "
                                  "enter just that number.")
        return problem("url", "That is a web address, not a key ID: copy the number shown under "
                              "Details in Admin > Developer Keys.")
    if _looks_like_jwt(s):
        return problem("jwt", "That is a token (three parts joined by dots), not a key ID: copy the "
                              "number shown under Details in Admin > Developer Keys.")
    if any(c.isspace() for c in s):
        compact = "".join(s.split())
        if compact.isascii() and compact.isdigit():
            return problem("whitespace", "The ID has spaces or line breaks inside it: copy it again "
                                         "as one unbroken number.")
        return problem("whitespace", "Enter only the key ID, with no spaces: the number shown under "
                                     "Details in Admin > Developer Keys.")
    m = _TILDE_ID.match(s)
    if m:
        full = str(int(m.group(1)) * 10**13 + int(m.group(2)))
        return problem("tilde_id", f"Canvas sometimes writes IDs as shard~number; the full Developer "
                                   f"Key ID for this one is {full}: enter that.")
    if not (s.isascii() and s.isdigit()):
        if len(s) == SECRET_LENGTH and _ALNUM.match(s):
            # Do not repeat it: this is very probably the secret.
            return problem("secret_pasted", "That looks like the key's 64-character secret, not its "
                                            "ID: the ID is the number shown under Details, the "
                                            "secret goes in the Secret key field.")
        return problem("not_digits", "A Developer Key ID is only digits (for example "
                                     "10000000000003): copy the number shown under Details in "
                                     "Admin > Developer Keys, not the key's name or secret.")
    low, high = ID_TYPICAL_DIGITS
    if len(s) < low:
        return problem("unusual_length",
                       f"This ID has {len(s)} digits; Developer Key IDs usually have {low} to {high} "
                       "(a short number is often the key's local id from a page address): "
                       "check it against Details in Admin > Developer Keys.", "warning")
    if len(s) > high:
        return problem("unusual_length",
                       f"This ID has {len(s)} digits; Developer Key IDs usually have {low} to {high}: "
                       "check that nothing extra was copied with it.", "warning")
    return []


def _describe_length(n: int) -> str:
    return f"{n} character{'s' if n != 1 else ''}"


def check_secret(text: object) -> list[KeyProblem]:
    """Problems with a pasted Developer Key secret; empty list when it looks right.

    Messages give lengths and kinds only, never the secret's characters.
    """
    s = normalise_secret(text)

    def problem(kind: str, message: str, severity: str = "error") -> KeyProblem:
        return KeyProblem("secret", kind, message, severity)

    if not s:
        return [problem("empty", "Enter the secret: in Admin > Developer Keys click Show Key and "
                                 "copy the whole 64-character key.")]
    if _looks_like_url(s):
        return [problem("url", "That is a web address, not the secret: in Admin > Developer Keys "
                               "click Show Key and copy the 64-character key.")]
    if _looks_like_jwt(s):
        return [problem("jwt", "That is a token (three parts joined by dots), not the Developer Key "
                               "secret: click Show Key in Admin > Developer Keys and copy the "
                               "64-character key.")]
    if s.isascii() and s.isdigit() and len(s) <= 20:
        return [problem("id_pasted", "That is a number like the key's ID, not its secret: click "
                                     "Show Key in Admin > Developer Keys and copy the 64-character "
                                     "key.")]
    if any(mark in s for mark in _DISPLAY_MARKS):
        return [problem("display_copied", f"This has {_describe_length(len(s))} with a cut-off mark in "
                                          "it, so the hidden display was copied: click Show Key in "
                                          "Admin > Developer Keys and copy the whole 64-character key.")]

    problems: list[KeyProblem] = []
    compact = s
    if any(c.isspace() for c in s):
        compact = "".join(s.split())
        if len(compact) == SECRET_LENGTH and _ALNUM.match(compact):
            return [problem("whitespace", "The secret has spaces or line breaks inside it; without them "
                                          "it is 64 characters, which is right: remove them or copy it "
                                          "again in one piece.")]
        problems.append(problem("whitespace", "The secret has spaces or line breaks inside it: copy it "
                                              "again in one piece."))
    if not _ALNUM.match(compact):
        bad = sum(1 for c in compact if not (c.isascii() and c.isalnum()))
        problems.append(problem("bad_characters",
                                f"The secret has {bad} character{'s' if bad != 1 else ''} that "
                                f"{'are' if bad != 1 else 'is'} not a letter or digit; a Developer Key "
                                "secret has only letters and digits: copy it again from Show Key."))
        return problems

    n = len(compact)
    if n == SECRET_LENGTH:
        return problems
    if n in _DISPLAY_LENGTHS:
        problems.append(problem("display_copied",
                                f"This is only {_describe_length(n)}, about what Canvas shows before "
                                "Show Key is clicked: click Show Key in Admin > Developer Keys and copy "
                                "the whole 64-character key."))
    elif n < _DISPLAY_LENGTHS.start:
        problems.append(problem("too_short", f"This is only {_describe_length(n)}; the secret has 64: "
                                             "click Show Key in Admin > Developer Keys and copy all of "
                                             "it."))
    elif n == SECRET_LENGTH - 1:
        problems.append(problem("wrong_length", "This is 63 characters, one short of 64: the first or "
                                                "last character was probably lost while selecting; copy "
                                                "it again."))
    elif n == SECRET_LENGTH + 1:
        problems.append(problem("wrong_length", "This is 65 characters, one more than 64: a character "
                                                "next to the key was probably selected with it; copy it "
                                                "again."))
    elif n == 2 * SECRET_LENGTH and compact[:SECRET_LENGTH] == compact[SECRET_LENGTH:]:
        problems.append(problem("pasted_twice", "This is 128 characters: the secret was pasted twice. "
                                                "Paste it once."))
    else:
        problems.append(problem("wrong_length", f"This is {_describe_length(n)}; a Developer Key secret "
                                                "has exactly 64: click Show Key in Admin > Developer "
                                                "Keys and copy the whole key."))
    return problems
