"""Pasted error -> :class:`Explanation`: the cause, the fix and who owns it.

The flow::

    text --prepare--> str (never raises; capped at 16 MiB)
         --redact.redact--> redacted text (what is ever shown back)
         --_explain_unwrap.views--> decoded and flat views (both redacted)
         --_explain_rules.find_hits--> rule hits (knowledge/patterns.toml)
         --> ranked Matches with the catalog's title, summary, fix and owner
         --_explain_extract--> canvas_url, client_id, redirect_uri, report/request ids

Matches use the same codes and words as the live checks (knowledge/catalog.toml): a pasted
``redirect_uri does not match client settings`` and a live probe that meets it read the
same. Only matches with confidence >= 0.5 are reported; a paste nothing recognises gives
no match and general next steps (what to paste instead), never an error.

This module never imports streamlit; the Explain page and ``python -m diagnostics
explain`` both render an :class:`Explanation`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import _explain_extract, _explain_rules, _explain_unwrap, catalog
from .redact import redact

__all__ = ["Explanation", "Match", "MIN_CONFIDENCE", "explain", "redact", "render_text"]

log = logging.getLogger(__name__)

#: Matches below this are not reported.
MIN_CONFIDENCE = 0.5
_EXCERPT_CONTEXT = 40
_EXCERPT_MAX = 240

#: Codes whose cause the live check can confirm against the server itself.
_LIVE_CHECKABLE_AREAS = ("dns.", "net.", "tls.")
_LIVE_CHECKABLE = frozenset({
    "oauth.unknown_client", "oauth.redirect_uri_mismatch", "oauth.unauthorized_client", "oauth.invalid_scope",
    "oauth.secret_invalid", "lti.jwks_unreachable",
})

NOT_RECOGNISED_STEPS = (
    "Paste the complete message, not a summary: the exact words and any code in it (for example "
    "NET::ERR_CERT_AUTHORITY_INVALID or \"error\":\"invalid_client\") are what identify the cause.",
    "Say where it appeared: in Canvas, in Badgr, on a browser warning page (click Advanced or Show Details "
    "and copy the error code shown there), or in a server log.",
    "Include the address from the browser's address bar at that moment, or at least your Canvas address, "
    "so the live check can test the server.",
    "If Canvas showed an error report ID or you have a request ID (X-Request-Context-Id), include it.",
    "Tokens, secrets, hints and cookies are removed automatically, so logs and URLs can be pasted as they are.",
)


@dataclass(frozen=True)
class Match:
    """One recognised problem.

    Attributes:
        code: catalog code (the same as the live check uses).
        confidence: 0.5..1; near 1 for Canvas's exact strings, lower for vague phrases.
        title, summary, fix, owner, step: the catalog's words for the code.
        excerpt: the part of the paste that matched, with a little context, redacted.
        possible_causes: other codes the same words can mean (empty when unambiguous).
        live_check_hint: which live check tells the possible causes apart, or None.
    """

    code: str
    confidence: float
    title: str
    summary: str
    fix: tuple[str, ...]
    owner: str
    excerpt: str
    possible_causes: tuple[str, ...] = ()
    live_check_hint: str | None = None
    step: str = "general"

    @property
    def owner_label(self) -> str:
        return catalog.OWNER_LABELS.get(self.owner, self.owner)

    @property
    def is_ambiguous(self) -> bool:
        return bool(self.possible_causes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "confidence": self.confidence,
            "title": self.title,
            "summary": self.summary,
            "fix": list(self.fix),
            "owner": self.owner,
            "excerpt": self.excerpt,
            "possible_causes": list(self.possible_causes),
            "live_check_hint": self.live_check_hint,
        }


@dataclass(frozen=True)
class Explanation:
    """What a paste means.

    Attributes:
        matches: recognised problems, most certain first (empty when nothing matched).
        extracted: canvas_url (normalised origin), client_id, redirect_uri,
            error_report_id, request_context_id, canvas_url_as_shown (the URL exactly as
            Badgr's preauthorization notice shows it); each None when not found.
        redacted_text: the paste with tokens, secrets, hints and cookies replaced by
            ``[redacted]`` (and a note when a huge paste was cut).
        next_steps: what to do next: general advice when nothing matched, otherwise the
            live check, the preauthorization request or the report id to quote.
    """

    matches: tuple[Match, ...]
    extracted: Mapping[str, str | None] = field(default_factory=dict)
    redacted_text: str = ""
    next_steps: tuple[str, ...] = ()

    @property
    def recognised(self) -> bool:
        return bool(self.matches)

    @property
    def top(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def codes(self) -> list[str]:
        return [m.code for m in self.matches]

    def to_dict(self) -> dict[str, Any]:
        """The explain JSON contract of DESIGN.md (plus possible_causes, live_check_hint, next_steps)."""
        return {
            "matches": [m.to_dict() for m in self.matches],
            "extracted": {k: self.extracted.get(k) for k in _explain_extract.EXTRACTED_KEYS},
            "redacted_text": self.redacted_text,
            "next_steps": list(self.next_steps),
        }


INTERNAL_ERROR_STEPS = (
    "Connect Check could not read this text because of a problem on our side, not yours. "
    "Try pasting only the error message itself, or run the live check on your Canvas URL.",
) + NOT_RECOGNISED_STEPS[:3]


def explain(text: object) -> Explanation:
    """Explain a pasted error. Never raises; any input (empty, binary, huge) is accepted.

    A bug in the explainer is reported as such (and logged without the paste), never as
    something wrong with what was pasted; the paste is then not shown back at all, since
    it could not be redacted with certainty.
    """
    try:
        return _explain(text)
    except Exception as exc:  # our bug: say so, show nothing unredacted
        log.error("explain failed: %s", type(exc).__name__, exc_info=False)
        return Explanation(
            matches=(),
            extracted=dict.fromkeys(_explain_extract.EXTRACTED_KEYS),
            redacted_text="",
            next_steps=INTERNAL_ERROR_STEPS,
        )


def _explain(text: object) -> Explanation:
    raw, cut = _explain_unwrap.prepare(text)
    redacted = redact(raw)
    if cut:
        redacted += f"\n[... {cut} more characters not read]"
    views = _explain_unwrap.views(redacted)
    hits = _explain_rules.find_hits(views)
    matches, preauth = _ranked_matches(hits)
    extracted = _explain_extract.extract(views)
    if preauth is not None:
        shown, origin = _explain_extract.url_as_shown(preauth.view, preauth.start, preauth.end)
        extracted["canvas_url_as_shown"] = shown
        if origin:
            extracted["canvas_url"] = origin
    return Explanation(
        matches=tuple(matches),
        extracted=extracted,
        redacted_text=redacted,
        next_steps=_next_steps(matches, extracted),
    )


def _ranked_matches(hits: list[_explain_rules.Hit]) -> tuple[list[Match], _explain_rules.Hit | None]:
    by_code: dict[str, list[_explain_rules.Hit]] = {}
    for hit in hits:
        by_code.setdefault(hit.rule.code, []).append(hit)
    hints = _explain_rules.load()[1]
    reported = {code for code, group in by_code.items() if max(h.confidence for h in group) >= MIN_CONFIDENCE}
    ranked: list[tuple[float, float, Match]] = []
    preauth = None
    for code, group in by_code.items():
        best = max(group, key=lambda h: (h.confidence, h.view.name == "decoded", -h.relative_position))
        agreeing = len({id(h.rule) for h in group if h.confidence >= MIN_CONFIDENCE})
        confidence = round(min(0.99, best.confidence + 0.01 * max(0, agreeing - 1)), 2)
        if confidence < MIN_CONFIDENCE:
            continue
        try:
            entry = catalog.entry(code)
        except catalog.UnknownCode:  # a rule naming a code the catalog lacks: our bug, not the user's
            continue
        if code == "badgr.preauthorization_required":
            preauth = best
        causes = tuple(c for c in best.rule.possible_causes if c != code and c not in reported)
        match = Match(
            code=code,
            confidence=confidence,
            title=entry.title,
            summary=entry.summary,
            fix=entry.fix,
            owner=entry.owner,
            excerpt=_excerpt(best),
            possible_causes=causes,
            live_check_hint=hints.get(best.rule.hint) if best.rule.hint and causes else None,
            step=entry.step,
        )
        ranked.append((confidence, min(h.relative_position for h in group), match))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [m for _, _, m in ranked], preauth


def _excerpt(hit: _explain_rules.Hit) -> str:
    text = hit.view.text
    start, end = hit.start, min(hit.end, hit.start + _EXCERPT_MAX)
    lo = max(0, start - _EXCERPT_CONTEXT)
    hi = min(len(text), end + _EXCERPT_CONTEXT)
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    return ("..." if lo > 0 else "") + text[lo:hi].strip() + ("..." if hi < len(text) else "")


def _next_steps(matches: list[Match], extracted: Mapping[str, str | None]) -> tuple[str, ...]:
    if not matches:
        steps = list(NOT_RECOGNISED_STEPS)
        if extracted.get("canvas_url"):
            steps.insert(0, f"Run the live check on {extracted['canvas_url']}: it tests the server the way Badgr's servers connect to it.")
        if extracted.get("error_report_id"):
            steps.append(f"Canvas logged this as error report {extracted['error_report_id']}: quote it to your Canvas admin or Instructure support.")
        return tuple(steps)
    steps = []
    if any(m.code.startswith(_LIVE_CHECKABLE_AREAS) or m.code in _LIVE_CHECKABLE for m in matches):
        where = extracted.get("canvas_url") or "your Canvas URL"
        steps.append(f"Run the live check on {where} to confirm the cause and see the server as Badgr's servers see it.")
    if extracted.get("canvas_url_as_shown"):
        steps.append(
            f"Send Badgr support the Canvas URL exactly as the message shows it: {extracted['canvas_url_as_shown']} "
            "(the request page fills it in)."
        )
    if extracted.get("error_report_id"):
        steps.append(f"Canvas logged this as error report {extracted['error_report_id']}: quote it to your Canvas admin or Instructure support.")
    if extracted.get("request_context_id"):
        steps.append(f"Quote the request ID {extracted['request_context_id']} if you contact Instructure support: it finds this request in Canvas's logs.")
    return tuple(steps)


def render_text(expl: Explanation) -> str:
    """A plain-text rendering for people (the CLI's default output)."""
    lines: list[str] = []
    if not expl.matches:
        lines.append("Not recognised: nothing in this text matches an error Connect Check knows.")
    else:
        n = len(expl.matches)
        lines.append(f"Recognised {n} problem{'s' if n != 1 else ''}, most likely first:")
    for i, m in enumerate(expl.matches, 1):
        lines += [
            "",
            f"{i}. {m.title}",
            f"   code {m.code}, confidence {m.confidence:.0%}, fixed by: {m.owner_label}",
            f"   Matched: {m.excerpt}",
            f"   {m.summary}",
        ]
        if m.fix:
            lines.append("   Fix:")
            lines += [f"     {j}. {step}" for j, step in enumerate(m.fix, 1)]
        if m.possible_causes:
            lines.append("   The same message can also mean: " + ", ".join(_cause_title(c) for c in m.possible_causes))
        if m.live_check_hint:
            lines.append(f"   How to tell: {m.live_check_hint}")
    found = [(k, v) for k, v in expl.extracted.items() if v]
    if found:
        lines += ["", "Found in the text:"]
        lines += [f"   {_LABELS.get(k, k)}: {v}" for k, v in found]
    if expl.next_steps:
        lines += ["", "Next steps:"]
        lines += [f"   - {step}" for step in expl.next_steps]
    return "\n".join(lines) + "\n"


_LABELS = {
    "canvas_url": "Canvas URL",
    "canvas_url_as_shown": "Canvas URL as the message shows it",
    "client_id": "Developer Key ID (client_id)",
    "redirect_uri": "Redirect URI",
    "error_report_id": "Canvas error report ID",
    "request_context_id": "Request ID (X-Request-Context-Id)",
}


def _cause_title(code: str) -> str:
    try:
        return f"{catalog.entry(code).title} ({code})"
    except catalog.UnknownCode:
        return code
