"""The Developer Key step against a fake Canvas that decides like canvas-lms (reference §3-§5).

Each row sets up a key the way an admin might have left it and expects the code Canvas's
own answer leads to; pure tables pin the readings of raw answers (JSON with and without
``while(1);``, 302 forms, SSO front doors).
"""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from diagnostics.checks.oauth import OOB_URI, read_auth_answer, read_token_answer
from diagnostics.model import Status
from diagnostics.net import HttpResult
from diagnostics.runner import Options, run_check
from diagnostics.target import parse
from tests.lab.fake_canvas import FakeCanvas

URI = "https://api.badgr.io/example/callback"
ORIGIN = "https://canvas.lab.test"


def run(lab, **options):
    return run_check(parse(lab.url), Options(**options), lab.policy())


def auth_requests(lab):
    return [r for r in lab.server.requests if r.startswith("GET /login/oauth2/auth")]


def token_requests(lab):
    return [r for r in lab.server.requests if r.startswith("POST /login/oauth2/token")]


def oauth_codes(report):
    return {f.code: f.status for f in report.findings if f.code.startswith("oauth.")}


# ----------------------------------------------------------------------------- the decision table, live

KEY_CASES = [
    # id, key settings (None: no such key), redirect uri sent, expected code, status
    ("ok-legacy", dict(redirect_uri="https://api.badgr.io"), URI, "oauth.client_ok", Status.PASS),
    ("ok-list", dict(redirect_uris=[URI]), URI, "oauth.client_ok", Status.PASS),
    ("ok-parent-domain", dict(redirect_uri="https://badgr.io/anything"), URI, "oauth.client_ok", Status.PASS),
    ("unknown", None, URI, "oauth.unknown_client", Status.FAIL),
    ("inactive", dict(redirect_uri="https://api.badgr.io", state="inactive"), URI, "oauth.unknown_client", Status.FAIL),
    ("deleted", dict(redirect_uri="https://api.badgr.io", state="deleted"), URI, "oauth.unknown_client", Status.FAIL),
    ("list-slash", dict(redirect_uris=[URI + "/"]), URI, "oauth.redirect_uri_mismatch", Status.FAIL),
    ("legacy-http", dict(redirect_uri="http://api.badgr.io"), URI, "oauth.redirect_uri_mismatch", Status.FAIL),
    ("legacy-region", dict(redirect_uri="https://api.eu.badgr.io"), URI, "oauth.redirect_uri_mismatch", Status.FAIL),
    ("off", dict(redirect_uri="https://api.badgr.io", binding="off"), URI, "oauth.unauthorized_client", Status.FAIL),
    ("allow", dict(redirect_uri="https://api.badgr.io", binding="allow"), URI, "oauth.unauthorized_client", Status.FAIL),
    ("scopes", dict(redirect_uri="https://api.badgr.io", require_scopes=True, scopes=["url:GET|/api/v1/users/:id"]),
     URI, "oauth.invalid_scope", Status.WARN),
    # §3 order: a bad redirect URI answers before scopes and On/Off are looked at
    ("mismatch-before-off", dict(redirect_uris=[URI + "/"], binding="off"), URI, "oauth.redirect_uri_mismatch", Status.FAIL),
    ("scope-before-off", dict(redirect_uri="https://api.badgr.io", binding="off", require_scopes=True), URI,
     "oauth.invalid_scope", Status.WARN),
    ("inactive-before-mismatch", dict(redirect_uris=["https://x.example/"], state="inactive"), URI,
     "oauth.unknown_client", Status.FAIL),
    # no redirect URI known: the out-of-band URI still tests ID, scopes and On/Off
    ("oob-ok", dict(redirect_uri="https://api.badgr.io"), None, "oauth.client_ok", Status.PASS),
    ("oob-off", dict(redirect_uri="https://api.badgr.io", binding="off"), None, "oauth.unauthorized_client", Status.FAIL),
    ("oob-scopes", dict(redirect_uri="https://api.badgr.io", require_scopes=True), None, "oauth.invalid_scope", Status.WARN),
    ("oob-unknown", None, None, "oauth.unknown_client", Status.FAIL),
]


@pytest.mark.parametrize("key, redirect_uri, code, status", [c[1:] for c in KEY_CASES], ids=[c[0] for c in KEY_CASES])
def test_developer_key_probe(canvas_lab, key, redirect_uri, code, status):
    canvas = FakeCanvas()
    client_id = canvas.add_key(**key).id if key is not None else "10000000000099"
    lab = canvas_lab(canvas)
    report = run(lab, client_id=client_id, redirect_uri=redirect_uri)
    found = report.finding(code)
    assert found is not None, oauth_codes(report)
    assert found.status == status
    assert oauth_codes(report) == {code: status}
    assert len(auth_requests(lab)) == 1, "exactly one probe"
    request = parse_qs(urlsplit(auth_requests(lab)[0].split(" ", 1)[1]).query)
    assert request["response_type"] == ["code"] and request["client_id"] == [client_id]
    assert request["redirect_uri"] == [redirect_uri or OOB_URI]
    assert found.fix or status == Status.PASS
    assert found.evidence["status"] in (302, 400, 401)


def test_client_ok_says_what_was_checked(canvas_lab):
    canvas = FakeCanvas()
    key = canvas.add_key(redirect_uri="https://api.badgr.io")
    lab = canvas_lab(canvas)
    ok = run(lab, client_id=key.id, redirect_uri=URI).finding("oauth.client_ok")
    assert URI in ok.detail and "/login" in ok.detail
    oob = run(lab, client_id=key.id).finding("oauth.client_ok")
    assert "not checked" in oob.detail and oob.evidence["redirect_uri_source"] is None


def test_no_client_id_no_probe(canvas_lab):
    lab = canvas_lab()
    report = run(lab)
    assert oauth_codes(report) == {}
    assert auth_requests(lab) == []


@pytest.mark.parametrize("typed, kind", [
    ("Badgr", "not_digits"),
    ("https://canvas.lab.test/accounts/1/developer_keys", "url"),
    ("1000 0000 000003", "whitespace"),
    ("17~44", "tilde_id"),
])
def test_malformed_id_is_reported_and_never_sent(canvas_lab, typed, kind):
    lab = canvas_lab()
    report = run(lab, client_id=typed, redirect_uri=URI)
    f = report.finding("oauth.key_format")
    assert f.status == Status.FAIL
    assert [p["kind"] for p in f.evidence["problems"]] == [kind]
    assert auth_requests(lab) == []


def test_unusual_id_length_warns_and_still_probes(canvas_lab):
    canvas = FakeCanvas()
    canvas.add_key(id="123", redirect_uri="https://api.badgr.io")
    lab = canvas_lab(canvas)
    report = run(lab, client_id=" 123 ", redirect_uri=URI)
    assert report.finding("oauth.key_format").status == Status.WARN
    assert report.finding("oauth.client_ok").status == Status.PASS
    assert "client_id=123&" in auth_requests(lab)[0]


def test_unknown_id_on_beta_mentions_the_refresh(canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=True, environment="beta"), host="myschool.beta.instructure.com")
    report = run(lab, client_id="170000000000044", redirect_uri=URI)
    detail = report.finding("oauth.unknown_client").detail
    assert "unknown client" in detail and "refreshed from production" in detail


def test_region_redirect_uri_is_used_when_none_entered(canvas_lab, regions_override):
    regions_override(eu={"redirect_uris": ["https://api.eu.badgr.io/example/callback"]})
    canvas = FakeCanvas()
    key = canvas.add_key(redirect_uris=["https://api.eu.badgr.io/example/callback"])
    lab = canvas_lab(canvas)
    report = run(lab, client_id=key.id, region="eu")
    ok = report.finding("oauth.client_ok")
    assert ok is not None and ok.evidence["redirect_uri_source"] == "region"
    assert "api.eu.badgr.io" in auth_requests(lab)[0]


def test_entered_redirect_uri_wins_over_region(canvas_lab, regions_override):
    regions_override(eu={"redirect_uris": ["https://api.eu.badgr.io/example/callback"]})
    canvas = FakeCanvas()
    key = canvas.add_key(redirect_uris=[URI])
    lab = canvas_lab(canvas)
    report = run(lab, client_id=key.id, region="eu", redirect_uri=URI)
    assert report.finding("oauth.client_ok").evidence["redirect_uri_source"] == "entered"


def test_advice_before_the_probe_agrees_with_canvas(canvas_lab):
    canvas = FakeCanvas()
    key = canvas.add_key(redirect_uris=[URI + "/"], redirect_uri="http://api.badgr.io")
    lab = canvas_lab(canvas)
    report = run(lab, client_id=key.id, redirect_uri=URI,
                 key_redirect_uris=(URI + "/",), key_legacy_redirect_uri="http://api.badgr.io")
    advice = report.finding("oauth.redirect_uri_advice")
    assert advice.status == Status.WARN and advice.evidence["will_match"] is False
    assert any("ends with a slash" in r for r in advice.evidence["reasons"])
    mismatch = report.finding("oauth.redirect_uri_mismatch")
    assert "Redirect URI (Legacy)" in mismatch.detail  # the advice's suggestion rides along


def test_advice_without_a_client_id(canvas_lab):
    lab = canvas_lab()
    report = run(lab, redirect_uri=URI, key_legacy_redirect_uri="https://api.badgr.io")
    advice = report.finding("oauth.redirect_uri_advice")
    assert advice.status == Status.INFO and advice.evidence["matched_by"] == "legacy"
    assert auth_requests(lab) == []


def _sso_front_door(h):
    h.answer(302, "", {"Location": "https://idp.university.lab.test/idp/profile/SAML2/Redirect/SSO?SAMLRequest=abc"})


def _portal_page(h):
    h.answer(200, "<html><body>Welcome to the campus portal</body></html>", {"Content-Type": "text/html"})


@pytest.mark.parametrize("route, words", [
    (_sso_front_door, "another site"),
    (_portal_page, "text/html"),
])
def test_anything_else_is_inconclusive_with_evidence(canvas_lab, route, words):
    canvas = FakeCanvas(extra_routes={("GET", "/login/oauth2/auth"): route})
    lab = canvas_lab(canvas)
    report = run(lab, client_id="10000000000001", redirect_uri=URI)
    f = report.finding("oauth.probe_inconclusive")
    assert f.status == Status.WARN and words in f.detail
    assert f.evidence["request"].startswith("GET https://")
    assert oauth_codes(report) == {"oauth.probe_inconclusive": Status.WARN}


def test_browser_style_request_gets_while1_prefix(canvas_lab):
    """The fake adds Canvas's JSON-hijacking guard for GETs without Accept: application/json."""
    import ssl

    import httpx

    canvas = FakeCanvas()
    lab = canvas_lab(canvas)
    with httpx.Client(verify=ssl.create_default_context(cafile=lab.ca_bundle)) as client:
        url = f"https://127.0.0.1:{lab.port}/login/oauth2/auth?client_id=1&response_type=code&redirect_uri={URI}"
        browser = client.get(url, headers={"Host": lab.host, "Accept": "text/html"}, extensions={"sni_hostname": lab.host})
        api = client.get(url, headers={"Host": lab.host, "Accept": "application/json"}, extensions={"sni_hostname": lab.host})
    assert browser.status_code == api.status_code == 401
    assert browser.text.startswith("while(1);") and not api.text.startswith("while(1);")
    assert browser.headers["WWW-Authenticate"] == "Canvas OAuth 2.0"
    assert json.loads(api.text) == {"error": "invalid_client", "error_description": "unknown client"}


# ----------------------------------------------------------------------------- readings of raw answers


def answer(status, body="", location=None, content_type="application/json"):
    headers = [("content-type", content_type)] + ([("location", location)] if location else [])
    return HttpResult(url=f"{ORIGIN}/login/oauth2/auth", status=status, headers=tuple(headers), body=body.encode())


UNKNOWN = json.dumps({"error": "invalid_client", "error_description": "unknown client"})
MISMATCH = json.dumps({"error": "invalid_request", "error_description": "redirect_uri does not match client settings"})
SCOPE = "A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. " \
        "The following scopes were requested, but not granted: url:GET|/api/v1/users"

AUTH_READINGS = [
    ("unknown-json", answer(401, UNKNOWN), URI, "oauth.unknown_client"),
    ("unknown-while1", answer(401, "while(1);" + UNKNOWN), URI, "oauth.unknown_client"),
    ("mismatch", answer(400, "while(1);" + MISMATCH), URI, "oauth.redirect_uri_mismatch"),
    ("mismatch-oob", answer(400, MISMATCH), OOB_URI, "oauth.probe_inconclusive"),
    ("scope-302", answer(302, location=f"{URI}?error=invalid_scope&error_description=x"), URI, "oauth.invalid_scope"),
    ("scope-oob-json", answer(400, json.dumps({"error": "invalid_scope", "error_description": SCOPE})), OOB_URI,
     "oauth.invalid_scope"),
    ("off-302", answer(302, location=f"{URI}?error=unauthorized_client&error_description=Client+does+not+have+access"),
     URI, "oauth.unauthorized_client"),
    ("off-302-existing-query", answer(302, location=f"{URI}?a=1&error=unauthorized_client"), URI + "?a=1",
     "oauth.unauthorized_client"),
    ("off-oob", answer(302, location=f"{ORIGIN}/login/oauth2/auth?error=unauthorized_client"), OOB_URI,
     "oauth.unauthorized_client"),
    ("login", answer(302, location=f"{ORIGIN}/login"), URI, "oauth.client_ok"),
    ("login-canvas", answer(302, location="/login/canvas"), URI, "oauth.client_ok"),
    ("login-other-host", answer(302, location="https://sso.university.lab.test/login"), URI, "oauth.probe_inconclusive"),
    ("error-elsewhere", answer(302, location="https://evil.lab.test/?error=unauthorized_client"), URI,
     "oauth.probe_inconclusive"),
    ("response-type", answer(302, location=f"{URI}?error=unsupported_response_type"), URI, "oauth.probe_inconclusive"),
    ("html-200", answer(200, "<html>login</html>", content_type="text/html"), URI, "oauth.probe_inconclusive"),
    ("rate-limited", answer(403, "403 Forbidden (Rate Limit Exceeded)", content_type="text/plain"), URI,
     "oauth.probe_inconclusive"),
    ("garbage-json", answer(401, "while(1);{nope"), URI, "oauth.probe_inconclusive"),
]


@pytest.mark.parametrize("result, redirect_uri, code", [c[1:] for c in AUTH_READINGS], ids=[c[0] for c in AUTH_READINGS])
def test_read_auth_answer(result, redirect_uri, code):
    reading = read_auth_answer(result, ORIGIN, "10000000000001", redirect_uri)
    assert reading.code == code
    assert reading.evidence["status"] == result.status


TOKEN_READINGS = [
    ("wrong-secret-json", answer(401, json.dumps({"error": "invalid_client", "error_description": "invalid client"})),
     "oauth.secret_invalid"),
    ("right-secret-json", answer(400, json.dumps({"error": "invalid_grant", "error_description": "authorization_code not found"})),
     "oauth.secret_ok"),
    ("right-secret-other-key-code", answer(400, json.dumps({"error": "invalid_grant", "error_description": "incorrect client"})),
     "oauth.secret_ok"),
    ("wrong-secret-302", answer(302, location=f"{URI}?error=invalid_client&error_description=invalid+client"),
     "oauth.secret_invalid"),
    ("right-secret-302", answer(302, location=f"{URI}?error=invalid_grant&error_description=authorization_code+not+found"),
     "oauth.secret_ok"),
    ("unknown-client", answer(401, UNKNOWN), "oauth.secret_not_checked"),
    ("html", answer(200, "<html/>", content_type="text/html"), "oauth.secret_not_checked"),
    ("unsupported", answer(400, json.dumps({"error": "unsupported_grant_type"})), "oauth.secret_not_checked"),
]


@pytest.mark.parametrize("result, code", [c[1:] for c in TOKEN_READINGS], ids=[c[0] for c in TOKEN_READINGS])
def test_read_token_answer(result, code):
    assert read_token_answer(result).code == code


# ----------------------------------------------------------------------------- secret verification, live


@pytest.mark.parametrize("redirect_form", [False, True], ids=["json", "302"])
@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
def test_secret_verification(canvas_lab, redirect_form, right):
    canvas = FakeCanvas(token_errors_redirect=redirect_form)
    key = canvas.add_key(redirect_uri="https://api.badgr.io")
    lab = canvas_lab(canvas)
    secret = key.api_key if right else key.api_key[::-1]
    report = run(lab, client_id=key.id, redirect_uri=URI, secret=secret)
    code = "oauth.secret_ok" if right else "oauth.secret_invalid"
    f = report.finding(code)
    assert f is not None, oauth_codes(report)
    assert f.evidence["form"] == ("redirect" if redirect_form else "json")
    assert len(token_requests(lab)) == 1
    assert report.finding("oauth.client_ok") is not None


def test_secret_without_redirect_uri_gets_json(canvas_lab):
    canvas = FakeCanvas(token_errors_redirect=True)
    key = canvas.add_key(redirect_uri="https://api.badgr.io")
    lab = canvas_lab(canvas)
    report = run(lab, client_id=key.id, secret=key.api_key)
    assert report.finding("oauth.secret_ok").evidence["form"] == "json"


def test_secret_not_sent_for_unknown_key(canvas_lab):
    lab = canvas_lab()
    secret = "A" * 64
    report = run(lab, client_id="10000000000099", redirect_uri=URI, secret=secret)
    assert report.finding("oauth.unknown_client").status == Status.FAIL
    assert report.finding("oauth.secret_not_checked").evidence["reason"] == "unknown_client"
    assert token_requests(lab) == []


@pytest.mark.parametrize("secret, kind", [
    ("abcdEFGH1234abcdEFGH", "display_copied"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl", "jwt"),
])
def test_malformed_secret_is_reported_and_never_sent(canvas_lab, secret, kind):
    canvas = FakeCanvas()
    key = canvas.add_key(redirect_uri="https://api.badgr.io")
    lab = canvas_lab(canvas)
    report = run(lab, client_id=key.id, redirect_uri=URI, secret=secret)
    f = report.finding("oauth.key_format")
    assert f.status == Status.FAIL and [p["kind"] for p in f.evidence["problems"]] == [kind]
    assert report.finding("oauth.secret_not_checked").evidence["reason"] == "secret_malformed"
    assert token_requests(lab) == []
    assert report.finding("oauth.client_ok") is not None  # the ID itself was fine and was probed


def test_secret_not_sent_when_tls_does_not_validate(canvas_lab, tmp_path):
    import trustme

    canvas = FakeCanvas()
    key = canvas.add_key(redirect_uri="https://api.badgr.io")
    lab = canvas_lab(canvas)
    stranger = tmp_path / "stranger.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    report = run_check(parse(lab.url), Options(client_id=key.id, redirect_uri=URI, secret=key.api_key),
                       lab.policy(ca_bundle=str(stranger)))
    assert report.finding("oauth.client_ok") is not None  # the probe sends nothing secret
    assert report.finding("oauth.secret_not_checked").evidence["reason"] == "tls_not_trusted"
    assert token_requests(lab) == []


def test_secret_without_client_id(canvas_lab):
    lab = canvas_lab()
    report = run(lab, secret="A" * 64)
    assert report.finding("oauth.secret_not_checked").evidence["reason"] == "no_client_id"
    assert lab.server.requests and token_requests(lab) == []


# ----------------------------------------------------------------------------- from the command line


def cli(lab, *args, env=None, input=None):
    return subprocess.run([sys.executable, "-m", "diagnostics", "check", lab.url, "--json", *lab.cli_args(), *args],
                          capture_output=True, text=True, env=env or lab.env(), input=input, timeout=60)


def test_cli_developer_key_codes(canvas_lab):
    canvas = FakeCanvas()
    good = canvas.add_key(redirect_uri="https://api.badgr.io")
    off = canvas.add_key(redirect_uri="https://api.badgr.io", binding="off")
    scoped = canvas.add_key(redirect_uri="https://api.badgr.io", require_scopes=True)
    listed = canvas.add_key(redirect_uris=[URI + "/"])
    lab = canvas_lab(canvas)
    cases = [
        (["--client-id", good.id, "--redirect-uri", URI], "oauth.client_ok", "pass", 0),
        (["--client-id", "10000000000099", "--redirect-uri", URI], "oauth.unknown_client", "fail", 1),
        (["--client-id", listed.id, "--redirect-uri", URI, "--key-redirect-uri", URI + "/"],
         "oauth.redirect_uri_mismatch", "fail", 1),
        (["--client-id", off.id, "--redirect-uri", URI], "oauth.unauthorized_client", "fail", 1),
        (["--client-id", scoped.id, "--redirect-uri", URI], "oauth.invalid_scope", "warn", 0),
        (["--client-id", "Badgr key"], "oauth.key_format", "fail", 1),
    ]
    for args, code, status, exit_code in cases:
        r = cli(lab, *args)
        assert r.returncode == exit_code, (args, r.stderr)
        findings = {f["code"]: f for f in json.loads(r.stdout)["findings"]}
        assert findings[code]["status"] == status, (code, findings.keys())
        if status != "pass":
            assert findings[code]["fix"]
    advice = {f["code"]: f for f in json.loads(cli(lab, "--client-id", listed.id, "--redirect-uri", URI,
                                                   "--key-redirect-uri", URI + "/").stdout)["findings"]}
    assert advice["oauth.redirect_uri_advice"]["status"] == "warn"


def test_cli_secret_codes(canvas_lab):
    canvas = FakeCanvas(token_errors_redirect=True)
    key = canvas.add_key(redirect_uri="https://api.badgr.io")
    lab = canvas_lab(canvas)
    for secret, code, exit_code in [(key.api_key, "oauth.secret_ok", 0), (key.api_key[::-1], "oauth.secret_invalid", 1)]:
        r = cli(lab, "--client-id", key.id, "--redirect-uri", URI, "--secret-stdin", input=secret + "\n")
        assert r.returncode == exit_code, r.stderr
        assert code in {f["code"] for f in json.loads(r.stdout)["findings"]}
    r = cli(lab, "--client-id", "10000000000099", "--secret-stdin", input="A" * 64 + "\n")
    assert "oauth.secret_not_checked" in {f["code"] for f in json.loads(r.stdout)["findings"]}


def test_cli_inconclusive(canvas_lab):
    lab = canvas_lab(FakeCanvas(extra_routes={("GET", "/login/oauth2/auth"): _sso_front_door}))
    r = cli(lab, "--client-id", "10000000000001", "--redirect-uri", URI)
    findings = {f["code"]: f for f in json.loads(r.stdout)["findings"]}
    assert findings["oauth.probe_inconclusive"]["status"] == "warn"
    assert findings["oauth.probe_inconclusive"]["evidence"]["location"].startswith("https://idp.")
