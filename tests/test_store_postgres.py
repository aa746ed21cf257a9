"""The PostgreSQL store: what SQLite cannot show.

The behaviour both backends share (round trip, ids, expiry, scrubbing, size cap,
concurrency) is tested over both in test_store.py. Here: replicas sharing one database,
the secret absent from the rows and from the server's files, the schema, and the
database's password, which must stay out of every error, log line and page even when
the database is down, refuses the password or never answers. The server is real
(tests/lab/fx_postgres.py).
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import traceback
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from diagnostics.store import SnapshotStore, StoreUnavailable, default_store
from diagnostics.store_postgres import TABLE, PostgresSnapshotStore, public_url
from portal.sharebox import STORE_UNAVAILABLE
from tests.test_portal_pages import app, keys, make_report, no_exception
from tests.test_secrets_everywhere import all_logs, logged, page_output  # noqa: F401  (fixture)
from tests.test_store import SECRET, Clock, sample_report


def rows(url: str, statement: str = f"SELECT s::text FROM {TABLE} s") -> list:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(statement)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once this socket closes


def assert_no_password(password: str, *texts: str) -> None:
    for spelling in {password, quote(password, safe=""), quote(password)}:
        for text in texts:
            assert spelling not in text


def error_texts(exc: BaseException) -> list[str]:
    """Everything a log line or a page could show of an exception."""
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(exc.args)]


# ----------------------------------------------------------------------------- replicas


def test_two_replicas_see_each_others_snapshots(postgres_url):
    a = default_store({"CONNECT_CHECK_STORE": postgres_url})
    b = default_store({"CONNECT_CHECK_STORE": postgres_url})
    assert isinstance(a, PostgresSnapshotStore) and a is not b
    from_a = a.save(sample_report(), meta={"params": {"url": "https://canvas.example.edu"}})
    from_b = b.save(sample_report(), meta={"note": "saved on b"})
    for store in (a, b):
        got_a, got_b = store.load(from_a.id), store.load(from_b.id)
        assert got_a == from_a and got_b == from_b  # same Snapshot, same dates, same scrubbed data
    assert len(rows(postgres_url)) == 2


def test_expiry_and_purge_across_replicas(postgres_url):
    clock = Clock()
    a = PostgresSnapshotStore(postgres_url, clock=clock, days=2)
    b = PostgresSnapshotStore(postgres_url, clock=clock, days=2)
    old = a.save(sample_report())
    clock.now += dt.timedelta(days=1)
    young = a.save(sample_report())
    clock.now += dt.timedelta(days=1, seconds=1)  # old is 1 s past its expiry, young has a day left
    assert b.load(old.id) is None and b.load(young.id) is not None
    assert len(rows(postgres_url)) == 2  # not served is not yet deleted...
    b.save(sample_report())  # ...a save on any replica deletes what has expired
    assert len(rows(postgres_url)) == 2 and a.load(young.id) is not None
    assert old.id not in "".join(rows(postgres_url))


def test_replicas_starting_together_create_the_schema_once(postgres_url):
    stores = [PostgresSnapshotStore(postgres_url) for _ in range(6)]
    ids, errors = [], []
    barrier = threading.Barrier(len(stores))

    def work(store):
        barrier.wait()
        try:
            ids.append(store.save(sample_report()).id)
        except Exception as exc:  # collected: an assert in a thread would be lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(ids)) == 6
    assert all(stores[0].load(i) is not None for i in ids)


def test_schema_is_created_if_missing(postgres_url):
    assert rows(postgres_url, f"SELECT to_regclass('{TABLE}')::text") == [None]
    store = PostgresSnapshotStore(postgres_url)
    assert store.load("A" * 24) is None  # reading creates the table (nothing else does)
    columns = rows(postgres_url, "SELECT column_name || ' ' || data_type FROM information_schema.columns "
                                 f"WHERE table_name = '{TABLE}' ORDER BY ordinal_position")
    assert columns == ["id text", "created_at timestamp with time zone", "expires_at timestamp with time zone",
                       "kind text", "body text"]
    assert f"{TABLE}_expiry" in rows(postgres_url, f"SELECT indexname FROM pg_indexes WHERE tablename = '{TABLE}'")
    snap = PostgresSnapshotStore(postgres_url).save(sample_report())  # a second store finds it there
    assert store.load(snap.id) is not None


def test_a_nul_character_in_evidence_is_stored(postgres_url):
    # A hostile server can put one in a header; JSONB would refuse it, TEXT holds its JSON escape.
    store = PostgresSnapshotStore(postgres_url)
    report = sample_report()
    report["findings"][0]["evidence"] = {"server": "evil\x00server"}
    snap = store.save(report)
    assert store.load(snap.id).report["findings"][0]["evidence"] == {"server": "evil\x00server"}


def test_ids_are_bound_not_interpolated(postgres_url):
    store = PostgresSnapshotStore(postgres_url)
    snap = store.save(sample_report())
    # An id that would be SQL if it were pasted into the statement (it passes the id shape check).
    sneaky = "x'--or-1-1-" + "A" * 12
    assert store.load(sneaky) is None and store.load(snap.id) is not None


# ----------------------------------------------------------------------------- secrets


def test_secret_is_absent_from_rows_and_from_the_servers_files(postgres_server, postgres_url):
    store = PostgresSnapshotStore(postgres_url)
    report = sample_report(client_secret=SECRET)
    report["findings"][0]["evidence"] = {"secret": SECRET, "Authorization": "Bearer " + SECRET}
    snap = store.save(report, meta={"secret": SECRET, "client_secret": SECRET, "note": f"key was {SECRET}",
                                    "paste": f'{{"client_secret":"{SECRET}"}}'})
    assert store.load(snap.id) is not None
    [row] = rows(postgres_url)
    assert snap.id in row and "canvas.example.edu" in row and SECRET not in row
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CHECKPOINT")  # everything on disk: tables and the write-ahead log
    on_disk = b"".join(p.read_bytes() for p in (postgres_server.root / "data").rglob("*") if p.is_file())
    assert snap.id.encode() in on_disk  # the positive control: the row is in these files
    assert SECRET.encode() not in on_disk


def test_password_is_not_in_where_or_repr(postgres_server, postgres_url):
    store = PostgresSnapshotStore(postgres_url + "?sslmode=disable&password=" + quote(postgres_server.password))
    assert store.where == public_url(postgres_url) and store.where.startswith("postgresql://connect_check@127.0.0.1:")
    assert_no_password(postgres_server.password, store.where, repr(store), str(vars(store).get("where")))
    assert store.load(store.save(sample_report()).id) is not None  # the password in the query works too


# ----------------------------------------------------------------------------- outages


def _failing(url: str, password: str, all_logs) -> StoreUnavailable:
    store = default_store({"CONNECT_CHECK_STORE": url})
    with pytest.raises(StoreUnavailable) as info:
        store.save(sample_report())
    with pytest.raises(StoreUnavailable):
        store.load("A" * 24)
    with pytest.raises(StoreUnavailable):
        store.purge_expired()
    exc = info.value
    assert exc.where == public_url(url) and exc.where in str(exc)
    assert exc.__cause__ is None and exc.__suppress_context__  # the driver's exception is not shown
    assert_no_password(password, *error_texts(exc), logged(all_logs))
    return exc


def test_database_down_is_a_clear_error_without_the_password(postgres_server, all_logs):
    url = postgres_server.url("reports", port=closed_port())
    exc = _failing(url, postgres_server.password, all_logs)
    assert "unavailable" in str(exc) and "refused" in exc.reason.lower()


def test_wrong_password_is_a_clear_error_without_either_password(postgres_server, all_logs):
    wrong = "Wr0ng:/@%" + postgres_server.password[-6:]
    url = postgres_server.url("postgres", password=wrong)
    exc = _failing(url, wrong, all_logs)
    assert "password authentication failed" in exc.reason
    assert_no_password(postgres_server.password, *error_texts(exc))


def test_malformed_url_does_not_echo_the_password(all_logs):
    password = "s3cr%zzet"  # not valid percent-encoding: libpq's own message would quote it
    exc = _failing(f"postgresql://cc:{password}@127.0.0.1:1/db", password, all_logs)
    assert "not a valid PostgreSQL URL" in exc.reason


def test_a_database_that_never_answers_times_out(postgres_server, all_logs):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does) and never says a word
    try:
        url = postgres_server.url("reports", port=silent.getsockname()[1]) + "?connect_timeout=2"
        exc = _failing(url, postgres_server.password, all_logs)
        assert "timeout" in exc.reason.lower()
    finally:
        silent.close()


# ----------------------------------------------------------------------------- the portal


def test_portal_replicas_share_a_permalink(monkeypatch, tmp_path, postgres_url):
    one = app(monkeypatch, tmp_path, CONNECT_CHECK_STORE=postgres_url)
    one.session_state["check_report"] = make_report()
    one.session_state["check_meta"] = {"params": {"url": "https://canvas.lab.test"}, "cached_age": None}
    one.run()
    one.button(key="share-save").click().run()
    no_exception(one)
    report_id = one.session_state["check_saved"]["id"]
    assert any(f"report={report_id}" in c.value for c in one.code)
    assert not (tmp_path / "reports.sqlite3").exists()  # it went to PostgreSQL, not a local file

    # Another replica: another process (fresh cached resources) and another data directory.
    other = app(monkeypatch, tmp_path / "elsewhere", CONNECT_CHECK_STORE=postgres_url)
    other.query_params["report"] = report_id
    other.run()
    no_exception(other)
    assert any("checked on 2026-12-04 10:00:00 UTC" in i.value for i in other.info)
    assert "verdict-blocked" in keys(other) and "finding-tls-incomplete_chain" in keys(other)


def test_portal_with_the_database_down(monkeypatch, tmp_path, postgres_server, all_logs):
    url = postgres_server.url("reports", port=closed_port())
    at = app(monkeypatch, tmp_path, CONNECT_CHECK_STORE=url)
    at.session_state["check_report"] = make_report()
    at.session_state["check_meta"] = {"params": {"url": "https://canvas.lab.test"}, "cached_age": None}
    at.run()
    no_exception(at)  # opening the store (its purge) did not break the page
    at.button(key="share-save").click().run()
    no_exception(at)
    assert "The report could not be saved right now. You can still download it below." in [e.value for e in at.error]
    assert "check_saved" not in at.session_state
    saving = page_output(at)

    opening = app(monkeypatch, tmp_path, CONNECT_CHECK_STORE=url)
    opening.query_params["report"] = "A" * 24
    opening.run()
    no_exception(opening)  # not the error boundary's "incident" message: a sentence about saved reports
    assert [e.value for e in opening.error] == [STORE_UNAVAILABLE]
    assert not [e for e in opening.error if "not found" in e.value]
    assert_no_password(postgres_server.password, saving, page_output(opening), logged(all_logs))
    assert "127.0.0.1" in logged(all_logs)  # the operator's log says which database failed


def test_sqlite_store_errors_are_store_unavailable_too(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = SnapshotStore(Path(blocker) / "reports.sqlite3")
    with pytest.raises(StoreUnavailable) as info:
        store.save(sample_report())
    assert str(blocker) in str(info.value)
