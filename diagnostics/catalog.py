"""The one vocabulary: every finding code with its title, summary, fix steps and owner.

Checks, the explainer, the request builder and the pages all take their words from
``knowledge/catalog.toml`` through :func:`finding` and :func:`entry`, so a live probe and a
pasted error that mean the same thing read the same.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from .model import Finding, Status

CATALOG_PATH = Path(__file__).parent / "knowledge" / "catalog.toml"

OWNERS = ("canvas_admin", "network", "badgr_support", "tool", "browser", "none")
OWNER_LABELS = {
    "canvas_admin": "Canvas admin",
    "network": "Network / IT team",
    "badgr_support": "Badgr support",
    "tool": "Tool vendor",
    "browser": "The person's browser",
    "none": "Nobody",
}


@dataclass(frozen=True)
class Entry:
    """A catalog entry. ``status`` is the status a finding with this code normally has."""

    code: str
    status: Status
    step: str
    owner: str
    title: str
    summary: str
    fix: tuple[str, ...]
    links: tuple[str, ...]


class UnknownCode(KeyError):
    """A code that is not in the catalog: a bug in our code, never the user's fault."""


@lru_cache(maxsize=1)
def load() -> Mapping[str, Entry]:
    with CATALOG_PATH.open("rb") as fh:
        raw = tomllib.load(fh)
    return {code: _entry(code, body) for code, body in raw["codes"].items()}


def _entry(code: str, body: Mapping[str, Any]) -> Entry:
    return Entry(
        code=code,
        status=Status(body["status"]),
        step=body.get("step", code.split(".", 1)[0]),
        owner=body["owner"],
        title=body["title"].strip(),
        summary=" ".join(body["summary"].split()),
        fix=tuple(" ".join(step.split()) for step in body.get("fix", ())),
        links=tuple(body.get("links", ())),
    )


def entry(code: str) -> Entry:
    try:
        return load()[code]
    except KeyError:
        raise UnknownCode(code) from None


def finding(
    code: str,
    *,
    detail: str = "",
    evidence: Mapping[str, Any] | None = None,
    status: Status | None = None,
    elapsed_ms: int | None = None,
) -> Finding:
    """A Finding for ``code`` with the catalog's words and this run's detail and evidence."""
    e = entry(code)
    return Finding(
        code=code,
        status=status or e.status,
        title=e.title,
        summary=e.summary,
        fix=e.fix,
        owner=e.owner,
        step=e.step,
        detail=detail,
        evidence=dict(evidence or {}),
        elapsed_ms=elapsed_ms,
    )
