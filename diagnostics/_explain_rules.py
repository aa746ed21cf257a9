"""The explainer's rules (``knowledge/patterns.toml``) and the matcher that applies them.

A rule maps an error string to a catalog code with a confidence. It names one or more
*anchors*: literal lower-case phrases, matched on word boundaries (a ``*`` at either end
allows a partial word there, as in ``preauthoriz*``). Finding anchors costs little even
in a 10 MiB paste: the ASCII words of each view are collected once, a rule whose anchor
words are not all present is skipped without searching, and the rest are found with
``str.find``. An optional ``pattern`` (a regular expression over the lower-cased,
whitespace-collapsed text) then confirms the match in a window around each anchor
occurrence, so no pattern ever runs over the whole paste and the work per rule is
bounded. ``unless`` phrases veto a rule; ``context`` phrases raise its confidence to
``context_confidence``. Vetoes and context are looked up in every view.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

from ._explain_unwrap import View

__all__ = ["Anchor", "Hit", "Rule", "RULES_PATH", "find_hits", "load"]

RULES_PATH = Path(__file__).parent / "knowledge" / "patterns.toml"

#: Occurrences of one anchor examined per view; a log repeating a phrase costs no more.
MAX_OCCURRENCES = 16
#: Characters on each side of an anchor occurrence that its pattern may look at.
WINDOW = 600

_WORD = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class Anchor:
    """A literal phrase and what a quick look must find before searching for it.

    Attributes:
        phrase: lower-case literal, without the ``*`` markers.
        open_start / open_end: True when the phrase may begin / end inside a word.
        words: ASCII words the text must contain for the phrase to occur.
    """

    phrase: str
    open_start: bool
    open_end: bool
    words: frozenset[bytes]

    @classmethod
    def parse(cls, spec: str) -> "Anchor":
        open_start, open_end = spec.startswith("*"), spec.endswith("*")
        phrase = spec.strip("*")
        if not phrase or phrase != phrase.lower():
            raise ValueError(f"anchor must be non-empty lower case: {spec!r}")
        tokens = _WORD.findall(phrase)
        if tokens and open_start and _is_word_char(phrase[0]):
            tokens = tokens[1:]
        if tokens and open_end and _is_word_char(phrase[-1]):
            tokens = tokens[:-1]
        return cls(phrase, open_start, open_end, frozenset(t.encode() for t in tokens))

    def occurrences(self, lowered: str, limit: int = MAX_OCCURRENCES):
        """Start indexes of the phrase on word boundaries (at most ``limit`` looked at)."""
        phrase, n = self.phrase, len(self.phrase)
        check_start = not self.open_start and _is_word_char(phrase[0])
        check_end = not self.open_end and _is_word_char(phrase[-1])
        pos = lowered.find(phrase)
        seen = 0
        while pos != -1 and seen < limit:
            seen += 1
            if not (check_start and pos > 0 and _is_word_char(lowered[pos - 1])) and not (
                check_end and pos + n < len(lowered) and _is_word_char(lowered[pos + n])
            ):
                yield pos
            pos = lowered.find(phrase, pos + 1)


@dataclass(frozen=True)
class Rule:
    """One recognised error string.

    Attributes:
        code: catalog code it means.
        confidence: 0..1 when it matches; ``context_confidence`` replaces it when a
            ``context`` phrase occurs anywhere in the paste.
        anchors: phrases, any of which starts a match.
        pattern: optional regex that must match near an anchor (it sets the excerpt).
        unless: phrases that, anywhere in the paste, stop this rule (a more specific
            rule owns that case).
        possible_causes: other codes the same words can mean (ambiguous errors).
        hint: key of a sentence in ``[hints]``: which live check tells the causes apart.
        source: who prints this string (documentation for maintainers).
    """

    code: str
    confidence: float
    anchors: tuple[Anchor, ...]
    pattern: re.Pattern[str] | None = None
    unless: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    context_confidence: float | None = None
    possible_causes: tuple[str, ...] = ()
    hint: str | None = None
    source: str = ""


@dataclass(frozen=True)
class Hit:
    """A rule that matched: where (view and span) and how sure."""

    rule: Rule
    confidence: float
    view: View
    start: int
    end: int

    @property
    def relative_position(self) -> float:
        return self.start / max(1, len(self.view.text))


@lru_cache(maxsize=1)
def load() -> tuple[tuple[Rule, ...], Mapping[str, str]]:
    """(rules in file order, hints by key) from ``knowledge/patterns.toml``."""
    with RULES_PATH.open("rb") as fh:
        raw = tomllib.load(fh)
    hints = {str(k): " ".join(str(v).split()) for k, v in raw.get("hints", {}).items()}
    rules = tuple(_rule(body, hints) for body in raw.get("rule", ()))
    return rules, hints


def _rule(body: Mapping[str, object], hints: Mapping[str, str]) -> Rule:
    hint = body.get("hint")
    if hint is not None and hint not in hints:
        raise ValueError(f"rule for {body.get('code')} names unknown hint {hint!r}")
    pattern = body.get("pattern")
    ctx_conf = body.get("context_confidence")
    return Rule(
        code=str(body["code"]),
        confidence=float(body["confidence"]),  # type: ignore[arg-type]
        anchors=tuple(Anchor.parse(str(a)) for a in body["anchors"]),  # type: ignore[union-attr]
        pattern=re.compile(str(pattern)) if pattern else None,
        unless=tuple(str(u) for u in body.get("unless", ())),  # type: ignore[union-attr]
        context=tuple(str(c) for c in body.get("context", ())),  # type: ignore[union-attr]
        context_confidence=float(ctx_conf) if ctx_conf is not None else None,  # type: ignore[arg-type]
        possible_causes=tuple(str(c) for c in body.get("possible_causes", ())),  # type: ignore[union-attr]
        hint=str(hint) if hint is not None else None,
        source=str(body.get("source", "")),
    )


def find_hits(views: Sequence[View], rules: Sequence[Rule] | None = None) -> list[Hit]:
    """Every rule that matches in any view (its first confirmed occurrence)."""
    if rules is None:
        rules = load()[0]
    hits = []
    for rule in rules:
        hit = _match(rule, views)
        if hit is not None:
            hits.append(hit)
    return hits


def _match(rule: Rule, views: Sequence[View]) -> Hit | None:
    for view in views:
        for anchor in rule.anchors:
            if not anchor.words <= view.words:
                continue
            for pos in anchor.occurrences(view.lowered):
                span = _confirm(rule, view, pos, len(anchor.phrase))
                if span is None:
                    continue
                if rule.unless and _anywhere(rule.unless, views):
                    return None
                confidence = rule.confidence
                if rule.context and rule.context_confidence is not None and _anywhere(rule.context, views):
                    confidence = rule.context_confidence
                return Hit(rule, confidence, view, span[0], span[1])
    return None


def _confirm(rule: Rule, view: View, pos: int, length: int) -> tuple[int, int] | None:
    if rule.pattern is None:
        return pos, pos + length
    lo, hi = max(0, pos - WINDOW), min(len(view.lowered), pos + length + WINDOW)
    m = rule.pattern.search(view.lowered, lo, hi)
    return m.span() if m else None


def _anywhere(phrases: Sequence[str], views: Sequence[View]) -> bool:
    return any(p in v.lowered for v in views for p in phrases)


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")
