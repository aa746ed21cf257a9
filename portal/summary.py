"""Plain-Python views of a report for the pages: verdict text, grouping, Markdown, diff.

Nothing here imports streamlit, so pytest checks it directly. Every function takes the
report as the plain dict the pages keep in session state (the Report JSON contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from diagnostics.catalog import OWNER_LABELS
from diagnostics.model import STEP_TITLES, STEPS, Report, Status

__all__ = ["STATUS_ICONS", "STATUS_LABELS", "VerdictView", "verdict_view", "group_by_step", "markdown_summary",
           "ReportDiff", "diff_reports", "owner_label", "container_key", "report_filename"]

# Material Symbols ship with Streamlit (no emoji font or CDN needed); colours via Markdown.
STATUS_ICONS = {
    "pass": ":green[:material/check_circle:]",
    "info": ":blue[:material/info:]",
    "warn": ":orange[:material/warning:]",
    "fail": ":red[:material/cancel:]",
    "skip": ":gray[:material/skip_next:]",
    "error": ":violet[:material/build:]",
}
STATUS_LABELS = {"pass": "Passed", "info": "Info", "warn": "Warning", "fail": "Failed", "skip": "Skipped",
                 "error": "Could not run"}
_PROBLEM = ("fail", "error", "warn")


def container_key(prefix: str, code: str) -> str:
    """``finding-tls-incomplete_chain``: the stable hook browser tests look for."""
    return f"{prefix}-{code.replace('.', '-')}"


def owner_label(owner: str) -> str:
    return OWNER_LABELS.get(owner, owner.replace("_", " ").capitalize())


@dataclass(frozen=True)
class VerdictView:
    """What the banner says.

    Attributes:
        verdict: ready, action_needed or blocked.
        headline: "Ready", "Action needed (2 things to fix)" or "Blocked".
        sentence: one plain sentence about what it means for Badgr.
        next_step: the single most important thing to do now, or "" when ready.
        next_owner: who does it (a label), or "".
        problems: how many findings need attention (fail, error, warn).
    """

    verdict: str
    headline: str
    sentence: str
    next_step: str
    next_owner: str
    problems: int


def verdict_view(report: Mapping[str, Any]) -> VerdictView:
    r = Report.from_dict(report)
    verdict = r.verdict.value
    problems = r.problems()
    to_fix = [f for f in problems if f.status in (Status.FAIL, Status.ERROR)] or problems
    first = problems[0] if problems else None
    next_step = (first.fix[0] if first is not None and first.fix else (first.title if first else ""))
    next_owner = owner_label(first.owner) if first is not None and first.owner != "none" else ""
    host = r.target.host
    if verdict == "blocked":
        headline = "Blocked"
        sentence = f"Badgr's servers cannot connect to {host} securely yet. Fix this first:"
    elif verdict == "action_needed":
        n = len(to_fix)
        headline = f"Action needed ({n} thing{'s' if n != 1 else ''} to fix)"
        sentence = f"Badgr can reach {host}, but {'this needs' if n == 1 else 'these need'} fixing before it will work:"
    else:
        headline = "Ready"
        warn = [f for f in problems if f.status == Status.WARN]
        sentence = (f"Badgr's servers can reach and trust {host}."
                    + (f" {len(warn)} warning{'s' if len(warn) != 1 else ''} below deserve a look." if warn else ""))
        if not warn:
            next_step, next_owner = "", ""
    return VerdictView(verdict, headline, sentence, next_step, next_owner, len(problems))


def group_by_step(findings: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, list[Mapping[str, Any]]]]:
    """``[(step, title, findings)]`` in the reading order of model.STEPS (unknown steps last)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        groups.setdefault(str(f.get("step") or "general"), []).append(f)
    order = [s for s, _ in STEPS] + sorted(s for s in groups if s not in STEP_TITLES)
    return [(s, STEP_TITLES.get(s, s.replace("_", " ").title()), groups[s]) for s in order if s in groups]


def report_filename(report: Mapping[str, Any], ext: str) -> str:
    host = str(report.get("target", {}).get("host", "canvas")).replace(":", "_")
    day = str(report.get("started_at", ""))[:10] or "report"
    return f"connect-check-{host}-{day}.{ext}"


def markdown_summary(report: Mapping[str, Any], *, share_link: str | None = None,
                     browser_check: Mapping[str, Any] | None = None) -> str:
    """A Markdown summary to paste into a ticket or an email."""
    r = Report.from_dict(report)
    v = verdict_view(report)
    lines = [
        f"# Connect Check: {r.target.origin}",
        "",
        f"- Checked: {r.started_at} ({r.elapsed_ms} ms)",
        f"- Verdict: **{v.headline}** - {v.sentence}",
        f"- Hosting: {r.hosting.kind}" + (f" ({r.hosting.environment})" if r.hosting.environment else ""),
    ]
    if v.next_step:
        lines.append(f"- Next step: {v.next_step}" + (f" ({v.next_owner})" if v.next_owner else ""))
    if share_link:
        lines.append(f"- Link: {share_link}")
    for _step, title, items in group_by_step(report.get("findings", [])):
        lines += ["", f"## {title}", ""]
        for f in items:
            status = str(f.get("status"))
            lines.append(f"- **{STATUS_LABELS.get(status, status)}** `{f.get('code')}` - {f.get('title')}")
            if f.get("detail"):
                lines.append(f"  - {f.get('detail')}")
            if status in _PROBLEM:
                for step in f.get("fix") or []:
                    lines.append(f"  - Fix: {step}")
                lines.append(f"  - Who: {owner_label(str(f.get('owner', '')))}")
    if browser_check and browser_check.get("summary_lines"):
        lines += ["", "## Browser self-check", ""]
        lines += [f"- {line}" for line in browser_check["summary_lines"]]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ReportDiff:
    """Problem codes of a saved report against a new run.

    Attributes:
        fixed: problems in the saved report that the new run no longer has.
        new: problems the new run has that the saved report did not.
        unchanged: problems in both.
        verdict_before / verdict_after: the two verdicts.
    """

    fixed: tuple[str, ...]
    new: tuple[str, ...]
    unchanged: tuple[str, ...]
    verdict_before: str
    verdict_after: str

    @property
    def changed(self) -> bool:
        return bool(self.fixed or self.new) or self.verdict_before != self.verdict_after


def _problem_codes(report: Mapping[str, Any]) -> list[str]:
    return [str(f["code"]) for f in report.get("findings", []) if f.get("status") in _PROBLEM]


def diff_reports(before: Mapping[str, Any], after: Mapping[str, Any]) -> ReportDiff:
    old, new = _problem_codes(before), _problem_codes(after)
    return ReportDiff(
        fixed=tuple(c for c in old if c not in new),
        new=tuple(c for c in new if c not in old),
        unchanged=tuple(c for c in old if c in new),
        verdict_before=str(before.get("verdict", Report.from_dict(before).verdict.value)),
        verdict_after=str(after.get("verdict", Report.from_dict(after).verdict.value)),
    )
