"""Abuse limits: the portal cannot be used to hammer a Canvas server.

- per browser session and per target origin (``portal/checking.py`` over
  ``diagnostics/ratelimit.py``), shared by every session of the process;
- batches: at most ``CONNECT_CHECK_RATE_BATCH`` per session, every address in a batch
  takes a turn of its target's limit, and never more than 50 checks at once
  (``diagnostics/batch.py``, ``python -m diagnostics batch --concurrency 1-50``).

Outcomes only: counts of allowed and refused events, the most checks seen in flight.
(That another session stays responsive during a 200-URL batch is shown in a real
browser: tests/e2e/test_batch_responsive.py.)
"""

from __future__ import annotations

import contextlib
import io
import threading

import pytest
from streamlit.testing.v1 import AppTest

from diagnostics import batch, cli
from diagnostics.ratelimit import RateLimiter
from diagnostics.runner import Options
from portal.checking import parse_rate
from tests.lab.fake_canvas import FakeCanvas
from tests.test_portal_pages import APP, TIMEOUT, app, keys, lab_env, no_exception


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ----------------------------------------------------------------------------- the limiter


def test_limiter_counts_each_key_apart_and_slides():
    clock = Clock()
    limiter = RateLimiter(3, 60, clock=clock)
    assert [bool(limiter.hit("session-a")) for _ in range(5)] == [True, True, True, False, False]
    assert limiter.hit("session-b"), "another key has its own budget"
    refused = limiter.hit("session-a")
    assert not refused and 0 < refused.retry_after <= 60
    clock.now += 60.0
    assert limiter.hit("session-a"), "the window slid"


def test_limiter_check_records_nothing():
    limiter = RateLimiter(1, 60, clock=Clock())
    assert all(limiter.check("t") for _ in range(10))
    assert limiter.hit("t") and not limiter.hit("t")


def test_limiter_memory_is_bounded():
    limiter = RateLimiter(1, 60, clock=Clock(), max_keys=100)
    for i in range(10_000):
        limiter.hit(f"https://school{i}.example.edu")
    assert len(limiter._events) == 100  # noqa: SLF001 - the bound is the point


def test_limiter_is_thread_safe():
    limiter = RateLimiter(500, 60)
    allowed = []

    def worker():
        allowed.extend(bool(limiter.hit("same")) for _ in range(200))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 500


@pytest.mark.parametrize("text, expected", [("10/60", (10, 60.0)), ("3", (3, 60.0)), ("0/60", (7, 9.0)),
                                            ("x/y", (7, 9.0)), ("", (7, 9.0)), ("5/-1", (7, 9.0))])
def test_parse_rate(text, expected):
    assert parse_rate(text, (7, 9.0)) == expected


# ----------------------------------------------------------------------------- the batch cap


def _tracking(monkeypatch, cap: int):
    """Replace the per-URL run with one that records how many run at once; each run waits
    (bounded) until ``cap`` are in flight, so the maximum is reached whenever allowed."""
    lock = threading.Lock()
    state = {"active": 0, "max": 0, "runs": 0}
    full = threading.Event()

    def fake(url, options, policy, gate=None):
        with lock:
            state["active"] += 1
            state["runs"] += 1
            state["max"] = max(state["max"], state["active"])
            if state["active"] >= cap:
                full.set()
        full.wait(timeout=2)
        with lock:
            state["active"] -= 1
        return batch.row_for(url, error="not run")

    monkeypatch.setattr(batch, "_run_one", fake)
    return state


@pytest.mark.parametrize("asked, urls, expected", [(1, 5, 1), (4, 20, 4), (10_000, 120, 50), (0, 5, 1), (-3, 5, 1)])
def test_batch_never_runs_more_than_the_cap(monkeypatch, asked, urls, expected):
    state = _tracking(monkeypatch, expected)
    rows = batch.run_batch([f"school{i}.example.edu" for i in range(urls)], concurrency=asked, options=Options())
    assert len(rows) == urls and state["runs"] == urls
    assert state["max"] == expected


def test_batch_gate_skips_without_contacting(monkeypatch):
    asked: list[str] = []

    def gate(origin: str) -> str | None:
        asked.append(origin)
        return "Skipped: checked too often."

    rows = batch.run_batch(["a.example.edu", "https://b.example.edu/courses/1", "ftp://c.example.edu"],
                           concurrency=2, options=Options(), gate=gate)
    assert [r["verdict"] for r in rows] == ["rate_limited", "rate_limited", "invalid"]
    assert sorted(asked) == ["https://a.example.edu", "https://b.example.edu"]
    assert all(r["elapsed_ms"] is None for r in rows), "nothing was run"


@pytest.mark.parametrize("value", ["0", "51", "-1", "1000"])
def test_cli_concurrency_outside_1_to_50_is_refused(tmp_path, value):
    listing = tmp_path / "urls.txt"
    listing.write_text("a.example.edu\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["batch", str(listing), "--concurrency", value], stdin=io.StringIO(), stdout=io.StringIO())
    assert code == 2
    assert err.getvalue().strip() == "error: --concurrency must be between 1 and 50"


def test_cli_concurrency_reaches_the_runner(tmp_path, monkeypatch):
    seen = {}

    def fake_run_batch(urls, concurrency, policy, options, **kw):
        seen["concurrency"] = concurrency
        return [batch.row_for(u, error="not run") for u in urls]

    monkeypatch.setattr(batch, "run_batch", fake_run_batch)
    listing = tmp_path / "urls.txt"
    listing.write_text("a.example.edu\nb.example.edu\n")
    with contextlib.redirect_stderr(io.StringIO()):
        cli.main(["batch", str(listing), "--concurrency", "50"], stdin=io.StringIO(), stdout=io.StringIO())
    assert seen["concurrency"] == 50


# ----------------------------------------------------------------------------- the portal


def _second_session() -> AppTest:
    """Another browser session of the same process (shares the limits; no cache reset)."""
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def _check(at: AppTest, url: str) -> AppTest:
    at.text_input(key="check_url").input(url)
    at.button[0].click().run()
    no_exception(at)
    return at


def _refused(at: AppTest, words: str) -> bool:
    return any(words in w.value for w in at.warning)


def test_per_session_limit_leaves_other_sessions_alone(monkeypatch, tmp_path, canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    a = app(monkeypatch, tmp_path, rate_session="2/600", rate_target="100/600", **lab_env(lab))
    a.run()
    _check(a, lab.url)
    assert "verdict-ready" in keys(a)
    a.button(key="check_again").click().run()  # fresh run: the second of two
    assert not _refused(a, "several checks")
    a.button(key="check_again").click().run()  # the third within the window
    assert _refused(a, "You have run several checks")
    requests_before = len(lab.server.requests)
    a.button(key="check_again").click().run()
    assert _refused(a, "You have run several checks")
    assert len(lab.server.requests) == requests_before, "a refused check contacts nothing"

    b = _second_session()
    b.run()
    _check(b, lab.url + "/courses/2")  # not the cached input: a real run
    assert not _refused(b, "several checks") and "verdict-ready" in keys(b)


def test_per_target_limit_spans_sessions(monkeypatch, tmp_path, canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    a = app(monkeypatch, tmp_path, rate_session="100/600", rate_target="2/600", **lab_env(lab))
    a.run()
    _check(a, lab.url)
    a.button(key="check_again").click().run()
    assert not _refused(a, "checked several times")

    b = _second_session()
    b.run()
    requests_before = len(lab.server.requests)
    _check(b, lab.url + "/courses/3")  # the same server, typed differently: no cache hit
    assert _refused(b, "has been checked several times")
    assert len(lab.server.requests) == requests_before, "the refused check contacted nothing"


def test_support_batches_are_limited_per_session_and_per_target(monkeypatch, tmp_path, canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    at = app(monkeypatch, tmp_path, rate_target="1/600", CONNECT_CHECK_RATE_BATCH="2/600", **lab_env(lab))
    at.switch_page("pages/support.py").run()
    at.text_area(key="support_text").input(f"url\n{lab.url}\n")
    at.button[1].click().run()  # batch 1: the target's one turn
    no_exception(at)
    assert [r["verdict"] for r in at.session_state["support_rows"]] == ["ready"]
    at.button[1].click().run()  # batch 2: allowed, but the target is over its limit
    no_exception(at)
    [row] = at.session_state["support_rows"]
    assert row["verdict"] == "rate_limited" and row["elapsed_ms"] is None
    at.button[1].click().run()  # batch 3: this session is over its batch limit
    no_exception(at)
    assert _refused(at, "several batches")


def test_expired_snapshots_leave_the_disk_when_new_ones_arrive(tmp_path):
    import datetime as dt

    from diagnostics.store import SnapshotStore

    now = {"t": dt.datetime(2026, 12, 4, tzinfo=dt.timezone.utc)}
    store = SnapshotStore(tmp_path / "reports.sqlite3", days=30, clock=lambda: now["t"])
    old = store.save({"schema": 1})
    now["t"] += dt.timedelta(days=30, seconds=1)
    store.save({"schema": 1})
    import sqlite3

    with sqlite3.connect(tmp_path / "reports.sqlite3") as db:
        ids = [r[0] for r in db.execute("SELECT id FROM snapshots")]
    assert old.id not in ids and len(ids) == 1
