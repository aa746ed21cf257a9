"""One session's 200-URL batch does not take the portal away from everyone else.

``streamlit run`` on a free port; session A pastes 200 Canvas addresses on the Support
page and starts the batch. Every address points at a tarpit on loopback that accepts
connections and never answers, so the batch cannot finish while the test looks (each
check waits for its own timeouts). Session B, a fresh browser context, then opens the
home page and gets its Check form. No timing is asserted: B's page renders while A's
batch is still running (the tarpit holds A's connections, and A shows no "All 200
addresses checked"), within the test's timeout.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.portal_server import CHROMIUM, CHROMIUM_ARGS, serve
from tests.e2e.test_portal_e2e import WAIT_MS, wait_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
URLS = 200


class Tarpit:
    """Accepts TCP connections on 127.0.0.1 and holds them open, silent, until closed."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            self.held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.sock.close()


@contextlib.contextmanager
def tarpit() -> Iterator[Tarpit]:
    pit = Tarpit()
    try:
        yield pit
    finally:
        pit.close()


@pytest.mark.timeout(300)
def test_other_sessions_render_while_a_200_url_batch_runs(lab_zone, lab_dns, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    names = [f"school{i}.tarpit.lab.test" for i in range(URLS)]
    with tarpit() as pit:
        for name in names:
            lab_zone.a[name] = ["127.0.0.1"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECT_CHECK_")}
        env.update({
            "CONNECT_CHECK_DNS": f"{lab_dns[0]}:{lab_dns[1]}",
            "CONNECT_CHECK_ALLOW_PRIVATE": "1",
            "CONNECT_CHECK_PORTS": "any",
            "CONNECT_CHECK_DEADLINE": "60",
            "CONNECT_CHECK_STORE": str(tmp_path / "reports.sqlite3"),
        })
        try:
            with serve(env, tmp_path / "streamlit.log") as base, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    a = browser.new_context()
                    a.set_default_timeout(WAIT_MS)
                    page_a = a.new_page()
                    page_a.goto(base + "/support")
                    wait_app(page_a)
                    listing = "\n".join(f"https://{n}:{pit.port}/" for n in names)
                    page_a.get_by_role("textbox", name="Or paste a list", exact=True).fill(listing)
                    page_a.get_by_role("button", name="Check all").click()
                    page_a.get_by_text(f"Checking {URLS} addresses").wait_for()
                    while pit.accepted == 0:  # the batch is really talking to the tarpit
                        page_a.wait_for_timeout(100)

                    b = browser.new_context()
                    b.set_default_timeout(WAIT_MS)
                    page_b = b.new_page()
                    page_b.goto(base + "/")
                    wait_app(page_b)
                    page_b.get_by_role("textbox", name="Canvas URL").wait_for()
                    page_b.get_by_role("button", name="Check", exact=True).wait_for()

                    # Still running: A's connections are held and it has not said it is done.
                    assert pit.accepted >= 1 and pit.held
                    assert f"All {URLS} addresses checked" not in page_a.inner_text("body")
                    assert "Check my Canvas" in page_b.inner_text("body") or "Canvas URL" in page_b.inner_text("body")
                finally:
                    browser.close()
        finally:
            for name in names:
                lab_zone.a.pop(name, None)
