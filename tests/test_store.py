"""Snapshot store: unguessable ids, expiry, scrubbing, configuration from the environment.

Every behavioural test runs against both backends: the SQLite file and a real PostgreSQL
server (tests/lab/fx_postgres.py). What only PostgreSQL has (replicas, outages, the URL's
password) is in test_store_postgres.py.
"""

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
from diagnostics.store_postgres import PostgresSnapshotStore

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


class SqliteBackend:
    def __init__(self, tmp_path):
        self.path = tmp_path / "nested" / "reports.sqlite3"

    def make(self, **kw) -> SnapshotStore:
        return SnapshotStore(self.path, **kw)

    def raw_rows(self) -> list[str]:
        """Every stored row as the database holds it, all columns as text."""
        with sqlite3.connect(self.path) as db:
            return ["|".join(map(str, r)) for r in db.execute("SELECT id, created_at, expires_at, kind, body "
                                                              "FROM snapshots")]

    def raw_bodies(self) -> list[str]:
        with sqlite3.connect(self.path) as db:
            return [r[0] for r in db.execute("SELECT body FROM snapshots")]


class PostgresBackend:
    def __init__(self, url):
        self.url = url

    def make(self, **kw) -> PostgresSnapshotStore:
        return PostgresSnapshotStore(self.url, **kw)

    def _query(self, statement: str) -> list[str]:
        import psycopg

        with psycopg.connect(self.url) as conn:
            return [r[0] for r in conn.execute(statement)]

    def raw_rows(self) -> list[str]:
        return self._query("SELECT s::text FROM connect_check_snapshots s")

    def raw_bodies(self) -> list[str]:
        return self._query("SELECT body FROM connect_check_snapshots")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        return SqliteBackend(tmp_path)
    return PostgresBackend(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(backend, clock):
    return backend.make(clock=clock)


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
    assert s.purge_expired() == 0
    assert not (tmp_path / "none.sqlite3").exists()  # reading never creates the file


def test_unknown_id_in_an_empty_store(backend):
    s = backend.make()
    assert s.load("A" * 24) is None
    assert s.purge_expired() == 0
    s.save(sample_report())
    assert s.load("B" * 24) is None


def test_nothing_secret_is_written(store, backend):
    report = sample_report()
    report["extras"]["client_secret"] = SECRET
    report["findings"][0]["evidence"] = {"secret": SECRET, "Authorization": "Bearer " + SECRET, "ok": "kept"}
    meta = {"paste": f"token {SECRET} and login_hint=99 eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk",
            "browser_check": {"cookies": {"third_party": "blocked by default"}}}
    snap = store.save(report, meta=meta)
    [raw] = backend.raw_bodies()
    [row] = backend.raw_rows()
    for secret in (SECRET, "hunter2", "admin:pw", "login_hint=42", "login_hint=99", "_session=abc", "eyJhbGci"):
        assert secret not in raw, secret
        assert secret not in row, secret
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
    assert isinstance(s, SnapshotStore) and s.path == tmp_path / "x.sqlite3" and s.days == 7
    s = default_store({"CONNECT_CHECK_STORE_DAYS": "soon"})
    assert str(s.path).endswith("data/reports.sqlite3") and s.days == DEFAULT_DAYS


@pytest.mark.parametrize("url", ["postgresql://cc:pw@db.internal/reports", "postgres://cc:pw@db.internal:6432/r",
                                 "PostgreSQL://cc@db.internal/reports?sslmode=require"])
def test_default_store_selects_postgres_for_a_url(url):
    s = default_store({"CONNECT_CHECK_STORE": url, "CONNECT_CHECK_STORE_DAYS": "7"})
    assert isinstance(s, PostgresSnapshotStore) and s.days == 7  # nothing connects until the first use
    assert "pw" not in s.where and "pw" not in repr(s) and "sslmode" not in s.where
    assert s.where.startswith(url.split(":")[0].lower() + "://cc@db.internal")


@pytest.mark.parametrize("path", ["reports.sqlite3", "/var/lib/cc/reports.db", "sqlite:///x.db", "postgresql.db"])
def test_default_store_keeps_sqlite_for_anything_else(path):
    s = default_store({"CONNECT_CHECK_STORE": path})
    assert isinstance(s, SnapshotStore) and str(s.path) == str(SnapshotStore(path).path)
