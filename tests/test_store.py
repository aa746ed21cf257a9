"""Snapshot store: unguessable ids, expiry, scrubbing, configuration from the environment."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading

import pytest

from diagnostics import catalog
from diagnostics.model import Hosting, Report, TargetInfo
from diagnostics.share import REPORT_ID_RE
from diagnostics.store import DEFAULT_DAYS, SnapshotStore, default_store, scrub

SECRET = "Zx9" + "k" * 61  # 64 characters, like a Developer Key secret


def sample_report(**extras) -> dict:
    findings = (
        catalog.finding("dns.resolved", elapsed_ms=3),
        catalog.finding("tls.incomplete_chain", detail="The intermediate is missing.", elapsed_ms=41,
                        evidence={"headers": {"Set-Cookie": "_session=abc", "X-Canvas-Meta": "a=1"}}),
    )
    return Report(
        target=TargetInfo("https://admin:pw@canvas.example.edu/courses/1?login_hint=42", "https://canvas.example.edu",
                          "canvas.example.edu", 443),
        started_at="2026-12-04T10:00:00Z", elapsed_ms=812, hosting=Hosting("self_hosted"), findings=findings,
        extras={"fixed_chain_pem": "-----BEGIN CERTIFICATE-----\n" + "A" * 64 + "\n-----END CERTIFICATE-----\n",
                **extras},
    ).to_dict()


class Clock:
    def __init__(self):
        self.now = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    return SnapshotStore(tmp_path / "nested" / "reports.sqlite3", clock=clock)


def test_save_and_load_round_trip(store):
    report = sample_report()
    snap = store.save(report, meta={"params": {"url": "https://canvas.example.edu"}})
    assert REPORT_ID_RE.match(snap.id) and len(snap.id) >= 22
    loaded = store.load(snap.id)
    assert loaded is not None
    assert loaded.report["findings"] == snap.report["findings"]
    assert loaded.created_at == "2026-12-04T10:00:00Z"
    assert loaded.expires_at == "2027-01-03T10:00:00Z"  # 30 days
    assert loaded.meta == {"params": {"url": "https://canvas.example.edu"}}
    # Still a valid report for the renderer
    assert Report.from_dict(loaded.report).verdict.value == "blocked"


def test_ids_are_unguessable_and_distinct(store):
    ids = {store.save(sample_report()).id for _ in range(50)}
    assert len(ids) == 50


def test_expiry(store, clock):
    snap = store.save(sample_report())
    clock.now += dt.timedelta(days=DEFAULT_DAYS - 1)
    assert store.load(snap.id) is not None
    clock.now += dt.timedelta(days=1, seconds=1)
    assert store.load(snap.id) is None
    assert store.purge_expired() == 1


@pytest.mark.parametrize("bad", ["", "short", "../../etc/passwd", "x' OR '1'='1", None, 42, "A" * 200])
def test_malformed_ids_are_not_found(store, bad):
    store.save(sample_report())
    assert store.load(bad) is None


def test_unknown_id_and_missing_file(tmp_path):
    s = SnapshotStore(tmp_path / "none.sqlite3")
    assert s.load("A" * 24) is None
    assert not (tmp_path / "none.sqlite3").exists()  # reading never creates the file


def test_nothing_secret_is_written(store, tmp_path):
    report = sample_report()
    report["extras"]["client_secret"] = SECRET
    report["findings"][0]["evidence"] = {"secret": SECRET, "Authorization": "Bearer " + SECRET, "ok": "kept"}
    meta = {"paste": f"token {SECRET} and login_hint=99 eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk",
            "browser_check": {"cookies": {"third_party": "blocked by default"}}}
    snap = store.save(report, meta=meta)
    raw = sqlite3.connect(store.path).execute("SELECT body FROM snapshots").fetchone()[0]
    for secret in (SECRET, "hunter2", "admin:pw", "login_hint=42", "login_hint=99", "_session=abc", "eyJhbGci"):
        assert secret not in raw, secret
    body = json.loads(raw)
    assert body["report"]["target"]["input"] == "https://canvas.example.edu/courses/1"
    assert body["report"]["findings"][0]["evidence"] == {"ok": "kept"}
    assert body["report"]["findings"][1]["evidence"]["headers"] == {"X-Canvas-Meta": "a=1"}
    # certificates are public and must survive intact (a 64-character base64 line is not a secret)
    assert "A" * 64 in body["report"]["extras"]["fixed_chain_pem"]
    assert body["meta"]["browser_check"] == {"cookies": {"third_party": "blocked by default"}}
    assert snap.meta["paste"].count("[redacted]") >= 1


def test_scrub_is_a_copy():
    data = {"a": {"secret": "x", "b": [1, {"password": "y"}]}}
    assert scrub(data) == {"a": {"b": [1, {}]}}
    assert data["a"]["secret"] == "x"


def test_too_large_is_refused(store):
    report = sample_report(blob="x" * (3 * 1024 * 1024))
    with pytest.raises(ValueError):
        store.save(report)


def test_concurrent_saves(store):
    ids: list[str] = []

    def work():
        for _ in range(10):
            ids.append(store.save(sample_report()).id)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 40
    assert all(store.load(i) is not None for i in ids)


def test_default_store_from_environment(tmp_path):
    s = default_store({"CONNECT_CHECK_STORE": str(tmp_path / "x.sqlite3"), "CONNECT_CHECK_STORE_DAYS": "7"})
    assert s.path == tmp_path / "x.sqlite3" and s.days == 7
    s = default_store({"CONNECT_CHECK_STORE_DAYS": "soon"})
    assert str(s.path).endswith("data/reports.sqlite3") and s.days == DEFAULT_DAYS
