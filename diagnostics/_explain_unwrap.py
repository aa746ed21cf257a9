"""Pasted text -> the views the explainer reads (private helper of :mod:`explain`).

A paste arrives wrapped: Canvas's ``while(1);`` prefix, JSON (escaped, sometimes twice,
inside a log line or an HTML page), HTML tags and entities, redirect URLs and form posts
with percent- and plus-encoding, stack traces, curl and openssl output, browser error
pages, curly quotes from a word processor, lines broken anywhere. Two views are built,
both redacted, both with runs of whitespace collapsed to one space:

- ``flat``: the redacted paste, unwrapped only of ``while(1);`` and typographic quotes;
- ``decoded``: ``flat`` with JSON escapes, HTML and URL encoding undone (twice, for
  double-encoded text), redacted again (decoding can reveal a secret encoding hid).

Rules and extraction look at both: decoding makes a percent-encoded error description
readable, while ``flat`` keeps what decoding would break (a Python ``<urlopen error ...>``
looks like an HTML tag). Everything here is linear in the size of the paste.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote_plus

from .redact import lower_same_length, redact

__all__ = ["MAX_CHARS", "View", "prepare", "views", "words_of"]

#: The most of a paste that is read; beyond it the text is cut (and the cut is said).
MAX_CHARS = 16 * 1024 * 1024

_TYPOGRAPHY = (
    ("\u2018", "'"), ("\u2019", "'"), ("\u201b", "'"), ("\u2032", "'"), ("\u00b4", "'"),
    ("\u201c", '"'), ("\u201d", '"'), ("\u201e", '"'), ("\u2033", '"'), ("\u00ab", '"'), ("\u00bb", '"'),
    ("\u2010", "-"), ("\u2011", "-"), ("\u2012", "-"), ("\u2013", "-"), ("\u2014", "-"), ("\u2212", "-"),
    ("\u200b", ""), ("\u200c", ""), ("\u200d", ""), ("\u2060", ""), ("\ufeff", ""), ("\u00ad", ""),
    ("\u2026", "..."), ("\u0130", "I"),
)
_XSSI = re.compile(r"while\s{0,5}\(\s{0,5}(?:1|true)\s{0,5}\)\s{0,5};|for\s{0,5}\(\s{0,5};\s{0,5};\s{0,5}\)\s{0,5};|\)\]\}',?")
_QUOTE_MARKS = re.compile(r"(?m)^[ \t]{0,8}[>|<][>|< \t]{0,16}")
_HTML_HINT = re.compile(r"</[a-z][a-z0-9]{0,10}>|<br\s{0,3}/?>|<!doctype|<(?:html|body|div|span|p|pre|code|h[1-6]|li|td|a|script|title)[\s>]")
_TAG = re.compile(r"<!--[^>]{0,4096}-->|</?[a-zA-Z!][a-zA-Z0-9\-]{0,20}(?:[\s/][^<>]{0,4096})?>")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_JSON_ESCAPES = (("\\/", "/"), ('\\"', '"'), ("\\'", "'"), ("\\n", " "), ("\\r", " "), ("\\t", " "))
_WORD_BYTES = bytes(c if (48 <= c <= 57 or 97 <= c <= 122 or c == 95) else 32 for c in range(256))


@dataclass(frozen=True, eq=False)
class View:
    """One reading of the paste.

    Attributes:
        name: "decoded" or "flat".
        text: redacted, unwrapped text with whitespace collapsed (excerpts come from it).
        lowered: ``text`` lower-cased, index for index (rules and extraction search it).
    """

    name: str
    text: str
    lowered: str

    @cached_property
    def words(self) -> frozenset[bytes]:
        """Every ASCII word ([a-z0-9_]+) in the view: a rule whose words are missing is skipped."""
        return words_of(self.lowered)


def words_of(lowered: str) -> frozenset[bytes]:
    return frozenset(lowered.encode("utf-8", "replace").translate(_WORD_BYTES).split())


def prepare(text: object) -> tuple[str, int]:
    """Any input -> (a str safe to print, number of characters cut off the end)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = "" if text is None else str(text)
    cut = max(0, len(text) - MAX_CHARS)
    if cut:
        text = text[:MAX_CHARS]
    if "\x00" in text:
        text = text.replace("\x00", " ")
    if not text.isascii():  # lone surrogates (from a bad decode) cannot be printed or sent as JSON
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text, cut


def views(redacted: str) -> tuple[View, ...]:
    """The views of an already redacted paste, the most readable first."""
    flat_text = _normalise(_strip_quote_marks(_strip_xssi(redacted)))
    flat = View("flat", flat_text, lower_same_length(flat_text))
    decoded_text = _decode(flat_text)
    if decoded_text == flat_text:
        return (flat,)
    decoded_text = _normalise(redact(decoded_text))
    if decoded_text == flat_text:
        return (flat,)
    return (View("decoded", decoded_text, lower_same_length(decoded_text)), flat)


def _strip_xssi(text: str) -> str:
    if "while" in text or "for" in text or ")]}'" in text:
        return _XSSI.sub(" ", text)
    return text


def _strip_quote_marks(text: str) -> str:
    """Drop e-mail quoting ("> ") and curl -v direction marks ("< ", "> ") at line starts,
    which would otherwise split a message wrapped over several quoted lines."""
    if "\n>" in text or "\n<" in text or "\n|" in text or text[:1] in "><|":
        return _QUOTE_MARKS.sub("", text)
    return text


def _normalise(text: str) -> str:
    if not text.isascii():
        for old, new in _TYPOGRAPHY:
            if old in text:
                text = text.replace(old, new)
    return " ".join(text.split())


def _decode(text: str) -> str:
    for _ in range(2):  # twice: JSON inside JSON, percent-encoding of percent-encoding
        decoded = _decode_once(text)
        if decoded == text:
            break
        text = decoded
    return text


def _decode_once(text: str) -> str:
    if "\\" in text:
        text = _json_unescape(text)
    if "<" in text and _HTML_HINT.search(text.lower()):
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if ("%" in text and _PERCENT.search(text)) or ("+" in text and "=" in text):
        text = unquote_plus(text, errors="replace")
    return text


def _json_unescape(text: str) -> str:
    for old, new in _JSON_ESCAPES:
        if old in text:
            text = text.replace(old, new)
    if "\\u" in text:
        text = _UNICODE_ESCAPE.sub(_unicode_char, text)
    if "\\\\" in text:
        text = text.replace("\\\\", "\\")
    return text


def _unicode_char(m: re.Match[str]) -> str:
    code = int(m.group(1), 16)
    return "\ufffd" if 0xD800 <= code <= 0xDFFF or code == 0 else chr(code)
