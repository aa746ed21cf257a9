"""A real PostgreSQL server for the store tests, from Debian's packages.

One server per test session: ``initdb`` into a fresh temporary directory, ``postgres`` on
127.0.0.1 on a free port (its Unix socket in that directory too), durability switched off
because nothing here needs to survive a crash; stopped and deleted at the end. initdb
refuses to run as root, so as root both run as the ``postgres`` system user (``runuser``)
in a directory that user owns; as anyone else they run as that user.

The superuser has a password (SCRAM over TCP) with characters that URLs must escape, so
the tests can prove it never reaches a log line or an error. Each test gets a database
of its own (:meth:`PostgresServer.new_database`).

``make test`` installs the binaries (``make postgres``). Without them the tests that need
this fixture are skipped with a reason that says so: they never pass silently.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

INITDB_GLOB = "/usr/lib/postgresql/*/bin/initdb"
SYSTEM_USER = "postgres"
SUPERUSER = "connect_check"


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin directory, or None."""
    found = sorted(glob.glob(INITDB_GLOB), key=lambda p: [int(n) for n in re.findall(r"\d+", p)])
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server. ``password`` is the superuser's, raw (URLs carry it escaped)."""

    bindir: Path
    root: Path
    port: int
    password: str
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres", *, password: str | None = None, port: int | None = None) -> str:
        pw = quote(self.password if password is None else password, safe="")
        return f"postgresql://{self.user}:{pw}@{self.host}:{port or self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg
        from psycopg import sql

        name = f"store_test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


def _as_server_user() -> list[str]:
    return ["runuser", "-u", SYSTEM_USER, "--"] if os.geteuid() == 0 else []


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(_as_server_user() + cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def postgres_server():
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(f"PostgreSQL STORE TESTS NOT RUN: no server binaries ({INITDB_GLOB}); "
                    "`make postgres` (part of `make test`) installs Debian's postgresql")
    root = Path(tempfile.mkdtemp(prefix="connect-check-pg-"))
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            shutil.rmtree(root)
            pytest.skip(f"PostgreSQL STORE TESTS NOT RUN: no `{SYSTEM_USER}` system user to run initdb as "
                        "(Debian's postgresql package creates it)")
        os.chown(root, account.pw_uid, account.pw_gid)
    password = "Pw@:/%+ " + secrets.token_hex(8)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, account.pw_uid, account.pw_gid)
    pwfile.chmod(0o600)
    data = root / "data"
    server = None
    try:
        _run([str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}", "-E", "UTF8",
              "--locale=C", "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync"], cwd=root)
        pwfile.unlink()
        for attempt in range(3):  # another process may take the free port before postgres binds it
            port = _free_port()
            options = (f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
                       "-c full_page_writes=off -c max_connections=60")
            try:
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60",
                      "-o", options, "start"], cwd=root)
            except RuntimeError:
                if attempt == 2:
                    raise
                continue
            server = PostgresServer(bindir, root, port, password)
            break
        yield server
    finally:
        if server is not None:
            try:
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], cwd=root)
            except Exception:  # stop it by the pid it wrote, never by name
                pid_file = data / "postmaster.pid"
                if pid_file.exists():
                    os.kill(int(pid_file.read_text().split()[0]), 9)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL (password included) of an empty database of this test's own."""
    return postgres_server.new_database()
