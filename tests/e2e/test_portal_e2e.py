"""The portal in a real browser: Debian's chromium driven by Playwright against
`streamlit run streamlit_app.py`, with every check pointed at lab servers on loopback.

Scenarios: deep links (/check?url=…, /explain, …) opened first on a fresh server land on
their pages; a live check shows its findings; a share link opened in a fresh browser
context shows the same findings; the Developer Key section verifies a secret and forgets
it; an incomplete chain offers the corrected PEM and the summary downloads; a saved
report opens from its permalink and re-runs with a diff; a pasted error jumps to the
check and to the request; the browser self-check says plainly what is unreachable and
its results travel into the report download and the request email; five URLs are
batch-checked. (Filling in a request: tests/e2e/test_request_e2e.py.) Screenshots of
each page go to docs/screenshots/ for the README.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.e2e.portal_server import CHROMIUM, CHROMIUM_ARGS, serve
from tests.lab.fake_canvas import FakeCanvas
from tests.lab.fx_lab import cert_context
from tests.lab.servers import free_port, serve_http

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
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


BADGR_URI = "https://api.badgr.io/example/callback"


class Lab:
    """The lab seen from the portal: URLs to check and the env that makes them resolvable."""

    def __init__(self, canvas, hosted, not_canvas, closed_port, web_port, unreachable_port, ca_bundle, dns,
                 key, incomplete):
        self.canvas_url = canvas.url
        self.hosted_url = hosted.url
        self.not_canvas_url = not_canvas.url
        self.closed_url = f"https://closed.lab.test:{closed_port}"
        self.incomplete_url = incomplete.url  # leaf only; the leaf's AIA address serves the intermediate
        self.key_id, self.key_secret = key.id, key.api_key  # a Developer Key on the self-hosted lab Canvas
        self.resolve = ",".join([
            f"{canvas.host}:{canvas.port}:127.0.0.1",
            f"lms.college.lab.test:{canvas.port}:127.0.0.1",
            f"{hosted.host}:{hosted.port}:127.0.0.1",
            f"{not_canvas.host}:{not_canvas.port}:127.0.0.1",
            f"closed.lab.test:{closed_port}:127.0.0.1",
            *(f"{host}:{port}:{','.join(addrs)}" for (host, port), addrs in incomplete.resolve.items()),
        ])
        self.second_canvas_url = f"https://lms.college.lab.test:{canvas.port}"
        self.browser_targets = (f"Badgr web (lab)=http://127.0.0.1:{web_port}/,"
                                f"Badgr API (lab)=http://127.0.0.1:{unreachable_port}/")
        self.ca_bundle = ca_bundle
        self.dns = dns


@pytest.fixture(scope="module")
def lab(lab_ca, lab_dns, incomplete_chain_server, tmp_path_factory) -> Iterator[Lab]:
    def ctx(*names):
        return cert_context(lab_ca.issue_cert(*names))

    # The TLS lab has its own root: trust both.
    bundle = tmp_path_factory.mktemp("e2e-ca") / "roots.pem"
    bundle.write_text(Path(lab_ca.bundle_path).read_text() + Path(incomplete_chain_server.ca_bundle).read_text())
    self_hosted = FakeCanvas(hosted=False)
    key = self_hosted.add_key(redirect_uri="https://api.badgr.io")
    with contextlib.ExitStack() as stack:
        canvas = stack.enter_context(serve_http(self_hosted.handler(), host="canvas.lab.test",
                                                ssl_context=ctx("canvas.lab.test", "lms.college.lab.test")))
        hosted = stack.enter_context(serve_http(FakeCanvas(hosted=True).handler(), host="myschool.instructure.com",
                                                ssl_context=ctx("myschool.instructure.com")))
        not_canvas = stack.enter_context(serve_http(FakeCanvas(canvas_headers=False).handler(),
                                                    host="www.college.lab.test", ssl_context=ctx("www.college.lab.test")))
        web_port = stack.enter_context(_plain_http())
        yield Lab(canvas, hosted, not_canvas, free_port(), web_port, free_port(), str(bundle), lab_dns, key,
                  incomplete_chain_server)


@pytest.fixture(scope="module")
def portal(lab, tmp_path_factory) -> Iterator[str]:
    with serve_portal(lab, tmp_path_factory) as base:
        yield base


@contextlib.contextmanager
def serve_portal(lab, tmp_path_factory) -> Iterator[str]:
    """``streamlit run streamlit_app.py`` on a free port, every check pointed at the lab."""
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
    with serve(env, log) as base:
        yield base
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "Uncaught app execution" not in text, text[-4000:]
    assert lab.key_secret not in text, "the Developer Key secret reached the server log"


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
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
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


def download(page, button: str) -> str:
    """Click a download button and return what the browser saved."""
    with page.expect_download() as info:
        page.get_by_role("button", name=button).first.click()
    return Path(info.value.path()).read_text()


def fits_width(page) -> bool:
    """Nothing on the page is wider than the screen (no sideways scrolling on a phone)."""
    return page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        return document.documentElement.scrollWidth <= window.innerWidth + 1
            && main.scrollWidth <= main.clientWidth + 1;
    }""")


# ----------------------------------------------------------------------------- scenarios


def test_browser_self_check(portal, lab, new_page):
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

    # The results travel with this session: into the report downloads ...
    page.get_by_role("link", name="Check my Canvas").click()
    page.get_by_role("textbox", name="Canvas URL", exact=True).fill(lab.canvas_url)
    page.get_by_role("textbox", name="Canvas URL", exact=True).press("Enter")
    wait_report(page, "ready")
    report = json.loads(download(page, "Download report (JSON)"))
    lines = report["extras"]["browser_check"]["summary_lines"]
    assert any(line.startswith("Badgr API (lab): blocked") for line in lines), lines
    assert "Badgr API (lab): blocked" in download(page, "Download summary (Markdown)")
    # ... and into the request email.
    page.get_by_role("link", name="Request access").click()
    page.get_by_role("textbox", name="Developer Key ID", exact=True).fill("10000000000003")
    page.get_by_text("United States", exact=False).first.click()
    page.get_by_role("textbox", name="Your name", exact=True).fill("Bo Lind")
    page.get_by_role("textbox", name="Your email", exact=True).fill("bo@college.edu")
    page.get_by_role("textbox", name="Institution", exact=True).fill("Lab College")
    page.get_by_role("button", name="Build the request").click()
    email = page.locator("code").filter(has_text="Subject:").first
    try:
        email.wait_for()
    except Exception:
        raise AssertionError("no request email:\n" + page.inner_text("body")[-3000:]) from None
    body = email.inner_text()
    assert "Browser self-check (the admin's browser" in body and "Badgr API (lab): blocked" in body, body
    assert f"Server checked: {lab.canvas_url}" in body


def test_deep_links_land_on_their_pages_on_a_fresh_server(lab, tmp_path_factory, new_page):
    # A fresh server whose very first visit is a share link to /check: Streamlit must not
    # fall back to the old pages/ discovery (which would run the page without the app).
    with serve_portal(lab, tmp_path_factory) as base:
        page = new_page()
        page.goto(f"{base}/check?url={quote(lab.canvas_url + '/courses/3', safe='')}")
        wait_app(page)
        wait_report(page, "ready")
        expect(page.locator(".st-key-finding-canvas-detected")).to_have_count(1)
        expect(page.get_by_role("textbox", name="Canvas URL", exact=True)).to_have_value(lab.canvas_url + "/courses/3")
        assert "courses%2F3" in page.url
        for path, title, ready in (
            ("/explain", "Explain an error", lambda p: p.get_by_role("textbox", name="Paste the error message", exact=True)),
            ("/request", "Request access", lambda p: p.get_by_role("button", name="Build the request")),
            ("/browser", "Browser self-check", lambda p: p.get_by_role("combobox", name="Badgr region")),
            ("/support", "Support", lambda p: p.get_by_role("button", name="Check all")),
        ):
            other = new_page()  # a fresh browser context each time
            other.goto(base + path)
            wait_app(other)
            ready(other).wait_for()
            # the app's own navigation (titles from streamlit_app.py), not auto-discovered file names
            other.get_by_role("link", name=title, exact=True).wait_for()
            assert other.url.startswith(base + path)
            assert "not found" not in other.inner_text("body").lower()
            no_traceback(other)
            other.context.close()


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
    assert fits_width(phone), "the report scrolls sideways at phone width"
    shot(phone, "check-phone.png")


def test_developer_key_secret_is_verified_and_forgotten(portal, lab, new_page):
    page = new_page()
    page.goto(portal + "/")
    wait_app(page)
    page.get_by_role("textbox", name="Canvas URL", exact=True).fill(lab.canvas_url)
    page.get_by_text("Advanced: check a Developer Key").click()
    page.get_by_role("textbox", name="Developer Key ID", exact=True).fill(lab.key_id)
    page.get_by_role("textbox", name="Redirect URI", exact=True).fill(BADGR_URI)
    page.get_by_role("textbox", name="Redirect URI (Legacy) in your Developer Key", exact=True).fill(
        "https://api.badgr.io")
    page.get_by_text("Also verify my secret key", exact=True).click()
    secret_box = page.get_by_role("textbox", name="Secret key", exact=True)
    expect(secret_box).to_have_attribute("type", "password")
    secret_box.fill(lab.key_secret)
    page.get_by_role("button", name="Check", exact=True).click()
    wait_report(page)
    for key in ("finding-oauth-secret_ok", "finding-oauth-client_ok", "finding-oauth-redirect_uri_advice"):
        expect(page.locator(f".st-key-{key}")).to_have_count(1)
    expect(secret_box).to_have_value("")  # the field is emptied after the run
    expect(page.get_by_role("checkbox", name="Also verify my secret key")).not_to_be_checked()
    assert lab.key_secret not in page.url and "secret" not in page.url
    assert lab.key_secret not in page.content()
    link = page.locator("code").filter(has_text="url=").first.inner_text()
    assert lab.key_secret not in link and f"client_id={lab.key_id}" in link
    assert lab.key_secret not in download(page, "Download report (JSON)")
    no_traceback(page)
    shot(page, "check-developer-key.png")


def test_incomplete_chain_offers_the_corrected_chain(portal, lab, new_page):
    page = new_page()
    run_check(page, portal, lab.incomplete_url)
    wait_report(page, "blocked")
    expect(page.locator(".st-key-finding-tls-incomplete_chain")).to_have_count(1)
    pem = download(page, "Download corrected chain (PEM)")
    assert pem.count("BEGIN CERTIFICATE") == 2
    summary = download(page, "Download summary (Markdown)")
    assert summary.startswith(f"# Connect Check: {lab.incomplete_url}") and "tls.incomplete_chain" in summary
    no_traceback(page)
    shot(page, "check-incomplete-chain.png")


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


def test_explain_then_request(portal, lab, new_page):
    page = new_page()
    page.goto(portal + "/explain")
    wait_app(page)
    paste = ("Canvas said: unknown client\n"
             f"{lab.second_canvas_url}/login/oauth2/auth?client_id=10000000000003&response_type=code")
    page.get_by_role("textbox", name="Paste the error message", exact=True).fill(paste)
    page.get_by_role("button", name="Explain").click()
    page.wait_for_selector(".st-key-match-oauth-unknown_client")
    page.get_by_role("button", name="Use in my request").click()
    page.get_by_role("button", name="Build the request").wait_for()
    assert "/request" in page.url
    expect(page.get_by_role("textbox", name="Canvas URL", exact=True)).to_have_value(
        re.compile(r"lms\.college\.lab\.test"))
    no_traceback(page)


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
    page = new_page()
    page.goto(portal + "/request")
    wait_app(page)
    expect(page.get_by_role("heading", name="Request access from Badgr support")).to_be_visible()
    no_traceback(page)
    shot(page, "request.png")
