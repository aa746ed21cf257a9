"""Report snapshots: "save and share this exact report" under an unguessable id.

A snapshot is the report's JSON (plus a little plain metadata) in one SQLite table,
keyed by ``secrets.token_urlsafe`` ids and dropped after an expiry (30 days by default).
The file lives at ``CONNECT_CHECK_STORE`` (default ``./data/reports.sqlite3``);
``CONNECT_CHECK_STORE_DAYS`` changes the expiry. Several portal processes can share the
file on one machine; several replicas need a shared database behind the same interface.

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
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .share import REPORT_ID_RE, clean_url

__all__ = ["Snapshot", "SnapshotStore", "default_store", "scrub", "DEFAULT_PATH", "DEFAULT_DAYS", "MAX_BYTES"]

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


class SnapshotStore:
    """Snapshots in a SQLite file; safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, days: float = DEFAULT_DAYS,
                 clock: Callable[[], _dt.datetime] | None = None):
        self.path = Path(path) if path is not None else DEFAULT_PATH
        self.days = days
        self._clock = clock or (lambda: _dt.datetime.now(_dt.timezone.utc))
        self._ready = False
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------
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

    # -- API --------------------------------------------------------------------
    def save(self, report: Mapping[str, Any], *, meta: Mapping[str, Any] | None = None, kind: str = "report") -> Snapshot:
        """Scrub and store ``report``; returns the snapshot with its new id."""
        clean_report = scrub(dict(report))
        clean_meta = scrub(dict(meta or {}))
        body = json.dumps({"report": clean_report, "meta": clean_meta}, ensure_ascii=False, separators=(",", ":"))
        if len(body.encode()) > MAX_BYTES:
            raise ValueError("report too large to store")
        now = self._clock()
        created, expires = _iso(now), _iso(now + _dt.timedelta(days=self.days))
        snapshot_id = secrets.token_urlsafe(18)  # 144 bits, 24 characters
        with closing(self._connect()) as db, db:
            # Expired snapshots leave the disk as new ones arrive, not only when a process starts.
            db.execute("DELETE FROM snapshots WHERE expires_at <= ?", (created,))
            db.execute("INSERT INTO snapshots (id, created_at, expires_at, kind, body) VALUES (?, ?, ?, ?, ?)",
                       (snapshot_id, created, expires, kind, body))
        return Snapshot(snapshot_id, created, expires, kind, clean_report, clean_meta)

    def load(self, snapshot_id: object) -> Snapshot | None:
        """The snapshot for ``snapshot_id``, or None when unknown, malformed or expired."""
        if not isinstance(snapshot_id, str) or not REPORT_ID_RE.match(snapshot_id):
            return None
        if not self.path.exists():
            return None
        with closing(self._connect()) as db:
            row = db.execute("SELECT id, created_at, expires_at, kind, body FROM snapshots WHERE id = ? AND expires_at > ?",
                             (snapshot_id, _iso(self._clock()))).fetchone()
        if row is None:
            return None
        try:
            body = json.loads(row[4])
        except ValueError:
            return None
        return Snapshot(row[0], row[1], row[2], row[3], dict(body.get("report") or {}), dict(body.get("meta") or {}))

    def purge_expired(self) -> int:
        """Delete expired snapshots; returns how many went."""
        if not self.path.exists():
            return 0
        with closing(self._connect()) as db, db:
            cur = db.execute("DELETE FROM snapshots WHERE expires_at <= ?", (_iso(self._clock()),))
            return cur.rowcount


def default_store(environ: Mapping[str, str] | None = None) -> SnapshotStore:
    """The store configured by CONNECT_CHECK_STORE / CONNECT_CHECK_STORE_DAYS."""
    env = os.environ if environ is None else environ
    path = env.get("CONNECT_CHECK_STORE") or DEFAULT_PATH
    try:
        days = float(env.get("CONNECT_CHECK_STORE_DAYS") or DEFAULT_DAYS)
    except ValueError:
        days = DEFAULT_DAYS
    return SnapshotStore(path, days=days if days > 0 else DEFAULT_DAYS)
