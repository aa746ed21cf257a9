"""LTI key set and issuer, the Badgr region's API host, hosted preauthorization, regions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from diagnostics import regions
from diagnostics.checks.lti import DEFAULT_ISSUER, issuer_advice, read_jwks
from diagnostics.model import Status
from diagnostics.net import HttpResult
from diagnostics.runner import Options, run_check
from diagnostics.target import parse
from tests.lab.fake_canvas import FakeCanvas


def run(lab, **options):
    return run_check(parse(lab.url), Options(**options), lab.policy())


def area(report, prefix):
    return {f.code: f.status for f in report.findings if f.code.startswith(prefix)}


# ----------------------------------------------------------------------------- LTI: self-hosted


def test_self_hosted_jwks_lists_kids_and_algorithms(canvas_lab):
    lab = canvas_lab(FakeCanvas())
    report = run(lab)
    ok = report.finding("lti.jwks_ok")
    assert ok.status == Status.PASS
    assert ok.evidence["url"] == f"{lab.url}/api/lti/security/jwks"
    assert [k["alg"] for k in ok.evidence["keys"]] == ["RS256", "RS256"]
    assert "2026-11-01T00:00:04Z (RS256)" in ok.detail
    assert report.extras["lti_jwks"]["keys"] == ok.evidence["keys"]
    assert report.verdict.value == "ready"


@pytest.mark.parametrize("canvas, words", [
    (FakeCanvas(jwks_status=502), "HTTP 502"),
    (FakeCanvas(jwks_body="<html><body>Sign in with SSO</body></html>"), "not JSON (text/html)"),
    (FakeCanvas(jwks=[]), "empty"),
    (FakeCanvas(jwks=[{"kty": "RSA", "kid": "k1", "alg": "RS256"}]), "complete public signing key"),
    (FakeCanvas(jwks_body='{"keys": "none"}', jwks_status=200), 'no "keys" list'),
], ids=["502", "html", "empty", "no-material", "not-a-list"])
def test_self_hosted_jwks_unusable(canvas_lab, canvas, words):
    lab = canvas_lab(canvas)
    report = run(lab)
    f = report.finding("lti.jwks_unreachable")
    assert f.status == Status.FAIL and words in f.detail
    assert "lti.jwks_ok" not in area(report, "lti.")


def test_self_hosted_issuer_advice_when_canvas_keeps_it_private(canvas_lab):
    lab = canvas_lab(FakeCanvas())
    f = run(lab).finding("lti.issuer")
    assert f.status == Status.INFO
    assert f.evidence["observed"] is None and f.evidence["status"] == 401
    assert lab.url in f.detail and DEFAULT_ISSUER in f.detail and "config/security.yml" in f.detail


def test_self_hosted_default_issuer_warns(canvas_lab):
    lab = canvas_lab(FakeCanvas(lti_issuer_public=DEFAULT_ISSUER))
    f = run(lab).finding("lti.issuer")
    assert f.status == Status.WARN and f.fix
    assert f.evidence["observed"] == DEFAULT_ISSUER


def test_self_hosted_own_issuer_is_info(canvas_lab):
    lab = canvas_lab(FakeCanvas(lti_issuer_public="https://canvas.lab.test"))
    f = run(lab).finding("lti.issuer")
    assert f.status == Status.INFO and "https://canvas.lab.test" in f.detail


@pytest.mark.parametrize("observed, status", [
    (None, Status.INFO), (DEFAULT_ISSUER, Status.WARN), (DEFAULT_ISSUER + "/", Status.WARN),
    ("https://lms.example.edu", Status.INFO),
])
def test_issuer_advice(observed, status):
    assert issuer_advice("https://lms.example.edu", observed)[0] == status


def test_not_canvas_has_no_lti_step(canvas_lab):
    lab = canvas_lab(FakeCanvas(canvas_headers=False))
    report = run(lab)
    assert area(report, "lti.") == {}
    assert not any("/api/lti" in r for r in lab.server.requests)


# ----------------------------------------------------------------------------- LTI: hosted (SSO host)


@pytest.mark.parametrize("env, host", [
    ("production", "myschool.instructure.com"),
    ("beta", "myschool.beta.instructure.com"),
    ("test", "myschool.test.instructure.com"),
])
def test_hosted_jwks_comes_from_the_sso_host(canvas_lab, sso_host, env, host):
    sso = sso_host(env)
    lab = canvas_lab(FakeCanvas(hosted=True, environment=env), host=host)
    report = run(lab)
    ok = report.finding("lti.jwks_ok")
    assert ok is not None, area(report, "lti.")
    assert ok.evidence["url"] == f"https://{sso.host}/api/lti/security/jwks"
    assert sso.server.requests == ["GET /api/lti/security/jwks"]
    assert not any("/api/lti" in r for r in lab.server.requests)
    assert "lti.issuer" not in area(report, "lti.")


def test_sso_host_serves_nothing_but_the_key_set(sso_host):
    import ssl
    import urllib.request

    sso = sso_host("production")
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"https://{sso.address}/api/v1/users/self", context=ctx, timeout=5)
    assert err.value.code == 404


def test_hosted_jwks_unreachable_when_the_sso_host_is_not_there(canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=True), host="myschool.instructure.com")
    report = run(lab)
    f = report.finding("lti.jwks_unreachable")
    assert f.status == Status.WARN and "sso.canvaslms.com" in f.detail  # Instructure's, not the admin's to fix
    assert "Instructure support" in f.detail and f.evidence["hosted"] is True
    assert report.verdict.value == "ready"


def test_hosted_jwks_needs_a_valid_certificate(canvas_lab, sso_host):
    sso_host("production", trusted=False)
    lab = canvas_lab(FakeCanvas(hosted=True), host="myschool.instructure.com")
    f = run(lab).finding("lti.jwks_unreachable")
    assert f.status == Status.WARN and "sso.canvaslms.com" in f.evidence["url"]


# ----------------------------------------------------------------------------- read_jwks, pure


def jwks_answer(body, status=200, content_type="application/json"):
    return HttpResult(url="https://x/api/lti/security/jwks", status=status,
                      headers=(("content-type", content_type),), body=body.encode())


RSA = {"kty": "RSA", "kid": "a", "alg": "RS256", "use": "sig", "n": "AQAB" * 20, "e": "AQAB"}


@pytest.mark.parametrize("body, usable, private", [
    (json.dumps({"keys": [RSA]}), True, False),
    ("while(1);" + json.dumps({"keys": [RSA]}), True, False),
    (json.dumps({"keys": [{**RSA, "d": "secret"}]}), True, True),
    (json.dumps({"keys": [{**RSA, "use": "enc"}]}), False, False),
    (json.dumps({"keys": [{"kty": "EC", "kid": "e", "crv": "P-256", "x": "a", "y": "b"}]}), True, False),
    (json.dumps({"keys": [{**RSA, "kid": None}]}), False, False),
    (json.dumps({"keys": ["nope", RSA]}), True, False),
    (json.dumps([RSA]), False, False),
])
def test_read_jwks(body, usable, private):
    reading = read_jwks(jwks_answer(body))
    assert reading.usable is usable and reading.private_parts is private


# ----------------------------------------------------------------------------- Badgr region


def test_badgr_region_reachable(canvas_lab, badgr_api):
    api = badgr_api("eu")
    lab = canvas_lab()
    report = run(lab, region="eu")
    f = report.finding("badgr.reachable")
    assert f.status == Status.PASS and f.evidence["api_host"] == api.host and f.evidence["status"] == 200
    assert api.server.requests == ["GET /"]


def test_badgr_region_untrusted_certificate(canvas_lab, badgr_api):
    badgr_api("au", trusted=False)
    report = run(canvas_lab(), region="au")
    f = report.finding("badgr.unreachable")
    assert f.status == Status.FAIL and "certificate" in f.detail.lower()


def test_badgr_region_does_not_resolve(canvas_lab, regions_override):
    regions_override(ca={"api": "api.ca.nowhere.lab.test"})
    report = run(canvas_lab(), region="ca")
    f = report.finding("badgr.unreachable")
    assert f.status == Status.FAIL and "does not resolve" in f.detail


def test_no_region_no_badgr_step(canvas_lab):
    report = run(canvas_lab())
    assert area(report, "badgr.") == {}


def test_unknown_region_is_skipped(canvas_lab):
    report = run(canvas_lab(), region="mars")
    assert report.finding("badgr.unreachable").status == Status.SKIP


# ----------------------------------------------------------------------------- hosted preauthorization


def test_hosted_preauthorization_request_is_prepared(canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=True, environment="beta"), host="myschool.beta.instructure.com")
    report = run(lab, region="eu")
    f = report.finding("hosting.preauthorization")
    assert f.status == Status.INFO
    request = report.extras["preauthorization_request"]
    assert request["canvas_url"] == lab.url and request["environment"] == "beta"
    assert request["region"] == "eu" and request["badgr_web"] == "eu.badgr.com"
    assert "exactly" in request["canvas_url_note"]
    assert "refreshed from production" in f.detail


def test_self_hosted_gets_no_preauthorization(canvas_lab):
    report = run(canvas_lab(FakeCanvas()))
    assert report.finding("hosting.preauthorization") is None
    assert "preauthorization_request" not in report.extras


# ----------------------------------------------------------------------------- regions.toml


REFERENCE = {  # reference §2
    "us": ("badgr.com", "api.badgr.io"), "eu": ("eu.badgr.com", "api.eu.badgr.io"),
    "ca": ("ca.badgr.com", "api.ca.badgr.io"), "au": ("au.badgr.com", "api.au.badgr.io"),
    "sg": ("sg.badgr.io", "api.sg.badgr.io"), "test": ("test.badgr.com", "api.test.badgr.com"),
}


def test_shipped_regions_match_the_reference():
    table = regions.load({})
    assert {k: (r.web, r.api_host) for k, r in table.items()} == REFERENCE
    assert all(r.api_port == 443 and r.redirect_uris == () and r.icon_url == "" for r in table.values())
    assert regions.get("EU", {}).api_origin == "https://api.eu.badgr.io"


def test_operator_override_is_laid_over_the_shipped_table(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('[regions.eu]\nredirect_uris = ["https://api.eu.badgr.io/cb"]\nicon_url = "https://x/i.png"\n'
                    '[regions.us]\napi = "api.badgr.lab.test:8443"\n')
    table = regions.load({"CONNECT_CHECK_REGIONS": str(path)})
    assert table["eu"].redirect_uri == "https://api.eu.badgr.io/cb" and table["eu"].web == "eu.badgr.com"
    assert table["us"].api_origin == "https://api.badgr.lab.test:8443"
    assert table["sg"].api_host == "api.sg.badgr.io"
    path.write_text('[regions.eu]\nicon_url = "https://y/i.png"\n')  # edits are picked up
    assert regions.load({"CONNECT_CHECK_REGIONS": str(path)})["eu"].icon_url == "https://y/i.png"


@pytest.mark.parametrize("text", [
    "not toml [", '[regions.eu]\napi = "host:port"\n', '[regions.xx]\nweb = "x.badgr.com"\n',
    '[regions.eu]\nredirect_uris = [1]\n', 'regions = 3\n',
])
def test_broken_operator_file_is_an_error(tmp_path, text):
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(regions.RegionsError):
        regions.load({"CONNECT_CHECK_REGIONS": str(path)})


def test_missing_operator_file_is_an_error(tmp_path):
    with pytest.raises(regions.RegionsError, match="CONNECT_CHECK_REGIONS"):
        regions.load({"CONNECT_CHECK_REGIONS": str(tmp_path / "absent.toml")})


# ----------------------------------------------------------------------------- from the command line


def cli(lab, *args, env=None):
    return subprocess.run([sys.executable, "-m", "diagnostics", "check", lab.url, "--json", *lab.cli_args(), *args],
                          capture_output=True, text=True, env=env or lab.env(), timeout=60)


def test_cli_lti_and_badgr_codes(canvas_lab, badgr_api):
    api = badgr_api("eu")
    good = canvas_lab(FakeCanvas(lti_issuer_public=DEFAULT_ISSUER))
    r = cli(good, "--region", "eu", env=api.env(good.env()))
    assert r.returncode == 0, r.stderr
    found = {f["code"]: f["status"] for f in json.loads(r.stdout)["findings"]}
    assert found["lti.jwks_ok"] == "pass" and found["lti.issuer"] == "warn" and found["badgr.reachable"] == "pass"

    bad = canvas_lab(FakeCanvas(jwks_status=502))
    r = cli(bad, "--region", "sg")  # sg keeps its shipped host, which the lab DNS does not know
    assert r.returncode == 1
    found = {f["code"]: f["status"] for f in json.loads(r.stdout)["findings"]}
    assert found["lti.jwks_unreachable"] == "fail" and found["badgr.unreachable"] == "fail"


def test_cli_hosted_preauthorization(canvas_lab):
    lab = canvas_lab(FakeCanvas(hosted=True), host="myschool.instructure.com")
    r = cli(lab, "--region", "us")
    report = json.loads(r.stdout)
    found = {f["code"]: f["status"] for f in report["findings"]}
    assert found["hosting.preauthorization"] == "info"
    assert report["extras"]["preauthorization_request"]["region"] == "us"
