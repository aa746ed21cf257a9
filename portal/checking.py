"""Running a check from a page: short cache, rate limits, live streaming into st.status.

Shared across all sessions of this process (``st.cache_resource``): one cache of
finished reports (identical checks within a minute are answered from it), one limiter
per browser session and one per target origin, so the portal cannot be used to hammer a
Canvas server. The limits are read from ``CONNECT_CHECK_RATE_SESSION`` and
``CONNECT_CHECK_RATE_TARGET`` ("N/SECONDS", default 10/60 and 6/60). Batches on the
Support page count too: at most ``CONNECT_CHECK_RATE_BATCH`` batches per session
(default 3/600), and every address in a batch takes a turn of its target's limit (an
address over it is skipped, not contacted).

A run that verifies a secret (``Options.secret``) bypasses the cache both ways: it is
never answered from an earlier run (the secret must really be tried) and its report is
never put in the cache (another session must not see the outcome of someone's secret).
"""

from __future__ import annotations

import copy
import os
import secrets
from dataclasses import dataclass
from typing import Any

import streamlit as st

from diagnostics.model import STEP_TITLES, Finding, Report
from diagnostics.net import NetPolicy
from diagnostics.ratelimit import RateLimiter, TTLCache
from diagnostics.runner import Options, stream_check
from diagnostics.target import Target

from . import render, state

__all__ = ["CACHE_SECONDS", "Outcome", "run_check_live", "session_id", "limits", "parse_rate", "batch_turn",
           "batch_gate"]

CACHE_SECONDS = 60.0


def parse_rate(text: str | None, default: tuple[int, float]) -> tuple[int, float]:
    """``"10/60"`` -> (10, 60.0); anything unusable -> ``default``."""
    try:
        n, _, window = (text or "").partition("/")
        limit, seconds = int(n), float(window or 60)
        return (limit, seconds) if limit >= 1 and seconds > 0 else default
    except ValueError:
        return default


@dataclass
class _Shared:
    cache: TTLCache[dict[str, Any]]
    per_session: RateLimiter
    per_target: RateLimiter
    batches: RateLimiter


@st.cache_resource(show_spinner=False)
def limits() -> _Shared:
    s_limit, s_window = parse_rate(os.environ.get("CONNECT_CHECK_RATE_SESSION"), (10, 60.0))
    t_limit, t_window = parse_rate(os.environ.get("CONNECT_CHECK_RATE_TARGET"), (6, 60.0))
    b_limit, b_window = parse_rate(os.environ.get("CONNECT_CHECK_RATE_BATCH"), (3, 600.0))
    return _Shared(TTLCache(CACHE_SECONDS), RateLimiter(s_limit, s_window), RateLimiter(t_limit, t_window),
                   RateLimiter(b_limit, b_window))


def batch_turn() -> str | None:
    """Take this session's turn for a batch: None when allowed, else the polite sentence."""
    decision = limits().batches.hit(session_id())
    if decision:
        return None
    wait = max(1, round(decision.retry_after / 60))
    return (f"You have run several batches in a short time. To be gentle with Canvas servers, please wait "
            f"about {wait} minute{'s' if wait != 1 else ''} and try again.")


def batch_gate():
    """``gate(origin)`` for :func:`diagnostics.batch.run_batch`: each address takes a turn of
    its target's limit (thread-safe; built here, called from the batch's worker threads)."""
    per_target = limits().per_target

    def gate(origin: str) -> str | None:
        if per_target.hit(origin):
            return None
        return "Skipped: this server was checked several times in the last minute; try it again later."

    return gate


def session_id() -> str:
    """A random id for this browser session (for the per-session limit only)."""
    if state.SESSION_ID not in st.session_state:
        st.session_state[state.SESSION_ID] = secrets.token_hex(8)
    return st.session_state[state.SESSION_ID]


@dataclass(frozen=True)
class Outcome:
    """What happened when a page asked for a check.

    Attributes:
        report: the report dict, or None when the run was refused by a rate limit.
        cached_age: seconds since the cached answer was made, or None for a fresh run.
        wait: seconds to wait when refused, else 0.
        message: the polite sentence shown when refused, else "".
    """

    report: dict[str, Any] | None
    cached_age: float | None = None
    wait: float = 0.0
    message: str = ""


def _cache_key(target: Target, options: Options) -> tuple[Any, ...]:
    # The input as typed is part of it: input.* findings quote it.
    return (target.origin, target.input, options.cache_key())


def run_check_live(target: Target, options: Options, *, fresh: bool = False, label: str = "") -> Outcome:
    """Answer from the short cache, or run the check showing findings as they arrive."""
    shared = limits()
    key = _cache_key(target, options)
    cacheable = not options.secret
    if not fresh and cacheable:
        hit = shared.cache.get(key)
        if hit is not None:
            return Outcome(copy.deepcopy(hit.value), cached_age=hit.age)

    by_session = shared.per_session.check(session_id())
    if not by_session:
        wait = max(1, round(by_session.retry_after))
        return Outcome(None, wait=wait, message=(
            f"You have run several checks in a short time. To be gentle with Canvas servers, please wait about "
            f"{wait} seconds and try again."))
    by_target = shared.per_target.hit(target.origin)
    if not by_target:
        wait = max(1, round(by_target.retry_after))
        return Outcome(None, wait=wait, message=(
            f"{target.display_host or target.host} has been checked several times in the last minute (perhaps "
            f"by colleagues). To be gentle with it, please wait about {wait} seconds and try again."))
    shared.per_session.hit(session_id())

    report = _stream(target, options, label or f"Checking {target.origin} …")
    if cacheable:
        shared.cache.put(key, report)
    return Outcome(copy.deepcopy(report))


def _stream(target: Target, options: Options, label: str) -> dict[str, Any]:
    policy = NetPolicy.from_env()
    with st.status(label, expanded=True) as status:
        st.caption("Findings appear as each check finishes.")
        boxes = {step: st.container() for step in STEP_TITLES}
        shown: set[str] = set()
        report: Report | None = None
        count = 0
        for item in stream_check(target, options, policy):
            if isinstance(item, Finding):
                count += 1
                step = item.step if item.step in boxes else "general"
                with boxes[step]:
                    if step not in shown:
                        shown.add(step)
                        st.markdown(f"**{STEP_TITLES[step]}**")
                    render.finding_line(item.to_dict())
                status.update(label=f"{label} {count} finding{'s' if count != 1 else ''} so far", expanded=True)
            else:
                report = item
        assert report is not None  # stream_check always ends with the report
        status.update(label=f"Checked {target.origin} in {report.elapsed_ms / 1000:.1f} s", state="complete",
                      expanded=False)
    return report.to_dict()
