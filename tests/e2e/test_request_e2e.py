"""The Request access page in a real browser: a person fills it in and downloads the .eml.

Starts ``streamlit run`` on a free loopback port, drives Debian's Chromium with Playwright,
and proves the secret typed into the page reaches neither the address bar nor the link
to the prefilled form, and stays out of the .eml unless the admin chose to include it.
"""

from __future__ import annotations

import email
import os
from email import policy
from typing import Iterator
from urllib.parse import unquote

import pytest

from tests.e2e.portal_server import CHROMIUM, CHROMIUM_ARGS, ROOT, serve

pytestmark = pytest.mark.browser

SECRET = "Zx7Qp2Lm9Rt4Vb6Nc1Kd8Hf3Gj5Ws0Ye2Ua7Io4Pl9Mk3Nj6Bh1Vg8Cf5Dx2Sz7A"
SUPPORT = "support@badgr.test"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def portal(tmp_path_factory) -> Iterator[str]:
    """The URL of the Request access page on a fresh ``streamlit run``."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian's chromium is not installed (make chromium)")
    pytest.importorskip("playwright.sync_api")
    env = dict(os.environ, PYTHONPATH=str(ROOT), CONNECT_CHECK_SUPPORT_EMAIL=SUPPORT,
               HOME=str(tmp_path_factory.mktemp("home")))
    # a deep link as the first visit of a fresh server: lands on the page itself
    with serve(env, tmp_path_factory.mktemp("streamlit") / "streamlit.log") as base:
        yield base + "/request"


@pytest.fixture()
def browser_page(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
            context.close()
        finally:
            browser.close()


def expect(locator):
    from playwright.sync_api import expect as _expect

    return _expect(locator)


def _fill(page, label: str, value: str) -> None:
    box = page.get_by_role("textbox", name=label, exact=True)
    box.click()
    box.fill(value)


def test_self_hosted_request_downloads_an_eml_without_the_secret(portal, browser_page, tmp_path):
    page = browser_page
    # A link from the Check or Explain page: URL and key ID prefilled, never a secret.
    page.goto(f"{portal}?url=https://canvas.uni.edu&client_id=10000000000003")
    build = page.get_by_role("button", name="Build the request")
    build.wait_for()
    if portal.endswith("/request"):  # inside the portal: the entry script's title is above the page
        expect(page.get_by_role("heading", name="Connect Check").first).to_be_visible()
    # Widgets load lazily (a skeleton first): wait for the prefilled value itself.
    expect(page.get_by_role("textbox", name="Developer Key ID", exact=True)).to_have_value("10000000000003")

    secret_box = page.get_by_role("textbox", name="Secret key", exact=True)
    expect(secret_box).to_have_attribute("type", "password")  # masked; Streamlit adds a show/hide eye
    _fill(page, "Secret key", SECRET)
    _fill(page, "Redirect URI", "https://api.badgr.io/canvas/callback")
    page.get_by_text("United States", exact=False).first.click()
    _fill(page, "Your name", "Bo Lind")
    _fill(page, "Your email", "bo@uni.edu")
    _fill(page, "Institution", "Uni")
    # "Leave the secret out; I'll send it separately" is the default choice.
    expect(page.get_by_role("radio", name="Leave the secret out; I'll send it separately")).to_be_checked()
    build.click()

    eml_button = page.get_by_role("button", name="Download .eml")
    eml_button.wait_for()
    with page.expect_download() as info:
        eml_button.click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    data = target.read_bytes()

    msg = email.message_from_bytes(data, policy=policy.default)
    assert msg["To"] == SUPPORT
    assert msg["From"].addresses[0].addr_spec == "bo@uni.edu"
    assert msg["Subject"].startswith("Badgr connection request (self-hosted Canvas): https://canvas.uni.edu")
    body = msg.get_body(("plain",)).get_content()
    assert "Developer Key ID: 10000000000003" in body
    assert "not in this email; I will send it separately" in body
    assert SECRET.encode() not in data

    # The secret is in neither the address bar nor the link to the prefilled form.
    assert SECRET not in unquote(page.url)
    page.get_by_text("Link to this form, prefilled").click()
    link = page.locator("code", has_text="client_id=10000000000003").first
    link.wait_for()
    assert SECRET not in link.inner_text()
    mailto = page.get_by_role("link", name="Open in my email program").get_attribute("href")
    assert mailto.startswith(f"mailto:{SUPPORT}?") and SECRET not in unquote(mailto)


def test_a_secret_in_the_link_is_removed_from_the_address_bar(portal, browser_page):
    page = browser_page
    page.goto(f"{portal}?url=https://canvas.uni.edu&client_id=10000000000003&secret={SECRET}")
    page.get_by_role("button", name="Build the request").wait_for()
    page.wait_for_function("!window.location.search.includes('secret')", timeout=TIMEOUT_MS)
    assert SECRET not in page.url
    expect(page.get_by_role("textbox", name="Secret key", exact=True)).to_have_value("")


def test_hosted_request_is_three_clicks_from_a_prefilled_link(portal, browser_page):
    page = browser_page
    # What the Explain page hands over after a pasted preauthorization notice.
    page.goto(f"{portal}?url=https://myschool.instructure.com&canvas_url_as_shown=myschool.instructure.com")
    expect(page.get_by_role("textbox", name="Canvas URL", exact=True)).to_have_value("myschool.instructure.com")
    expect(page.get_by_role("radio", name="Instructure-hosted Canvas: preauthorization")).to_be_checked()
    assert page.get_by_role("textbox", name="Secret key", exact=True).count() == 0
    _fill(page, "Your name", "Ana Díaz")
    _fill(page, "Your email", "ana@myschool.edu")
    _fill(page, "Institution", "My School")
    page.get_by_text("Europe (Ireland)", exact=False).first.click()          # click 1
    page.get_by_role("button", name="Build the request").click()             # click 2
    link = page.get_by_role("link", name="Open in my email program")         # click 3 sends it
    link.wait_for()
    href = unquote(link.get_attribute("href"))
    assert href.startswith(f"mailto:{SUPPORT}?subject=Badgr preauthorization request: myschool.instructure.com")
    assert "Canvas URL (exactly as the message showed it): myschool.instructure.com" in href
    assert "Badgr region: eu" in href
