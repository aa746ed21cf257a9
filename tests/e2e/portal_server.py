"""The portal under test: ``streamlit run streamlit_app.py`` on a free loopback port, and
Debian's chromium as the rules of this workplace launch it. Shared by the e2e tests and
``bench/portal_bench.py``."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Mapping

from tests.lab.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def wait_healthy(base: str, proc: subprocess.Popen, log: Path, deadline_s: float = 60) -> None:
    """Return once Streamlit answers its health check; raise with the log if it died."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > end:
            raise RuntimeError("streamlit did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.2)


@contextlib.contextmanager
def serve(env: Mapping[str, str], log: Path, *, script: Path | str = "streamlit_app.py",
          startup_s: float = 60) -> Iterator[str]:
    """Run the portal with ``env`` (a full environment) and yield its base URL.

    The file watcher is off: other edits in the work tree must not rerun pages mid-test.
    Output goes to ``log``; the process is stopped (then killed) on exit.
    """
    with serve_process(env, log, script=script, startup_s=startup_s) as (base, _proc):
        yield base


@contextlib.contextmanager
def serve_process(env: Mapping[str, str], log: Path, *, script: Path | str = "streamlit_app.py",
                  startup_s: float = 60, port: int | None = None,
                  file_watcher: str = "none") -> Iterator[tuple[str, subprocess.Popen]]:
    """:func:`serve`, yielding the process too (benchmarks read its memory)."""
    port = port or free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", file_watcher],
            cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, proc, log, startup_s)
            yield base, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
