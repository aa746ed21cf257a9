"""Typed values that flow from the checks to the report and out as JSON.

Everything here is plain data (strings, ints, dicts, tuples): reports are pickled by
Streamlit's session state and cache, stored as snapshots and sent as JSON, so no library
object (certificates, sockets, exceptions) ever lives inside a Finding or a Report.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Iterable, Mapping

SCHEMA_VERSION = 1


class Status(str, Enum):
    """How a finding came out. `error` means the check itself could not run."""

    PASS = "pass"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class Verdict(str, Enum):
    READY = "ready"
    ACTION_NEEDED = "action_needed"
    BLOCKED = "blocked"


#: Steps in the order a person reads them; every finding code belongs to one step.
STEPS: tuple[tuple[str, str], ...] = (
    ("input", "Input"),
    ("address", "Address"),
    ("certificate", "Certificate"),
    ("canvas", "Canvas"),
    ("hosting", "Hosting"),
    ("developer_key", "Developer Key"),
    ("lti", "LTI"),
    ("badgr", "Badgr"),
    ("browser", "Browser"),
    ("api", "Canvas API"),
    ("general", "General"),
)
STEP_TITLES = dict(STEPS)


@dataclass(frozen=True)
class Finding:
    """One result of one check.

    Attributes:
        code: catalog code, ``area.name`` (see ``knowledge/catalog.toml``).
        status: how it came out.
        title: one line, from the catalog.
        summary: plain-language explanation, from the catalog.
        fix: ordered steps that fix it (empty for a pass), from the catalog.
        owner: who acts on it: canvas_admin, network, badgr_support, tool, browser.
        step: the step it is shown under (address, certificate, canvas, ...).
        detail: a sentence specific to this run ("expired on 2026-01-03"), or "".
        evidence: JSON-serialisable facts that decided it.
        elapsed_ms: how long the check that produced it took, or None when unknown.
    """

    code: str
    status: Status
    title: str
    summary: str
    fix: tuple[str, ...] = ()
    owner: str = "canvas_admin"
    step: str = "general"
    detail: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    elapsed_ms: int | None = None

    def with_elapsed(self, elapsed_ms: int) -> "Finding":
        return replace(self, elapsed_ms=elapsed_ms)

    @property
    def is_problem(self) -> bool:
        return self.status in (Status.FAIL, Status.WARN, Status.ERROR)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "status": self.status.value,
            "title": self.title,
            "summary": self.summary,
            "detail": self.detail,
            "fix": list(self.fix),
            "owner": self.owner,
            "step": self.step,
            "evidence": _plain(self.evidence),
            "elapsed_ms": self.elapsed_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Finding":
        return cls(
            code=str(data["code"]),
            status=Status(data["status"]),
            title=str(data.get("title", "")),
            summary=str(data.get("summary", "")),
            fix=tuple(str(s) for s in data.get("fix", ())),
            owner=str(data.get("owner", "canvas_admin")),
            step=str(data.get("step", "general")),
            detail=str(data.get("detail", "")),
            evidence=dict(data.get("evidence") or {}),
            elapsed_ms=data.get("elapsed_ms"),
        )


@dataclass(frozen=True)
class TargetInfo:
    """The normalised target as the report shows it."""

    input: str
    origin: str
    host: str
    port: int

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "origin": self.origin, "host": self.host, "port": self.port}


@dataclass(frozen=True)
class Hosting:
    """Who runs the instance. kind: instructure, self_hosted, not_canvas or unknown."""

    kind: str = "unknown"
    environment: str | None = None
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "environment": self.environment, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Report:
    """A whole run. ``verdict`` is derived from the findings, never stored twice.

    Attributes:
        target: what was checked.
        started_at: UTC start time, ISO 8601 with a Z.
        elapsed_ms: wall time of the run.
        hosting: hosting block (kind, environment, evidence).
        findings: every finding, passes included, in the order they completed.
        extras: plain data a check wants to hand to renderers, such as the corrected
            chain PEM (``fixed_chain_pem``) or the LTI platform values; never secrets.
    """

    target: TargetInfo
    started_at: str
    elapsed_ms: int
    hosting: Hosting = Hosting()
    findings: tuple[Finding, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return verdict_for(self.findings)

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def finding(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)

    def problems(self) -> list[Finding]:
        """Failed, then warned and errored findings: the things to fix, most severe first."""
        order = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2}
        return sorted((f for f in self.findings if f.is_problem), key=lambda f: order[f.status])

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "target": self.target.to_dict(),
            "started_at": self.started_at,
            "elapsed_ms": self.elapsed_ms,
            "verdict": self.verdict.value,
            "hosting": self.hosting.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "extras": _plain(self.extras),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Report":
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"unsupported report schema: {data.get('schema')!r}")
        t = data["target"]
        h = data.get("hosting") or {}
        return cls(
            target=TargetInfo(str(t["input"]), str(t["origin"]), str(t["host"]), int(t["port"])),
            started_at=str(data["started_at"]),
            elapsed_ms=int(data["elapsed_ms"]),
            hosting=Hosting(
                kind=str(h.get("kind", "unknown")),
                environment=h.get("environment"),
                evidence=tuple(str(e) for e in h.get("evidence", ())),
            ),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            extras=dict(data.get("extras") or {}),
        )

    @classmethod
    def from_json(cls, text: str) -> "Report":
        return cls.from_dict(json.loads(text))


#: Codes whose failure means Badgr cannot even talk to the server.
BLOCKING_CODES = frozenset(
    {
        "dns.not_found",
        "net.private_address",
        "net.connect_failed",
        "net.timeout",
        "net.port_not_allowed",
        "tls.handshake_failed",
        "tls.old_protocol",
        "tls.incomplete_chain",
        "tls.self_signed",
        "tls.untrusted_root",
        "tls.expired",
        "tls.not_yet_valid",
        "tls.hostname_mismatch",
        "tls.weak_signature",
        "tls.weak_key",
        "tls.chain_invalid",
    }
)


def verdict_for(findings: Iterable[Finding]) -> Verdict:
    """blocked: nothing reachable or TLS untrusted; action_needed: any fail; else ready."""
    findings = list(findings)
    if any(f.status == Status.FAIL and f.code in BLOCKING_CODES for f in findings):
        return Verdict.BLOCKED
    if any(f.status in (Status.FAIL, Status.ERROR) for f in findings):
        return Verdict.ACTION_NEEDED
    return Verdict.READY


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """Deep-copy into JSON-safe data (tuples become lists, unknown objects strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
