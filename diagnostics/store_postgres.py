"""Report snapshots in PostgreSQL, so that replicas on several machines share permalinks.

Selected by ``CONNECT_CHECK_STORE=postgresql://user:pass@host[:port]/db`` (``postgres://``
too; any libpq URL parameter such as ``?sslmode=require`` works). Scrubbing, ids and
expiry are :class:`~diagnostics.store.BaseSnapshotStore`'s, exactly as for SQLite; this
module only moves rows to and from one table, ``connect_check_snapshots``, created (with
its expiry index) on first use if missing.

Every operation opens one short connection (``connect_timeout`` 5 s unless the URL sets
one, a 10 s statement timeout) and closes it: nothing is held between page runs, and a
database restart needs no reconnect logic. Values are always bound parameters.

The URL's password must not reach a log or a page: errors become
:class:`~diagnostics.store.StoreUnavailable` carrying the URL without password or query
and libpq's reason with the password masked, and the driver's own exception is not
chained to it.
"""

from __future__ import annotations

import datetime as _dt
import threading
from contextlib import contextmanager
from typing import Callable, Iterator
from urllib.parse import unquote, unquote_plus, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .store import DEFAULT_DAYS, BaseSnapshotStore, StoreUnavailable, _Row

__all__ = ["PostgresSnapshotStore", "TABLE", "public_url"]

TABLE = "connect_check_snapshots"  # the SQL below spells it out: no SQL is assembled from strings
CONNECT_TIMEOUT = 5  # seconds; libpq's own default is to wait forever
STATEMENT_TIMEOUT_MS = 10_000
_LOCK_KEY = 0x636F6E6E  # "conn": one advisory lock serialises schema creation across replicas

# body is TEXT, not JSONB: JSONB refuses "\u0000", which a hostile server's header can
# put into a report's evidence, and the size cap is on the text as written.
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS connect_check_snapshots (
        id          TEXT PRIMARY KEY,
        created_at  TIMESTAMPTZ NOT NULL,
        expires_at  TIMESTAMPTZ NOT NULL,
        kind        TEXT NOT NULL,
        body        TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS connect_check_snapshots_expiry ON connect_check_snapshots (expires_at)",
)


def public_url(url: str) -> str:
    """``url`` without its password and query: fit for a log line or an error."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{parts.scheme}://{user + '@' if at and user else ''}{hosts}{parts.path}"


def _passwords(url: str) -> set[str]:
    """Every spelling of the password(s) the URL carries, to mask in messages."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    found = {userinfo.partition(":")[2]} if ":" in userinfo else set()
    found |= {field.partition("=")[2] for field in parts.query.split("&") if field.lower().startswith("password=")}
    return {spelling for raw in found for spelling in (raw, unquote(raw), unquote_plus(raw)) if spelling}


class PostgresSnapshotStore(BaseSnapshotStore):
    """Snapshots in a PostgreSQL table shared by every replica pointed at the same database."""

    def __init__(self, url: str, *, days: float = DEFAULT_DAYS, clock: Callable[[], _dt.datetime] | None = None):
        super().__init__(days=days, clock=clock)
        scheme, sep, rest = url.strip().partition("://")
        # libpq only knows the lower-case schemes; an operator may well write "PostgreSQL://".
        self._url = scheme.lower() + sep + rest  # holds the password: never in where, repr or an error
        self.where = public_url(self._url)
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PostgresSnapshotStore({self.where!r}, days={self.days})"

    # -- plumbing ---------------------------------------------------------------
    def _reason(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        for secret in sorted(_passwords(self._url), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def _connect(self) -> psycopg.Connection:
        try:
            params = conninfo_to_dict(self._url)
        except psycopg.Error:
            # libpq's parse errors quote the offending part, which may be the password.
            raise StoreUnavailable(self.where, "CONNECT_CHECK_STORE is not a valid PostgreSQL URL") from None
        params.setdefault("connect_timeout", CONNECT_TIMEOUT)
        params.setdefault("application_name", "connect-check")
        return psycopg.connect(**params)

    def _create_schema(self, conn: psycopg.Connection) -> None:
        with self._lock:
            if self._ready:
                return
            # Replicas starting together would race on CREATE TABLE IF NOT EXISTS.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.commit()
            self._ready = True

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection]:
        """One connection, one transaction: committed on success, rolled back on error."""
        try:
            with self._connect() as conn:
                conn.execute("SELECT set_config('statement_timeout', %s, false)", (str(STATEMENT_TIMEOUT_MS),))
                if not self._ready:
                    self._create_schema(conn)
                yield conn
        except psycopg.Error as exc:
            # "from None": the driver's exception is not chained, so a logged traceback
            # shows only this message, with the password masked.
            raise StoreUnavailable(self.where, self._reason(exc)) from None

    # -- backend ----------------------------------------------------------------
    def _insert(self, row: _Row, now: _dt.datetime) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM connect_check_snapshots WHERE expires_at <= %s", (now,))
            conn.execute("INSERT INTO connect_check_snapshots (id, created_at, expires_at, kind, body) "
                         "VALUES (%s, %s, %s, %s, %s)", (row.id, row.created_at, row.expires_at, row.kind, row.body))

    def _select(self, snapshot_id: str, now: _dt.datetime) -> _Row | None:
        with self._transaction() as conn:
            found = conn.execute("SELECT id, created_at, expires_at, kind, body FROM connect_check_snapshots "
                                 "WHERE id = %s AND expires_at > %s", (snapshot_id, now)).fetchone()
        return None if found is None else _Row(*found)

    def _delete_expired(self, now: _dt.datetime) -> int:
        with self._transaction() as conn:
            return conn.execute("DELETE FROM connect_check_snapshots WHERE expires_at <= %s", (now,)).rowcount
