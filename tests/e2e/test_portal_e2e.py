"""The portal in a real browser: Debian's chromium driven by Playwright against
`streamlit run streamlit_app.py`, with every check pointed at lab servers on loopback.

Scenarios: a live check shows its findings; a share link opened in a fresh browser
context shows the same findings; a saved report opens from its permalink and re-runs
with a diff; a pasted error jumps to the check; the browser self-check says plainly what
is unreachable; five URLs are batch-checked. Screenshots of each page go to
docs/screenshots/ for the README.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import expect

from tests.lab.fake_canvas import FakeCanvas
from tests.lab.fx_lab import cert_context
from tests.lab.servers import free_port, serve_http

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_MS = 45_000


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - stdlib name
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _plain_http() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class Lab:
    """The lab seen from the portal: URLs to check and the env that makes them resolvable."""

    def __init__(self, canvas, hosted, not_canvas, closed_port, web_port, unreachable_port, ca_bundle, dns):
        self.canvas_url = canvas.url
        self.hosted_url = hosted.url
        self.not_canvas_url = not_canvas.url
        self.closed_url = f"https://closed.lab.test:{closed_port}"
        self.resolve = ",".join([
            f"{canvas.host}:{canvas.port}:127.0.0.1",
            f"lms.college.lab.test:{canvas.port}:127.0.0.1",
            f"{hosted.host}:{hosted.port}:127.0.0.1",
            f"{not_canvas.host}:{not_canvas.port}:127.0.0.1",
            f"closed.lab.test:{closed_port}:127.0.0.1",
        ])
        self.second_canvas_url = f"https://lms.college.lab.test:{canvas.port}"
        self.browser_targets = (f"Badgr web (lab)=http://127.0.0.1:{web_port}/,"
                                f"Badgr API (lab)=http://127.0.0.1:{unreachable_port}/")
        self.ca_bundle = ca_bundle
        self.dns = dns


@pytest.fixture(scope="module")
def lab(lab_ca, lab_dns) -> Iterator[Lab]:
    def ctx(*names):
        return cert_context(lab_ca.issue_cert(*names))

    with contextlib.ExitStack() as stack:
        canvas = stack.enter_context(serve_http(FakeCanvas(hosted=False).handler(), host="canvas.lab.test",
                                                ssl_context=ctx("canvas.lab.test", "lms.college.lab.test")))
        hosted = stack.enter_context(serve_http(FakeCanvas(hosted=True).handler(), host="myschool.instructure.com",
                                                ssl_context=ctx("myschool.instructure.com")))
        not_canvas = stack.enter_context(serve_http(FakeCanvas(canvas_headers=False).handler(),
                                                    host="www.college.lab.test", ssl_context=ctx("www.college.lab.test")))
        web_port = stack.enter_context(_plain_http())
        yield Lab(canvas, hosted, not_canvas, free_port(), web_port, free_port(), lab_ca.bundle_path, lab_dns)


@pytest.fixture(scope="module")
def portal(lab, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "CONNECT_CHECK_RESOLVE": lab.resolve,
        "CONNECT_CHECK_CA_BUNDLE": lab.ca_bundle,
        "CONNECT_CHECK_ALLOW_PRIVATE": "1",
        "CONNECT_CHECK_PORTS": "any",
        "CONNECT_CHECK_DNS": f"{lab.dns[0]}:{lab.dns[1]}",
        "CONNECT_CHECK_DEADLINE": "10",
        "CONNECT_CHECK_STORE": str(tmp_path_factory.mktemp("store") / "reports.sqlite3"),
        "CONNECT_CHECK_BROWSER_TARGETS": lab.browser_targets,
        "CONNECT_CHECK_RATE_SESSION": "100/60",
        "CONNECT_CHECK_RATE_TARGET": "100/60",
    }
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "streamlit"), "run", "streamlit_app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(base + "/_stcore/health", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not start:\n" + log.read_text(errors="replace"))
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "Uncaught app execution" not in text, text[-4000:]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(width: int = 1100, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()


def shot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to fit."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover tooltip in the picture
    page.wait_for_timeout(400)  # let the last delta paint
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, 6000))})
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / name))
    page.set_viewport_size(size)


def wait_app(page) -> None:
    page.wait_for_selector('[data-testid="stApp"]')
    try:
        page.wait_for_selector("h1:has-text('Connect Check')")
    except Exception:
        failures = ROOT / "test-results"  # git-ignored
        failures.mkdir(exist_ok=True)
        page.screenshot(path=str(failures / "e2e-failure.png"), full_page=True)
        raise AssertionError("the portal did not render:\n" + page.inner_text("body")[:2000]) from None


def finding_keys(page) -> set[str]:
    classes = page.eval_on_selector_all("[class*='st-key-finding-']", "els => els.map(e => e.className)")
    return {m for c in classes for m in re.findall(r"st-key-(finding-[\w-]+)", c)}


def run_check(page, base: str, url: str) -> None:
    page.goto(base + "/")
    wait_app(page)
    page.get_by_role("textbox", name="Canvas URL", exact=True).fill(url)
    page.get_by_role("textbox", name="Canvas URL", exact=True).press("Enter")
    page.wait_for_selector("[class*='st-key-verdict-']")


def wait_report(page, verdict: str = "") -> None:
    """A report is fully drawn: the verdict on top and the downloads at the bottom."""
    page.wait_for_selector(f".st-key-verdict-{verdict}" if verdict else "[class*='st-key-verdict-']")
    page.get_by_role("button", name="Download report (JSON)").first.wait_for()


def no_traceback(page) -> None:
    body = page.inner_text("body")
    assert "Traceback" not in body and "incident number" not in body


# ----------------------------------------------------------------------------- scenarios


def test_browser_self_check(portal, new_page):
    # First in the file on purpose: the very first visit to a fresh server is a sub-page,
    # which Streamlit would run without the app's frame (portal.layout.ensure_navigation).
    page = new_page()
    page.goto(portal + "/browser")
    wait_app(page)
    page.get_by_role("link", name="Check my Canvas").wait_for()
    component = page.frame_locator('iframe[title$="connect_check_browser_check"]')
    component.get_by_role("button", name="Run the browser self-check").click()
    page.wait_for_selector(".st-key-browser-result-problems")
    page.get_by_role("cell", name="Third-party cookies").wait_for()
    text = page.inner_text("body")
    assert "Badgr API (lab)" in text and "was blocked or unreachable" in text
    assert "Badgr web (lab)" not in " ".join(t for t in text.splitlines() if "blocked" in t)
    assert "Pop-ups" in text and "Chrome" in text, text
    no_traceback(page)
    shot(page, "browser.png")


def test_check_shows_findings_and_share_link_reproduces_them(portal, lab, new_page):
    page = new_page()
    run_check(page, portal, lab.canvas_url + "/courses/7")
    wait_report(page, "ready")
    for key in ("finding-dns-resolved", "finding-tls-trusted", "finding-canvas-detected"):
        expect(page.locator(f".st-key-{key}")).to_have_count(1)
    seen = finding_keys(page)
    assert "url=" in page.url and "courses%2F7" in page.url
    assert page.locator('meta[name="robots"][content*="noindex"]').count() >= 1
    no_traceback(page)
    shot(page, "check.png")

    link = page.locator("code").filter(has_text="url=").first.inner_text().strip()
    assert link.startswith(portal) and "secret" not in link
    other = new_page()  # a fresh browser context: no cookies, no session
    other.goto(link)
    wait_app(other)
    wait_report(other, "ready")
    assert finding_keys(other) == seen
    expect(other.get_by_role("textbox", name="Canvas URL", exact=True)).to_have_value(lab.canvas_url + "/courses/7")

    phone = new_page(390, 844)
    phone.goto(link)
    wait_report(phone, "ready")
    shot(phone, "check-phone.png")


def test_saved_report_permalink_and_rerun(portal, lab, new_page):
    page = new_page()
    run_check(page, portal, lab.not_canvas_url)
    wait_report(page, "action_needed")
    expect(page.locator(".st-key-finding-canvas-not_detected")).to_have_count(1)
    page.get_by_role("button", name="Save and share this exact report").click()
    permalink = page.locator("code").filter(has_text="report=")
    permalink.wait_for()
    link = permalink.first.inner_text().strip()
    assert re.search(r"\?report=[A-Za-z0-9_-]{20,}$", link)

    other = new_page()
    other.goto(link)
    wait_app(other)
    other.get_by_text("checked on").first.wait_for()
    wait_report(other, "action_needed")
    expect(other.locator(".st-key-finding-canvas-not_detected")).to_have_count(1)
    assert other.get_by_role("textbox", name="Canvas URL", exact=True).count() == 0  # read-only
    shot(other, "saved-report.png")
    other.get_by_role("button", name="Re-run now").click()
    other.wait_for_selector(".st-key-report-diff")
    other.get_by_role("button", name="Download report (JSON)").first.wait_for()
    assert "Unchanged" in other.locator(".st-key-report-diff").inner_text()
    no_traceback(other)
    shot(other, "saved-report-rerun.png")


def test_explain_then_check(portal, lab, new_page):
    page = new_page()
    page.goto(portal + "/explain")
    wait_app(page)
    paste = (f"Error: redirect_uri does not match client settings\n"
             f"{lab.second_canvas_url}/login/oauth2/auth?client_id=10000000000003&login_hint=9f8e7d6c5b4a")
    page.get_by_role("textbox", name="Paste the error message", exact=True).fill(paste)
    page.get_by_role("button", name="Explain").click()
    page.wait_for_selector(".st-key-match-oauth-redirect_uri_mismatch")
    assert "9f8e7d6c5b4a" not in page.inner_text("body")
    shot(page, "explain.png")
    page.get_by_role("button", name="Check this Canvas URL").click()
    wait_report(page)
    assert "url=" in page.url and "lms.college.lab.test" in page.url
    expect(page.locator(".st-key-finding-canvas-detected")).to_have_count(1)


def test_batch_five_urls(portal, lab, new_page):
    page = new_page()
    page.goto(portal + "/support")
    wait_app(page)
    urls = [lab.canvas_url, lab.second_canvas_url, lab.hosted_url, lab.not_canvas_url, lab.closed_url]
    page.get_by_role("textbox", name="Or paste a list", exact=True).fill("url\n" + "\n".join(urls) + "\nftp://not-a-canvas.example.edu\n")
    page.get_by_role("button", name="Check all").click()
    page.get_by_text("All 5 addresses checked").wait_for()
    page.get_by_role("button", name="Download table (CSV)").wait_for()  # the last thing drawn
    text = page.inner_text("body")
    assert "1 line could not be used" in text
    counts = {k: int(v) for k, v in re.findall(r"(ready|blocked|action needed|invalid|error)\s*:\s*(\d+)", text)}
    assert sum(counts.values()) == 5, counts
    # the two self-hosted labs are ready, the refused port is blocked, the plain site needs action
    assert counts.get("ready", 0) >= 2 and counts.get("blocked") == 1 and counts.get("action needed", 0) >= 1, counts
    no_traceback(page)
    shot(page, "support.png")


def test_request_page_screenshot(portal, new_page):
    if not (ROOT / "pages" / "request.py").exists():
        pytest.skip("the request page is not there yet")
    page = new_page()
    page.goto(portal + "/request")
    wait_app(page)
    no_traceback(page)
    shot(page, "request.png")
