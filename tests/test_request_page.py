"""The Request access page through Streamlit's AppTest: prefill, inline errors, outputs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from streamlit.testing.v1 import AppTest

from diagnostics import catalog
from diagnostics import request as rq
from diagnostics.model import Hosting, Report, TargetInfo

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "request.py")
SECRET = "Zx7Qp2Lm9Rt4Vb6Nc1Kd8Hf3Gj5Ws0Ye2Ua7Io4Pl9Mk3Nj6Bh1Vg8Cf5Dx2Sz7A"


def report_dict(host="canvas.uni.edu", kind="self_hosted", env=None, codes=("tls.trusted", "canvas.detected")):
    return Report(
        target=TargetInfo(host, f"https://{host}", host, 443),
        started_at="2026-12-04T10:00:00Z",
        elapsed_ms=500,
        hosting=Hosting(kind=kind, environment=env),
        findings=tuple(catalog.finding(c) for c in codes),
    ).to_dict()


def page(query=None, session=None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=10)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    for k, v in (session or {}).items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def contact(at: AppTest) -> None:
    at.text_input(key="request_contact_name").input("Ana Díaz")
    at.text_input(key="request_contact_email").input("ana@myschool.edu")
    at.text_input(key="request_institution").input("My School")


def build(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Build the request").click().run()
    assert not at.exception, at.exception
    return at


def labels(widgets) -> list[str]:
    return [w.label for w in widgets]


def all_text(at: AppTest) -> str:
    parts = [c.value for c in at.code] + [m.value for m in at.markdown] + [e.value for e in at.error]
    parts += [w.value for w in at.warning] + [i.value for i in at.info] + [s.value for s in at.success]
    parts += [c.value for c in at.caption] + [lb.proto.url for lb in at.get("link_button")]
    return "\n".join(str(p) for p in parts)


def test_hosted_path_from_the_explainer_is_three_clicks():
    # The explainer hands over the URL as shown; the page opens on the hosted request.
    at = page({"url": "https://myschool.instructure.com", "canvas_url_as_shown": "myschool.instructure.com"})
    assert at.radio(key="request_kind").value == rq.HOSTED
    assert labels(at.text_input) == ["Canvas URL", "Your name", "Your email", "Institution"]
    assert at.text_input(key="request_canvas_url").value == "myschool.instructure.com"
    assert at.radio(key="request_environment").value == "production"
    contact(at)
    at.radio(key="request_region").set_value("eu")               # click 1
    build(at)                                                      # click 2
    assert not at.error
    [link] = at.get("link_button")                                 # click 3 opens the email
    assert link.proto.url.startswith(f"mailto:{rq.DEFAULT_SUPPORT_EMAIL}?subject=")
    assert "myschool.instructure.com" in unquote(link.proto.url)
    assert labels(at.download_button) == ["Download .eml", "Download .json"]
    copy = at.code[0].value
    assert copy.startswith(f"To: {rq.DEFAULT_SUPPORT_EMAIL}\nSubject: Badgr preauthorization request")
    assert "Canvas URL (exactly as the message showed it): myschool.instructure.com" in copy


def test_missing_fields_are_marked_inline():
    at = page({"canvas_url_as_shown": "myschool.instructure.com"})
    build(at)
    errors = [e.value for e in at.error]
    assert "Choose the Badgr region your Badgr account is on (the address you log in to)." in errors
    assert "Enter your name, so support knows whom to answer." in errors
    assert "Enter your email address, so support can answer you." in errors
    assert not at.download_button and not at.get("link_button")


def test_bad_email_is_explained():
    at = page({"canvas_url_as_shown": "myschool.instructure.com", "region": "us"})
    contact(at)
    at.text_input(key="request_contact_email").input("ana@")
    build(at)
    assert any("email address" in e.value.lower() or "@" in e.value for e in at.error)
    assert not at.download_button


def test_kind_comes_from_the_last_check_and_url_is_prefilled():
    at = page(session={"check_report": report_dict()})
    assert at.radio(key="request_kind").value == rq.SELF_HOSTED
    assert labels(at.text_input) == ["Canvas URL", "Developer Key ID", "Secret key", "Redirect URI",
                                     "Your name", "Your email", "Institution"]
    assert at.text_input(key="request_canvas_url").value == "https://canvas.uni.edu"
    secret_box = at.text_input(key="request_secret")
    assert secret_box.proto.type == secret_box.proto.PASSWORD
    assert at.radio(key="request_secret_choice").value == "separately"
    assert any("not a secure channel" in c.value for c in at.caption)


def test_explainer_values_prefill_the_key_fields():
    at = page(session={"explain_extracted": {"canvas_url": "https://canvas.uni.edu/login/oauth2/auth",
                                             "client_id": "10000000000003",
                                             "redirect_uri": "https://api.badgr.io/cb"}},
              query={"client_id": "10000000000003", "url": "https://canvas.uni.edu"})
    assert at.radio(key="request_kind").value == rq.SELF_HOSTED
    assert at.text_input(key="request_client_id").value == "10000000000003"
    assert at.text_input(key="request_redirect_uri").value == "https://api.badgr.io/cb"


def fill_self_hosted(at: AppTest, secret: str = SECRET) -> None:
    at.text_input(key="request_client_id").input("10000000000003")
    at.text_input(key="request_secret").input(secret)
    at.text_input(key="request_redirect_uri").input("https://api.badgr.io/canvas/callback")
    at.radio(key="request_region").set_value("us")
    contact(at)


@pytest.mark.parametrize("secret, kind_word", [(SECRET[:20], "Show Key"), (SECRET[:63], "63"),
                                               (SECRET + "Q", "65"), (SECRET[:30] + " " + SECRET[30:], "spaces")])
def test_malformed_secret_blocks_the_request(secret, kind_word):
    at = page(session={"check_report": report_dict()})
    fill_self_hosted(at, secret)
    build(at)
    errors = [e.value for e in at.error]
    assert any(kind_word in e for e in errors), errors
    assert not at.download_button and not at.get("link_button")
    assert secret[:12] not in all_text(at)


def test_secret_left_out_by_default():
    at = page(session={"check_report": report_dict()})
    fill_self_hosted(at)
    build(at)
    assert not at.error
    text = all_text(at)
    assert SECRET not in text
    assert "Secret key: not in this email; I will send it separately." in at.code[0].value
    assert "secret" not in at.query_params
    assert SECRET not in str(at.query_params)


def test_secret_included_only_when_chosen():
    at = page(session={"check_report": report_dict()})
    fill_self_hosted(at)
    at.radio(key="request_secret_choice").set_value("include")
    build(at)
    assert f"Secret key: {SECRET}" in at.code[0].value
    assert SECRET in unquote(at.get("link_button")[0].proto.url)
    assert any("contains your secret" in w.value for w in at.warning)
    # the link to the prefilled form never carries it
    assert SECRET not in at.code[1].value and "client_id=10000000000003" in at.code[1].value
    assert SECRET not in str(at.query_params)


def test_broken_tls_refuses_with_a_way_back_to_the_fix():
    at = page(session={"check_report": report_dict(codes=("tls.incomplete_chain", "canvas.detected"))})
    fill_self_hosted(at)
    build(at)
    errors = [e.value for e in at.error]
    assert any("Badgr requires a valid, trusted certificate" in e and "tls.incomplete_chain" in e for e in errors)
    assert not at.download_button and not at.get("link_button")
    assert "/check?url=https%3A%2F%2Fcanvas.uni.edu" in all_text(at) or at.get("page_link")
    assert "Fix the fields marked above" not in all_text(at)


def test_a_secret_in_the_link_is_dropped_from_the_address_bar():
    at = page({"url": "https://canvas.uni.edu", "secret": SECRET, "client_id": "10000000000003"})
    assert "secret" not in at.query_params
    assert at.text_input(key="request_secret").value in ("", None)


def test_changing_the_kind_hides_the_outputs():
    at = page({"canvas_url_as_shown": "myschool.instructure.com", "region": "eu"})
    contact(at)
    build(at)
    assert at.download_button
    at.radio(key="request_kind").set_value(rq.SELF_HOSTED).run()
    assert not at.download_button


def test_a_bug_shows_a_friendly_message(monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(rq, "render_email", boom)
    at = page({"canvas_url_as_shown": "myschool.instructure.com", "region": "eu"})
    contact(at)
    with caplog.at_level("ERROR"):
        build(at)
    assert not at.exception
    assert any("Something went wrong on our side" in e.value for e in at.error)
    assert "renderer bug" in caplog.text  # the details go to the log


def test_a_bug_that_carries_the_secret_keeps_it_out_of_the_log(monkeypatch, caplog):
    def boom(req, *args, **kwargs):
        raise ValueError("cannot render " + req.secret)

    monkeypatch.setattr(rq, "render_email", boom)
    at = page(session={"check_report": report_dict()})
    fill_self_hosted(at)
    with caplog.at_level("ERROR"):
        build(at)
    assert not at.exception
    assert any("Something went wrong on our side" in e.value for e in at.error)
    assert "details withheld" in caplog.text
    assert SECRET not in caplog.text and SECRET not in all_text(at)


def test_browser_self_check_goes_into_the_email():
    browser = {"checked_at": "2026-12-04T10:05:00Z", "summary_lines": ["Browser: Chrome 131.0", "Badgr API (eu): blocked"],
               "problems": ["Badgr API (eu) (https://api.eu.badgr.io/) was blocked or unreachable from this browser."]}
    at = page({"url": "https://myschool.instructure.com"}, session={"browser_check": browser})
    contact(at)
    at.radio(key="request_region").set_value("eu")
    build(at)
    assert not at.error
    copy = at.code[0].value
    assert "Browser self-check (the admin's browser, 2026-12-04T10:05:00Z):" in copy
    assert "- Badgr API (eu): blocked" in copy and "- Problem: Badgr API (eu)" in copy
    assert "Browser self-check" in unquote(at.get("link_button")[0].proto.url)
    eml = at.download_button(key="request_download_eml")
    assert eml.label == "Download .eml"
