"""Report snapshots: "save and share this exact report" under an unguessable id.

A snapshot is the report's JSON (plus a little plain metadata) in one table, keyed by
``secrets.token_urlsafe`` ids and dropped after an expiry (30 days by default).
``CONNECT_CHECK_STORE`` says where: a SQLite file path (default
``./data/reports.sqlite3``), which several portal processes on one machine can share, or
a ``postgresql://`` URL (``store_postgres.py``), which replicas on several machines can.
``CONNECT_CHECK_STORE_DAYS`` changes the expiry. :class:`BaseSnapshotStore` holds all
that the two share (scrubbing, the body, ids, expiry); a backend only moves rows.

Before anything is written it is scrubbed (:func:`scrub`): keys that name credentials
are removed at any depth, the typed input is reduced to a URL without credentials or
query, and free text (pasted errors) goes through the redactor. Ids are looked up, never
parsed into anything, and a malformed id is simply "not found".
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import secrets
import sqlite3
import threading
from abc import ABC, abstractmethod
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from .share import REPORT_ID_RE, clean_url

__all__ = ["Snapshot", "BaseSnapshotStore", "SnapshotStore", "StoreUnavailable", "default_store", "is_postgres_url",
           "scrub", "DEFAULT_PATH", "DEFAULT_DAYS", "MAX_BYTES"]

DEFAULT_PATH = Path("data") / "reports.sqlite3"
DEFAULT_DAYS = 30
MAX_BYTES = 2 * 1024 * 1024  # a report is tens of KiB; refuse anything absurd

# Keys that name a credential ("secret", "client_secret", "Cookie", "Set-Cookie", ...).
_SECRET_KEY = re.compile(
    r"(^|[_\-\s])(secret|password|passwd|api[_-]?key|access[_-]?token|refresh[_-]?token|id[_-]?token"
    r"|authorization|bearer|cookie|jwt)$",
    re.IGNORECASE,
)
_FREE_TEXT_KEYS = {"paste", "pasted", "text", "redacted_text", "excerpt", "message", "note"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_expiry ON snapshots (expires_at);
"""


@dataclass(frozen=True)
class Snapshot:
    """A stored report.

    Attributes:
        id: the opaque id in the permalink.
        created_at: when it was saved (UTC, ISO 8601 with Z): the "checked on" date.
        expires_at: when it stops being served.
        kind: what it holds: "report" (a check report) for now.
        report: the scrubbed report dict (the Report JSON contract).
        meta: scrubbed extra plain data saved with it (the browser check, a note).
    """

    id: str
    created_at: str
    expires_at: str
    kind: str
    report: dict[str, Any]
    meta: dict[str, Any]


def _iso(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _redactor() -> Callable[[str], str]:
    try:  # the explainer's redactor when it is installed; a conservative fallback otherwise
        from .redact import redact  # type: ignore[import-not-found]

        return redact
    except Exception:  # pragma: no cover - depends on another module landing
        return _fallback_redact


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{12,}")
_KEY64 = re.compile(r"\b[A-Za-z0-9]{64}\b")
_HINT = re.compile(r"(?i)\b(login_hint|lti_message_hint|access_token|code|state)=([^&\s\"']+)")


def _fallback_redact(text: str) -> str:
    text = _JWT.sub("[redacted]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _KEY64.sub("[redacted]", text)
    return _HINT.sub(lambda m: f"{m.group(1)}=[redacted]", text)


def scrub(data: Any, *, redact: Callable[[str], str] | None = None, _key: str = "") -> Any:
    """A deep copy of ``data`` fit to store and share: no credentials, redacted free text.

    Keys naming credentials are dropped at any depth; values under free-text keys
    (paste, excerpt, message, ...) go through ``redact``; a report's ``target.input`` is
    reduced to a URL without user info, query or fragment. PEM text and evidence are kept
    as they are (certificates are public and their base64 must stay intact).
    """
    redact = redact or _redactor()
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for k, v in data.items():
            key = str(k)
            if _SECRET_KEY.search(key):
                continue
            out[key] = scrub(v, redact=redact, _key=key)
        if _key == "target" and isinstance(out.get("input"), str):
            out["input"] = clean_url(out["input"])
        return out
    if isinstance(data, (list, tuple)):
        return [scrub(v, redact=redact, _key=_key) for v in data]
    if isinstance(data, str) and _key in _FREE_TEXT_KEYS:
        return redact(data)
    return data


class StoreUnavailable(Exception):
    """The store could not be reached, or refused to read or write.

    Attributes:
        where: the store's location for an operator: a file path, or a database URL with
            no password and no query (which may carry one).
        reason: what went wrong, in the database's words, with any password removed.

    The message never carries a credential, so the portal may log it; people see a
    friendly sentence instead (``portal/sharebox.py``, ``pages/check.py``).
    """

    def __init__(self, where: str, reason: str):
        super().__init__(where, reason)
        self.where = where
        self.reason = reason

    def __str__(self) -> str:
        return f"the saved-report store {self.where} is unavailable: {self.reason}"


@dataclass(frozen=True)
class _Row:
    id: str
    created_at: _dt.datetime
    expires_at: _dt.datetime
    kind: str
    body: str


class BaseSnapshotStore(ABC):
    """What every backend shares: scrubbing, the JSON body, ids, expiry, the API.

    A backend only moves rows (:class:`_Row`): ``_insert`` (which also deletes rows expired
    at ``now``, in the same transaction), ``_select`` and ``_delete_expired``. Backends
    raise :class:`StoreUnavailable` for anything that goes wrong below them.
    """

    def __init__(self, *, days: float = DEFAULT_DAYS, clock: Callable[[], _dt.datetime] | None = None):
        self.days = days
        self._clock = clock or (lambda: _dt.datetime.now(_dt.timezone.utc))

    #: the store's location for logs and errors, never with a credential
    where: str = ""

    def _now(self) -> _dt.datetime:
        # Whole seconds in UTC, as the ISO strings in a Snapshot show them.
        return self._clock().astimezone(_dt.timezone.utc).replace(microsecond=0)

    # -- backend ----------------------------------------------------------------
    @abstractmethod
    def _insert(self, row: _Row, now: _dt.datetime) -> None: ...

    @abstractmethod
    def _select(self, snapshot_id: str, now: _dt.datetime) -> _Row | None: ...

    @abstractmethod
    def _delete_expired(self, now: _dt.datetime) -> int: ...

    # -- API --------------------------------------------------------------------
    def save(self, report: Mapping[str, Any], *, meta: Mapping[str, Any] | None = None, kind: str = "report") -> Snapshot:
        """Scrub and store ``report``; returns the snapshot with its new id.

        Raises ValueError when the report is too large, StoreUnavailable when the store is.
        """
        clean_report = scrub(dict(report))
        clean_meta = scrub(dict(meta or {}))
        body = json.dumps({"report": clean_report, "meta": clean_meta}, ensure_ascii=False, separators=(",", ":"))
        if len(body.encode()) > MAX_BYTES:
            raise ValueError("report too large to store")
        now = self._now()
        row = _Row(secrets.token_urlsafe(18),  # 144 bits, 24 characters
                   now, now + _dt.timedelta(days=self.days), kind, body)
        # Expired snapshots go as new ones arrive, not only when a process starts.
        self._insert(row, now)
        return Snapshot(row.id, _iso(row.created_at), _iso(row.expires_at), kind, clean_report, clean_meta)

    def load(self, snapshot_id: object) -> Snapshot | None:
        """The snapshot for ``snapshot_id``, or None when unknown, malformed or expired.

        Raises StoreUnavailable when the store cannot be read.
        """
        if not isinstance(snapshot_id, str) or not REPORT_ID_RE.match(snapshot_id):
            return None
        row = self._select(snapshot_id, self._now())
        if row is None:
            return None
        try:
            body = json.loads(row.body)
        except ValueError:
            return None
        return Snapshot(row.id, _iso(row.created_at), _iso(row.expires_at), row.kind,
                        dict(body.get("report") or {}), dict(body.get("meta") or {}))

    def purge_expired(self) -> int:
        """Delete expired snapshots; returns how many went."""
        return self._delete_expired(self._now())


class SnapshotStore(BaseSnapshotStore):
    """Snapshots in a SQLite file; safe to share between threads and processes on one machine."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, days: float = DEFAULT_DAYS,
                 clock: Callable[[], _dt.datetime] | None = None):
        super().__init__(days=days, clock=clock)
        self.path = Path(path) if path is not None else DEFAULT_PATH
        self.where = str(self.path)
        self._ready = False
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    with closing(sqlite3.connect(self.path, timeout=10)) as db:
                        db.execute("PRAGMA journal_mode=WAL")
                        db.executescript(_SCHEMA)
                        db.commit()
                    self._ready = True
        return sqlite3.connect(self.path, timeout=10)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(self._connect()) as db, db:
                yield db
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(self.where, str(exc)) from exc

    def _insert(self, row: _Row, now: _dt.datetime) -> None:
        with self._db() as db:
            db.execute("DELETE FROM snapshots WHERE expires_at <= ?", (_iso(now),))
            db.execute("INSERT INTO snapshots (id, created_at, expires_at, kind, body) VALUES (?, ?, ?, ?, ?)",
                       (row.id, _iso(row.created_at), _iso(row.expires_at), row.kind, row.body))

    def _select(self, snapshot_id: str, now: _dt.datetime) -> _Row | None:
        if not self.path.exists():  # reading never creates the file
            return None
        with self._db() as db:
            found = db.execute("SELECT id, created_at, expires_at, kind, body FROM snapshots "
                               "WHERE id = ? AND expires_at > ?", (snapshot_id, _iso(now))).fetchone()
        if found is None:
            return None
        return _Row(found[0], _parse_iso(found[1]), _parse_iso(found[2]), found[3], found[4])

    def _delete_expired(self, now: _dt.datetime) -> int:
        if not self.path.exists():
            return 0
        with self._db() as db:
            return db.execute("DELETE FROM snapshots WHERE expires_at <= ?", (_iso(now),)).rowcount


def _parse_iso(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def is_postgres_url(location: str) -> bool:
    """True when CONNECT_CHECK_STORE names a PostgreSQL database rather than a file."""
    return location.strip().lower().startswith(("postgresql://", "postgres://"))


def default_store(environ: Mapping[str, str] | None = None) -> BaseSnapshotStore:
    """The store configured by CONNECT_CHECK_STORE / CONNECT_CHECK_STORE_DAYS.

    A ``postgresql://`` (or ``postgres://``) URL selects PostgreSQL, which replicas on
    several machines can share; anything else is the path of a SQLite file. Nothing
    connects here: the first save or load does.
    """
    env = os.environ if environ is None else environ
    location = env.get("CONNECT_CHECK_STORE") or ""
    try:
        days = float(env.get("CONNECT_CHECK_STORE_DAYS") or DEFAULT_DAYS)
    except ValueError:
        days = DEFAULT_DAYS
    days = days if days > 0 else DEFAULT_DAYS
    if is_postgres_url(location):
        from .store_postgres import PostgresSnapshotStore

        return PostgresSnapshotStore(location.strip(), days=days)
    return SnapshotStore(location or DEFAULT_PATH, days=days)
