"""The portal's pages through Streamlit's AppTest, and the plain-Python logic behind them.

Pages get either a finished report in session state (rendering) or a real check against a
lab server on loopback (the Check page's live run). Nothing leaves the machine.
"""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from diagnostics import catalog
from diagnostics.model import Hosting, Report, TargetInfo
from diagnostics.ratelimit import RateLimiter, TTLCache
from diagnostics.store import SnapshotStore
from portal import browser as browser_logic
from portal import summary
from tests.lab.fake_canvas import FakeCanvas

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 30


# ----------------------------------------------------------------------------- helpers


def make_report(codes=("dns.resolved", "tls.incomplete_chain", "canvas.detected", "hosting.self_hosted"),
                host="canvas.lab.test", **extras) -> dict:
    findings = []
    for i, code in enumerate(codes):
        evidence = {"headers": {"X-Canvas-Meta": "o=users;n=show;"}} if code == "canvas.detected" else {"n": i}
        findings.append(catalog.finding(code, detail=f"detail for {code}", evidence=evidence, elapsed_ms=10 * (i + 1)))
    return Report(
        target=TargetInfo(host, f"https://{host}", host, 443), started_at="2026-12-04T10:00:00Z", elapsed_ms=812,
        hosting=Hosting("self_hosted"), findings=tuple(findings), extras=extras,
    ).to_dict()


def keys(at: AppTest) -> set[str]:
    return {b.key for b in at.container if b.key}


def app(monkeypatch, tmp_path, **env) -> AppTest:
    monkeypatch.setenv("CONNECT_CHECK_STORE", str(tmp_path / "reports.sqlite3"))
    monkeypatch.setenv("CONNECT_CHECK_RATE_SESSION", env.pop("rate_session", "100/60"))
    monkeypatch.setenv("CONNECT_CHECK_RATE_TARGET", env.pop("rate_target", "100/60"))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    st.cache_resource.clear()  # limits, cache and store are per process: start clean
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    # AppTest keeps an internal non-picklable value in session state, so Streamlit's own
    # serialisability check cannot run here; assert_serialisable() does it for our keys.
    config.set_option("runner.enforceSerializableSessionState", False)
    return at


def assert_serialisable(at: AppTest) -> None:
    for k, v in at.session_state.items():
        pickle.dumps(v), k


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not [e for e in at.error if "incident number" in e.value], "the error boundary caught a bug"


def lab_env(lab) -> dict[str, str]:
    return {
        "CONNECT_CHECK_RESOLVE": f"{lab.host}:{lab.port}:127.0.0.1",
        "CONNECT_CHECK_CA_BUNDLE": lab.ca_bundle,
        "CONNECT_CHECK_ALLOW_PRIVATE": "1",
        "CONNECT_CHECK_PORTS": "any",
    }


# ----------------------------------------------------------------------------- navigation


def _listed_pages() -> list[str]:
    tree = ast.parse((ROOT / "streamlit_app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets):
            return [row[0] for row in ast.literal_eval(node.value)]
    raise AssertionError("streamlit_app.py has no PAGES table")


def test_pages_listed_equal_files_in_pages_dir():
    listed = _listed_pages()
    files = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
    assert sorted(listed) == files or sorted(set(listed) - {"request.py"}) == files  # request.py: another team's
    assert listed[0] == "check.py"
    assert {"check.py", "explain.py", "browser.py", "support.py", "request.py"} <= set(listed)


def test_home_page_form(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path)
    at.run()
    no_exception(at)
    assert [t.value for t in at.title] == ["Connect Check"]
    labels = {t.label: t for t in at.text_input}
    assert {"Canvas URL", "Developer Key ID", "Redirect URI"} <= set(labels)
    assert all(w.help for w in [*at.text_input, *at.selectbox]), "every input has help text"
    assert [o for o in at.selectbox[0].options][:2] == ["Not sure / skip the Badgr step", "United States (badgr.com)"]
    assert any("noindex" in h.proto.body for h in at.get("html"))


@pytest.mark.parametrize("pasted, words", [
    ("ftp://canvas.example.edu", "Only web addresses"),
    ("https://admin:pw@canvas.example.edu", "user name or password"),
    ("not a url", "no spaces"),
])
def test_unusable_input_is_one_line(monkeypatch, tmp_path, pasted, words):
    at = app(monkeypatch, tmp_path)
    at.run()
    at.text_input(key="check_url").input(pasted)
    at.button[0].click().run()
    no_exception(at)
    assert len(at.error) == 1 and words in at.error[0].value.replace("\\", "")
    assert "\n" not in at.error[0].value and "Traceback" not in at.error[0].value
    assert "check_report" not in at.session_state


# ----------------------------------------------------------------------------- rendering a report


def test_report_rendering_hooks_and_downloads(monkeypatch, tmp_path):
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    tls = {"protocol": "TLSv1.3", "chain": [{"position": 0, "subject": "CN=canvas.lab.test", "issuer": "CN=Lab R3",
                                             "sans": ["canvas.lab.test"], "not_after": "2027-01-01"}]}
    at = app(monkeypatch, tmp_path)
    at.session_state["check_report"] = make_report(fixed_chain_pem=pem, tls=tls)
    at.session_state["check_meta"] = {"params": {"url": "https://canvas.lab.test", "region": "eu"}, "cached_age": 12}
    at.run()
    no_exception(at)
    k = keys(at)
    assert "verdict-blocked" in k
    assert {"finding-dns-resolved", "finding-tls-incomplete_chain", "finding-canvas-detected",
            "finding-hosting-self_hosted"} <= k
    assert at.query_params["url"] == "https://canvas.lab.test" and at.query_params["region"] == "eu"
    text = " ".join(m.value for m in at.markdown)
    assert "**Blocked**" in " ".join(a.value for a in at.error)
    assert "Next step:" in text and "Install the full chain" in text
    # grouped in reading order: Address, Certificate, Canvas, Hosting
    assert [s.value for s in at.subheader][:4] == ["Address", "Certificate", "Canvas", "Hosting"]
    assert any("short cache" in i.value for i in at.info)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download report (JSON)", "Download summary (Markdown)", "Download corrected chain (PEM)"]
    assert any("canvas.lab.test" in c.value and "url=" in c.value for c in at.code), "share link shown"
    assert_serialisable(at)


def test_save_and_open_permalink_then_rerun_diff(monkeypatch, tmp_path, canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    at = app(monkeypatch, tmp_path, **lab_env(lab))
    saved = make_report(host=lab.host)
    saved["target"]["origin"] = lab.url
    saved["target"]["port"] = lab.port
    at.session_state["check_report"] = saved
    at.session_state["check_meta"] = {"params": {"url": lab.url}, "cached_age": None}
    at.run()
    at.button(key="share-save").click().run()
    no_exception(at)
    report_id = at.session_state["check_saved"]["id"]
    assert any(f"report={report_id}" in c.value for c in at.code)
    snap = SnapshotStore(tmp_path / "reports.sqlite3").load(report_id)
    assert snap is not None and snap.meta["params"] == {"url": lab.url}

    fresh = app(monkeypatch, tmp_path, **lab_env(lab))
    fresh.query_params["report"] = report_id
    fresh.run()
    no_exception(fresh)
    assert any("checked on 2026-12-04 10:00:00 UTC" in i.value for i in fresh.info)
    assert "verdict-blocked" in keys(fresh) and "finding-tls-incomplete_chain" in keys(fresh)
    assert "Check" not in [b.label for b in fresh.button], "a saved report is read-only"
    fresh.button(key="check_rerun_button").click().run()
    no_exception(fresh)
    k = keys(fresh)
    assert "report-diff" in k and "verdict-ready" in k
    diff = " ".join(m.value for m in fresh.markdown)
    assert "Fixed: `tls.incomplete_chain`" in diff
    assert [m.value for m in fresh.metric] == ["1", "0", "0"]


def test_unknown_or_malformed_permalink(monkeypatch, tmp_path):
    for value in ("A" * 24, "../../etc/passwd"):
        at = app(monkeypatch, tmp_path)
        at.query_params["report"] = value
        at.run()
        no_exception(at)
        assert "not found" in at.error[0].value
        assert "kept for 30 days" in at.error[0].value


def test_pages_state_the_configured_expiry(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path, CONNECT_CHECK_STORE_DAYS="7")
    at.query_params["report"] = "A" * 24
    at.run()
    no_exception(at)
    assert "kept for 7 days" in at.error[0].value


# ----------------------------------------------------------------------------- live check


def test_live_check_share_link_and_cache(monkeypatch, tmp_path, canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    at = app(monkeypatch, tmp_path, **lab_env(lab))
    at.run()
    at.text_input(key="check_url").input(lab.url + "/courses/1?login_hint=secret-hint")
    at.selectbox(key="check_region").select("eu")
    at.text_input(key="check_client_id").input("10000000000003")
    at.button[0].click().run()
    no_exception(at)
    k = keys(at)
    # eu's Badgr API is not reachable from the lab: the region went through to the engine
    assert "verdict-action_needed" in k and "finding-badgr-unreachable" in k, k
    assert {"finding-dns-resolved", "finding-tls-trusted", "finding-canvas-detected"} <= k
    report = at.session_state["check_report"]
    assert report["target"]["origin"] == lab.url
    assert "secret-hint" not in str(report) and "secret-hint" not in str(dict(at.query_params))
    assert at.query_params["url"] == lab.url + "/courses/1"
    assert at.query_params["region"] == "eu" and at.query_params["client_id"] == "10000000000003"
    assert_serialisable(at)

    # The same link in a new session runs on load and, within a minute, comes from the cache.
    shared = app(monkeypatch, tmp_path, **lab_env(lab))
    for name, value in at.query_params.items():
        shared.query_params[name] = value
    shared.run()
    no_exception(shared)
    assert "verdict-action_needed" in keys(shared)
    assert shared.session_state["check_report"]["findings"][0]["code"] == report["findings"][0]["code"]
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, value in at.query_params.items():
        again.query_params[name] = value
    again.run()
    no_exception(again)
    assert any("short cache" in i.value for i in again.info)
    assert {f["code"] for f in again.session_state["check_report"]["findings"]} == {f["code"] for f in report["findings"]}


BADGR_URI = "https://api.badgr.io/example/callback"


def _all_state(at: AppTest) -> str:
    return repr({k: at.session_state[k] for k in at.session_state})


def test_check_page_redirect_uri_advice(monkeypatch, tmp_path, canvas_lab):
    canvas = FakeCanvas(hosted=False)
    key = canvas.add_key(redirect_uris=[BADGR_URI + "/"])
    lab = canvas_lab(canvas)
    at = app(monkeypatch, tmp_path, **lab_env(lab))
    at.run()
    labels = {w.label: w for w in [*at.text_input, *at.text_area]}
    assert {"Redirect URIs in your Developer Key", "Redirect URI (Legacy) in your Developer Key"} <= set(labels)
    at.text_input(key="check_url").input(lab.url)
    at.text_input(key="check_client_id").input(key.id)
    at.text_input(key="check_redirect_uri").input(BADGR_URI)
    at.text_area(key="check_key_redirect_uris").input(BADGR_URI + "/\n\n")
    at.button[0].click().run()
    no_exception(at)
    k = keys(at)
    assert {"finding-oauth-redirect_uri_advice", "finding-oauth-redirect_uri_mismatch"} <= k, k
    advice = next(f for f in at.session_state["check_report"]["findings"] if f["code"] == "oauth.redirect_uri_advice")
    assert advice["status"] == "warn" and advice["evidence"]["will_match"] is False
    assert any("slash" in r for r in advice["evidence"]["reasons"])
    # the key's own fields travel in the share link (cleaned, blank lines dropped), so the
    # receiver of the link sees the same advice
    assert set(at.query_params) == {"url", "client_id", "redirect_uri", "key_redirect_uris"}
    link = {k: at.query_params[k] for k in at.query_params}
    assert link["key_redirect_uris"] == BADGR_URI + "/"
    receiver = app(monkeypatch, tmp_path, **lab_env(lab))
    receiver.query_params.update(link)
    receiver.run(timeout=60)
    no_exception(receiver)
    assert receiver.text_area(key="check_key_redirect_uris").value == BADGR_URI + "/"
    again = next(f for f in receiver.session_state["check_report"]["findings"] if f["code"] == "oauth.redirect_uri_advice")
    assert again["evidence"]["will_match"] is False and again["evidence"]["reasons"] == advice["evidence"]["reasons"]


def test_check_page_verifies_secret_once_and_forgets_it(monkeypatch, tmp_path, canvas_lab, caplog):
    caplog.set_level("DEBUG")
    canvas = FakeCanvas(hosted=False)
    key = canvas.add_key(redirect_uri="https://api.badgr.io")
    secret = key.api_key
    lab = canvas_lab(canvas)
    tokens = lambda: [r for r in lab.server.requests if r.startswith("POST /login/oauth2/token")]  # noqa: E731
    at = app(monkeypatch, tmp_path, **lab_env(lab))
    at.run()
    field = at.text_input(key="check_secret")
    assert field.label == "Secret key" and field.proto.type == field.proto.PASSWORD
    assert "never stored, shared or logged" in field.help and "validated TLS" in field.help
    assert at.checkbox(key="check_verify_secret").label == "Also verify my secret key"
    at.text_input(key="check_url").input(lab.url)
    at.text_input(key="check_client_id").input(key.id)
    at.checkbox(key="check_verify_secret").check()
    at.text_input(key="check_secret").input(secret)
    at.button[0].click().run()
    no_exception(at)
    assert "finding-oauth-secret_ok" in keys(at), keys(at)
    assert len(tokens()) == 1, "the secret reached the fake Canvas's token endpoint once"
    assert at.text_input(key="check_secret").value == "" and at.checkbox(key="check_verify_secret").value is False
    assert secret not in _all_state(at)
    assert secret not in repr(dict(at.query_params)) and "secret" not in repr(dict(at.query_params))
    assert secret not in repr(at.session_state["check_report"])
    assert not any(secret in c.value for c in at.code), "not in the share link"
    assert secret not in caplog.text

    # Saving the report stores no secret.
    at.button(key="share-save").click().run()
    no_exception(at)
    snap = SnapshotStore(tmp_path / "reports.sqlite3").load(at.session_state["check_saved"]["id"])
    assert snap is not None and secret not in repr(snap.report) + repr(snap.meta)

    # The same check without the secret is not answered from a secret run (nothing was cached) ...
    at.button[0].click().run()
    no_exception(at)
    assert "finding-oauth-secret_ok" not in keys(at) and len(tokens()) == 1
    assert not any("short cache" in i.value for i in at.info)
    # ... and a secret run is never answered from the cache that run just filled.
    at.checkbox(key="check_verify_secret").check()
    at.text_input(key="check_secret").input(secret[::-1])
    at.button[0].click().run()
    no_exception(at)
    assert "finding-oauth-secret_invalid" in keys(at) and len(tokens()) == 2
    assert not any("short cache" in i.value for i in at.info)
    assert secret[::-1] not in _all_state(at) and secret[::-1] not in caplog.text
    assert_serialisable(at)


def test_secret_box_ticked_without_a_secret(monkeypatch, tmp_path, canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    at = app(monkeypatch, tmp_path, **lab_env(lab))
    at.run()
    at.text_input(key="check_url").input(lab.url)
    at.checkbox(key="check_verify_secret").check()
    at.button[0].click().run()
    no_exception(at)
    assert "verdict-ready" in keys(at)
    assert not [k for k in keys(at) if k.startswith("finding-oauth-secret")]
    assert any("field was empty" in i.value for i in at.info)


def test_rate_limit_is_polite(monkeypatch, tmp_path, canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    at = app(monkeypatch, tmp_path, rate_target="1/60", **lab_env(lab))
    at.run()
    at.text_input(key="check_url").input(lab.url)
    at.button[0].click().run()
    assert "verdict-ready" in keys(at)
    at.button(key="check_again").click().run()  # a fresh run of the same target inside the window
    no_exception(at)
    assert any("wait about" in w.value for w in at.warning)


# ----------------------------------------------------------------------------- other pages


def test_explain_page(monkeypatch, tmp_path):
    pytest.importorskip("diagnostics.explain")
    at = app(monkeypatch, tmp_path)
    at.switch_page("pages/explain.py").run()
    no_exception(at)
    area = at.text_area[0]
    assert area.label == "Paste the error message" and area.help
    paste = ('{"error":"invalid_request","error_description":"redirect_uri does not match client settings"} '
             "at https://canvas.example.edu/login/oauth2/auth?client_id=10000000000003&login_hint=abcdef123456")
    area.input(paste)
    at.button[0].click().run()
    no_exception(at)
    assert "match-oauth-redirect_uri_mismatch" in keys(at)
    shown = " ".join(c.value for c in at.code)
    assert "abcdef123456" not in shown
    assert not any("abcdef123456" in m.value for m in at.markdown), "the paste is never rendered as Markdown"
    assert at.session_state["explain_extracted"]["client_id"] == "10000000000003"
    at.button(key="explain_check").click().run()
    no_exception(at)
    assert at.query_params["url"].startswith("https://canvas.example.edu")
    assert at.text_input(key="check_url").value.startswith("https://canvas.example.edu")


def test_explain_unknown_paste(monkeypatch, tmp_path):
    pytest.importorskip("diagnostics.explain")
    at = app(monkeypatch, tmp_path)
    at.switch_page("pages/explain.py").run()
    at.text_area[0].input("the coffee machine is broken")
    at.button[0].click().run()
    no_exception(at)
    assert not [k for k in keys(at) if k.startswith("match-")]
    assert any("do not recognise" in i.value for i in at.info)


def test_browser_page_processes_component_result(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path, CONNECT_CHECK_BROWSER_TARGETS="Local=http://127.0.0.1:9/")
    at.switch_page("pages/browser.py").run()
    no_exception(at)
    assert at.selectbox(key="browser_region").help
    # The component itself runs in a browser (see tests/e2e); here its result is handed in.
    raw = {"hosts": [{"name": "Local", "url": "http://127.0.0.1:9/", "status": "blocked", "ms": 3}],
           "popups": "allowed", "cookies": {"enabled": True, "first_party_ok": True, "storage_access_api": True},
           "user_agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
           "client_time_ms": 0}
    at.session_state["browser_check"] = browser_logic.evaluate(raw, server_now_ms=0, region="us")
    at.run()
    no_exception(at)
    assert "browser-result-problems" in keys(at)
    assert any("blocked or unreachable" in w for w in at.session_state["browser_check"]["problems"][0:1])


def test_support_page_batch_and_open(monkeypatch, tmp_path, canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=False))
    at = app(monkeypatch, tmp_path, **lab_env(lab))
    at.switch_page("pages/support.py").run()
    no_exception(at)
    assert all(w.help for w in [*at.text_input, *at.text_area, *at.slider])
    at.text_area(key="support_text").input(f"url\n{lab.url}\n{lab.url}/x\nftp://nope.example.edu\n")
    at.button[1].click().run()
    no_exception(at)
    rows = at.session_state["support_rows"]
    assert [r["url"] for r in rows] == [lab.url]
    assert rows[0]["verdict"] == "ready" and rows[0]["hosting"] == "self_hosted"
    assert len(at.session_state["support_errors"]) == 1
    assert at.get("download_button")[0].proto.label == "Download table (CSV)"
    at.text_input(key="support_report_id").input("https://portal.example/check?report=" + "B" * 24)
    at.button[0].click().run()
    no_exception(at)
    assert at.query_params["report"] == "B" * 24


def _inputs(at: AppTest) -> list:
    kinds = ("text_input", "text_area", "selectbox", "radio", "checkbox", "slider", "multiselect", "number_input")
    return [w for kind in kinds for w in at.get(kind)]


@pytest.mark.parametrize("page_file", ["check.py", "explain.py", "request.py", "browser.py", "support.py"])
def test_every_input_has_help_text(monkeypatch, tmp_path, page_file):
    at = app(monkeypatch, tmp_path)
    at.switch_page(f"pages/{page_file}").run()
    no_exception(at)
    widgets = _inputs(at)
    if page_file == "request.py":  # both kinds of request show different fields
        at.radio(key="request_kind").set_value("self_hosted").run()
        widgets += _inputs(at)
    assert widgets
    assert [w.label for w in widgets if not w.help] == []


def test_error_boundary(monkeypatch, tmp_path):
    at = app(monkeypatch, tmp_path)
    at.session_state["check_report"] = {"schema": 99}  # not a report: rendering it is our bug
    at.run()
    assert not at.exception
    assert any("incident number" in e.value for e in at.error)
    assert "Traceback" not in " ".join(e.value for e in at.error)


# ----------------------------------------------------------------------------- plain logic


def test_verdict_view_and_markdown():
    blocked = summary.verdict_view(make_report())
    assert (blocked.verdict, blocked.headline) == ("blocked", "Blocked") and blocked.next_step
    two = summary.verdict_view(make_report(("dns.resolved", "tls.trusted", "canvas.not_detected", "oauth.unknown_client")))
    assert two.headline == "Action needed (2 things to fix)"
    ready = summary.verdict_view(make_report(("dns.resolved", "tls.trusted", "canvas.detected")))
    assert (ready.headline, ready.next_step) == ("Ready", "")
    md = summary.markdown_summary(make_report(), share_link="http://x/check?url=a")
    assert md.startswith("# Connect Check: https://canvas.lab.test")
    assert "## Certificate" in md and "tls.incomplete_chain" in md and "Fix:" in md and "http://x/check?url=a" in md


def test_group_by_step_order():
    report = make_report(("hosting.self_hosted", "canvas.detected", "dns.resolved", "tls.trusted"))
    assert [s for s, _, _ in summary.group_by_step(report["findings"])] == ["address", "certificate", "canvas", "hosting"]


def test_diff_reports():
    before = make_report(("dns.resolved", "tls.incomplete_chain", "canvas.not_detected"))
    after = make_report(("dns.resolved", "tls.trusted", "canvas.not_detected", "tls.expiring_soon"))
    d = summary.diff_reports(before, after)
    assert d.fixed == ("tls.incomplete_chain",) and d.new == ("tls.expiring_soon",)
    assert d.unchanged == ("canvas.not_detected",) and d.changed


def test_container_key():
    assert summary.container_key("finding", "tls.incomplete_chain") == "finding-tls-incomplete_chain"


def test_rate_limiter_sliding_window():
    now = [0.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    assert limiter.hit("s") and limiter.hit("s")
    refused = limiter.hit("s")
    assert not refused and refused.retry_after == pytest.approx(60)
    assert limiter.hit("other")
    now[0] = 30
    assert limiter.check("s").retry_after == pytest.approx(30)
    now[0] = 60.01
    assert limiter.hit("s")


def test_ttl_cache():
    now = [0.0]
    cache: TTLCache[str] = TTLCache(60, max_items=2, clock=lambda: now[0])
    cache.put("a", "A")
    now[0] = 59
    hit = cache.get("a")
    assert hit is not None and hit.value == "A" and hit.age == 59
    now[0] = 60
    assert cache.get("a") is None
    cache.put("b", "B"), cache.put("c", "C"), cache.put("d", "D")
    assert cache.get("b") is None and len(cache) == 2


@pytest.mark.parametrize("ua, name, version, third_party", [
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
     "Safari", "17.4", "blocked by default"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
     "Chrome", "131.0", "allowed by default"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
     "Edge", "131.0", "allowed by default"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox", "133.0", "partitioned by default"),
    ("curl/8", "Unknown browser", "", "unknown"),
])
def test_browser_evaluate(ua, name, version, third_party):
    raw = {"hosts": [{"name": "Badgr web (eu)", "url": "https://eu.badgr.com/", "status": "reachable", "ms": 120},
                     {"name": "Badgr API (eu)", "url": "https://api.eu.badgr.io/", "status": "timeout", "ms": 6000}],
           "popups": "blocked", "cookies": {"enabled": True, "first_party_ok": True, "storage_access_api": True},
           "user_agent": ua, "client_time_ms": 1_000_000 + 90_000}
    out = browser_logic.evaluate(raw, server_now_ms=1_000_000, region="eu")
    assert (out["browser"]["name"], out["browser"]["version"]) == (name, version)
    assert out["cookies"]["third_party"] == third_party
    assert out["clock"] == {"skew_s": 90.0, "ok": False}
    assert [h["ok"] for h in out["hosts"]] == [True, False]
    problems = " ".join(out["problems"])
    assert "timed out" in problems and "90 seconds ahead" in problems and "Pop-ups are blocked" in problems
    assert any(line.startswith("Badgr API (eu): timeout") for line in out["summary_lines"])
    pickle.dumps(out)


def test_browser_targets(monkeypatch):
    monkeypatch.delenv("CONNECT_CHECK_BROWSER_TARGETS", raising=False)
    assert [t["url"] for t in browser_logic.targets_for("eu")] == ["https://eu.badgr.com/", "https://api.eu.badgr.io/"]
    assert [t["url"] for t in browser_logic.targets_for("sg")] == ["https://sg.badgr.io/", "https://api.sg.badgr.io/"]
    env = {"CONNECT_CHECK_BROWSER_TARGETS": "Web=http://127.0.0.1:1/,bad=javascript:alert(1),Api=https://x.test/"}
    assert [t["name"] for t in browser_logic.targets_for("us", env)] == ["Web", "Api"]


def test_browser_targets_follow_the_operator_regions_file(monkeypatch, tmp_path):
    monkeypatch.delenv("CONNECT_CHECK_BROWSER_TARGETS", raising=False)
    override = tmp_path / "regions.toml"
    override.write_text('[regions.eu]\nweb = "badges.eu.example.org"\napi = "api.badges.eu.example.org:8443"\n')
    env = {"CONNECT_CHECK_REGIONS": str(override)}
    assert [t["url"] for t in browser_logic.targets_for("eu", env)] == [
        "https://badges.eu.example.org/", "https://api.badges.eu.example.org:8443/"]
    assert [t["url"] for t in browser_logic.targets_for("us", env)] == ["https://badgr.com/", "https://api.badgr.io/"]
    broken = tmp_path / "broken.toml"
    broken.write_text("[regions.eu\n")  # noticed, not quietly replaced by the defaults
    with pytest.raises(browser_logic.regions.RegionsError):
        browser_logic.targets_for("eu", {"CONNECT_CHECK_REGIONS": str(broken)})


def test_components_are_self_contained():
    from portal.components import COMPONENT_DIRS

    bridges = {(d / "bridge.js").read_text() for d in COMPONENT_DIRS}
    assert len(bridges) == 1, "the bridge.js copies drifted apart"
    for d in COMPONENT_DIRS:
        for f in d.iterdir():
            text = f.read_text()
            assert "http://" not in text and "https://" not in text and "//cdn" not in text, f
    assert (ROOT / "portal" / "static" / "favicon.png").exists()


def test_production_config():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["runner"]["enforceSerializableSessionState"] is True
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["maxUploadSize"] <= 2
    assert cfg["server"]["enableCORS"] is True  # in Streamlit 1.67 true is the protection
    assert cfg["server"]["fileWatcherType"] == "none"


def test_readme_documents_every_setting_and_keeps_the_two_commands():
    import re

    readme = (ROOT / "README.md").read_text()
    assert readme.splitlines()[3].startswith("make run") and readme.splitlines()[4].startswith("make test")
    code = "".join(p.read_text() for d in ("diagnostics", "portal", "pages") for p in (ROOT / d).rglob("*.py"))
    read = set(re.findall(r"CONNECT_CHECK_[A-Z_]*[A-Z]", code))
    assert read and not {v for v in read if f"`{v}`" not in readme}
    for shot in re.findall(r"\((docs/screenshots/[\w.-]+\.png)\)", readme):
        assert (ROOT / shot).exists(), shot
