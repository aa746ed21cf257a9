"""The support request: validation tables, the four outputs, and where the secret may go."""

from __future__ import annotations

import email
import json
from email import policy
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from diagnostics import catalog
from diagnostics import request as rq
from diagnostics.model import Hosting, Report, TargetInfo

SECRET = "Zx7Qp2Lm9Rt4Vb6Nc1Kd8Hf3Gj5Ws0Ye2Ua7Io4Pl9Mk3Nj6Bh1Vg8Cf5Dx2Sz7A"
assert len(SECRET) == 64


def hosted(**kw) -> rq.AccessRequest:
    values = dict(kind=rq.HOSTED, canvas_url="https://myschool.instructure.com", environment="production",
                  region="eu", contact_name="Ana Díaz", contact_email="ana@myschool.edu",
                  institution="My School")
    values.update(kw)
    return rq.AccessRequest(**values)


def self_hosted(**kw) -> rq.AccessRequest:
    values = dict(kind=rq.SELF_HOSTED, canvas_url="canvas.uni.edu", region="us", client_id="10000000000003",
                  secret=SECRET, redirect_uri="https://api.badgr.io/canvas/callback",
                  contact_name="Bo Lind", contact_email="bo@uni.edu", institution="Uni")
    values.update(kw)
    return rq.AccessRequest(**values)


def report(host="canvas.uni.edu", kind="self_hosted", env=None, findings=()) -> Report:
    return Report(
        target=TargetInfo(host, f"https://{host}", host, 443),
        started_at="2026-12-04T10:00:00Z",
        elapsed_ms=812,
        hosting=Hosting(kind=kind, environment=env),
        findings=tuple(findings),
    )


def f(code, status=None):
    return catalog.finding(code, status=status)


GOOD_SELF = report(findings=[f("dns.resolved"), f("tls.trusted"), f("canvas.detected"), f("hosting.self_hosted"),
                             f("tls.expiring_soon")])
BROKEN_TLS = report(findings=[f("dns.resolved"), f("tls.incomplete_chain"), f("canvas.detected")])


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "url",
    [
        "myschool.instructure.com",
        "https://myschool.instructure.com",
        "http://myschool.instructure.com",
        "HTTPS://MySchool.Instructure.com/",
        "https://myschool.instructure.com/courses/1?x=1#y",
        "myschool.instructure.com:443",
        "//myschool.instructure.com",
        "'https://myschool.instructure.com.'",
        "<https://myschool.instructure.com>",
    ],
    ids=["bare", "https", "http", "upper", "path-query-fragment", "port", "scheme-relative", "quoted-dot",
         "angle"],
)
def test_every_url_form_target_parse_accepts(url):
    v = rq.validate(hosted(canvas_url=url))
    assert v.ok, v.errors
    assert v.server == "https://myschool.instructure.com"
    assert v.request.canvas_url == url.strip()  # hosted: sent exactly as shown


@pytest.mark.parametrize(
    "url",
    ["", "ftp://canvas.uni.edu", "https://user:pw@canvas.uni.edu", "https://10.0.0.1", "canvas uni edu",
     "https://canvas.uni.edu:99999"],
    ids=["empty", "ftp", "credentials", "ip", "spaces", "port"],
)
def test_bad_urls_get_one_message(url):
    v = rq.validate(self_hosted(canvas_url=url))
    assert set(v.errors) == {"canvas_url"}
    assert v.errors["canvas_url"].endswith(".")


def test_self_hosted_url_is_sent_normalised():
    v = rq.validate(self_hosted(canvas_url="http://Canvas.Uni.edu/login/canvas"))
    assert v.ok and v.server == "https://canvas.uni.edu"
    _, body = rq.render_email(self_hosted(canvas_url="http://Canvas.Uni.edu/login/canvas"))
    assert "Canvas server URL: https://canvas.uni.edu" in body


@pytest.mark.parametrize(
    "client_id, error",
    [
        ("10000000000003", None),
        ("170000000000044", None),
        ("", "client_id"),
        ("abc", "client_id"),
        (SECRET, "client_id"),
        ("1000 0000 0000 03", "client_id"),
        ("https://canvas.uni.edu/accounts/1/developer_keys", "client_id"),
    ],
)
def test_client_id_table(client_id, error):
    v = rq.validate(self_hosted(client_id=client_id), GOOD_SELF)
    assert set(v.errors) == ({error} if error else set())


def test_unusual_id_length_warns_but_builds():
    v = rq.validate(self_hosted(client_id="12345"), GOOD_SELF)
    assert v.ok and "client_id" in v.warnings


@pytest.mark.parametrize(
    "secret, ok",
    [
        (SECRET, True),
        (SECRET[:20], False),
        (SECRET[:63], False),
        (SECRET + "Q", False),
        (SECRET[:32] + " " + SECRET[32:], False),
        ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2NhbnZhcyJ9.c2lnbmF0dXJlX2J5dGVz", False),
        ("https://canvas.uni.edu/accounts/1/developer_keys", False),
    ],
    ids=["64", "20", "63", "65", "spaces", "jwt", "url"],
)
@pytest.mark.parametrize("include", [True, False], ids=["included", "separately"])
def test_secret_table(secret, ok, include):
    v = rq.validate(self_hosted(secret=secret), GOOD_SELF, include_secret=include)
    assert v.ok is ok
    if not ok:
        assert set(v.errors) == {"secret"}
        assert secret[:10] not in v.errors["secret"]


def test_secret_may_be_left_out_only_when_sent_separately():
    assert rq.validate(self_hosted(secret=""), GOOD_SELF).ok
    v = rq.validate(self_hosted(secret=""), GOOD_SELF, include_secret=True)
    assert set(v.errors) == {"secret"}


@pytest.mark.parametrize(
    "email_address, ok",
    [("ana@myschool.edu", True), ("Ana.Diaz+badgr@MySchool.EDU", True), ("ana@", False), ("ana", False),
     ("ana@@myschool.edu", False), ("ana@myschool", False), ("", False), ("ana @myschool.edu", False)],
)
def test_contact_email(email_address, ok):
    v = rq.validate(hosted(contact_email=email_address))
    assert v.ok is ok
    if not ok:
        assert set(v.errors) == {"contact_email"}


def test_every_missing_field_has_its_own_message():
    v = rq.validate(rq.AccessRequest(kind=rq.SELF_HOSTED, secret=""), include_secret=True)
    assert set(v.errors) == {"canvas_url", "region", "contact_name", "contact_email", "institution",
                             "client_id", "secret"}
    assert len(set(v.errors.values())) == len(v.errors)


@pytest.mark.parametrize("kind", ["", "both", None])
def test_unknown_kind(kind):
    assert "kind" in rq.validate(hosted(kind=kind)).errors


def test_region_must_be_known():
    assert rq.validate(hosted(region="mars")).errors.keys() == {"region"}
    assert rq.validate(hosted(region=" EU ")).request.region == "eu"


def test_header_injection_in_name_is_refused():
    v = rq.validate(hosted(contact_name="Ana\r\nBcc: all@example.org"))
    assert set(v.errors) == {"contact_name"}


@pytest.mark.parametrize(
    "url, env, error",
    [
        ("myschool.beta.instructure.com", "production", True),
        ("myschool.beta.instructure.com", "beta", False),
        ("myschool.test.instructure.com", "test", False),
        ("myschool.instructure.com", "test", True),
        ("canvas.myschool.edu", "beta", False),  # a custom domain does not name its environment
    ],
)
def test_hosted_environment_must_match_the_address(url, env, error):
    v = rq.validate(hosted(canvas_url=url, environment=env))
    assert ("environment" in v.errors) is error


def test_self_hosted_request_for_a_hosted_address_warns():
    v = rq.validate(self_hosted(canvas_url="myschool.instructure.com"))
    assert "kind" in v.warnings


def test_redirect_uri_region_mismatch_warns():
    v = rq.validate(self_hosted(region="us", redirect_uri="https://api.eu.badgr.io/callback"), GOOD_SELF)
    assert v.ok and "eu" in v.warnings["redirect_uri"]
    assert "redirect_uri" not in rq.validate(self_hosted(region="eu", redirect_uri="https://api.eu.badgr.io/x"),
                                             GOOD_SELF).warnings


def test_redirect_uri_must_be_https():
    assert "redirect_uri" in rq.validate(self_hosted(redirect_uri="http://api.badgr.io/cb")).errors


# ---------------------------------------------------------------------------- TLS refusal
@pytest.mark.parametrize("code", ["tls.incomplete_chain", "tls.self_signed", "tls.expired", "tls.hostname_mismatch",
                                  "tls.handshake_failed", "tls.untrusted_root", "tls.old_protocol"])
def test_self_hosted_refused_while_tls_is_untrusted(code):
    v = rq.validate(self_hosted(), report(findings=[f(code)]))
    assert set(v.errors) == {"tls"}
    assert "valid, trusted certificate" in v.errors["tls"] and code in v.errors["tls"]
    with pytest.raises(rq.InvalidRequest):
        rq.render_email(self_hosted(), report(findings=[f(code)]))


def test_tls_warnings_do_not_refuse():
    v = rq.validate(self_hosted(), report(findings=[f("tls.trusted"), f("tls.chain_order"), f("tls.expiring_soon")]))
    assert v.ok


def test_report_for_another_server_is_not_attached_and_does_not_refuse():
    v = rq.validate(self_hosted(), report(host="other.uni.edu", findings=[f("tls.self_signed")]))
    assert v.ok and v.report is None and "report" in v.warnings


def test_report_dict_from_session_state_is_accepted():
    v = rq.validate(self_hosted(), BROKEN_TLS.to_dict())
    assert "tls" in v.errors
    assert rq.coerce_report({"schema": 99}) is None


# ---------------------------------------------------------------------------- rendering
def test_email_carries_the_diagnostic_summary():
    subject, body = rq.render_email(self_hosted(), GOOD_SELF)
    assert "https://canvas.uni.edu" in subject
    assert "checked 2026-12-04T10:00:00Z" in body
    assert "Verdict: ready" in body
    assert "tls.expiring_soon" in body  # warned findings, with codes
    assert "dns.resolved" not in body   # passes are not listed
    assert "Developer Key ID: 10000000000003" in body


def test_failed_findings_are_listed_with_codes():
    r = report(host="myschool.instructure.com", kind="instructure", env="production",
               findings=[f("canvas.detected"), f("oauth.unknown_client"), f("tls.chain_order")])
    _, body = rq.render_email(hosted(), r)
    assert "Failed:" in body and "oauth.unknown_client" in body
    assert "Warnings:" in body and "tls.chain_order" in body
    assert "Verdict: action_needed" in body


def test_secret_only_when_included():
    _, body = rq.render_email(self_hosted())
    assert SECRET not in body and "send it separately" in body
    _, body = rq.render_email(self_hosted(), include_secret=True)
    assert f"Secret key: {SECRET}" in body


def test_secret_not_in_repr():
    assert SECRET not in repr(self_hosted())


def test_hosted_email_never_has_key_fields():
    _, body = rq.render_email(hosted(client_id="10000000000003", secret=SECRET), include_secret=True)
    assert SECRET not in body and "Developer Key" not in body


def _mailto_parts(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    assert parts.scheme == "mailto"
    fields = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return unquote(parts.path), fields


def test_mailto_round_trips_through_urllib():
    req = hosted(contact_name="Zoë O'Brien & Co", institution="École 100% #1 + ?&=", notes="Line 1\nLine 2")
    link = rq.mailto_link(req, to="support@badgr.test")
    assert link.url and not link.shortened
    to, fields = _mailto_parts(link.url)
    subject, body = rq.render_email(req)
    assert to == "support@badgr.test"
    assert fields["subject"] == subject
    assert fields["body"] == body.replace("\n", "\r\n")  # RFC 6068: CRLF line breaks
    assert " " not in link.url and "+" not in link.url.split("?", 1)[1]


def test_mailto_has_no_secret_unless_ticked():
    link = rq.mailto_link(self_hosted(), GOOD_SELF)
    assert link.url and SECRET not in unquote(link.url)
    ticked = rq.mailto_link(self_hosted(), GOOD_SELF, include_secret=True)
    assert SECRET in _mailto_parts(ticked.url)[1]["body"]


def test_mailto_is_length_limited():
    many = [f(code) for code in ("oauth.unknown_client", "oauth.redirect_uri_mismatch", "lti.jwks_unreachable",
                                 "badgr.unreachable", "canvas.not_detected", "tls.chain_order", "tls.expiring_soon")]
    r = report(host="myschool.instructure.com", kind="instructure", findings=many)
    full = rq.mailto_link(hosted(), r, limit=100_000)
    assert full.url and not full.shortened
    shortened = rq.mailto_link(hosted(), r, limit=len(full.url) - 1)
    assert shortened.url and shortened.shortened and shortened.reason
    assert len(shortened.url) < len(full.url)
    assert "oauth.unknown_client" in _mailto_parts(shortened.url)[1]["body"]
    none = rq.mailto_link(hosted(notes="x" * 900), r, limit=rq.MAILTO_LIMIT)
    assert none.url is None and "too long" in none.reason and ".eml" in none.reason


def test_default_mailto_fits_for_a_typical_hosted_request():
    r = report(host="myschool.instructure.com", kind="instructure", env="production",
               findings=[f("dns.resolved"), f("tls.trusted"), f("canvas.detected"), f("hosting.instructure")])
    link = rq.mailto_link(hosted(), r)
    assert link.url and len(link.url) <= rq.MAILTO_LIMIT


def test_eml_parses_back_with_the_right_headers():
    data = rq.eml_bytes(self_hosted(), GOOD_SELF, to="support@badgr.test")
    msg = email.message_from_bytes(data, policy=policy.default)
    assert msg["To"] == "support@badgr.test"
    assert msg["From"].addresses[0].addr_spec == "bo@uni.edu"
    assert msg["From"].addresses[0].display_name == "Bo Lind"
    subject, body = rq.render_email(self_hosted(), GOOD_SELF)
    assert msg["Subject"] == subject
    assert msg["X-Unsent"] == "1"
    assert msg["Date"]
    text = msg.get_body(("plain",)).get_content()
    assert text.replace("\r\n", "\n") == body
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "connect-check-report.json"
    assert json.loads(attachment.get_content())["target"]["host"] == "canvas.uni.edu"
    assert SECRET.encode() not in data


def test_eml_with_secret_only_when_included_and_unicode_name():
    data = rq.eml_bytes(self_hosted(contact_name="Zoë Ödegaard"), include_secret=True)
    msg = email.message_from_bytes(data, policy=policy.default)
    assert msg["From"].addresses[0].display_name == "Zoë Ödegaard"
    assert SECRET in msg.get_body(("plain",)).get_content()
    assert not list(msg.iter_attachments())  # no report, no attachment


def test_json_never_has_the_secret_by_default():
    data = json.loads(rq.to_json(self_hosted(), GOOD_SELF))
    assert "secret" not in data and data["secret_included"] is False
    assert SECRET not in rq.to_json(self_hosted(), GOOD_SELF)
    assert data["client_id"] == "10000000000003" and isinstance(data["client_id"], str)
    assert data["diagnostics"]["verdict"] == "ready"
    assert data["diagnostics"]["problems"] == [{"code": "tls.expiring_soon", "status": "warn",
                                                "title": catalog.entry("tls.expiring_soon").title}]
    explicit = json.loads(rq.to_json(self_hosted(), include_secret=True))
    assert explicit["secret"] == SECRET


def test_hosted_json():
    data = json.loads(rq.to_json(hosted(canvas_url="myschool.instructure.com/courses/3")))
    assert data["canvas_url"] == "myschool.instructure.com/courses/3"
    assert data["server"] == "https://myschool.instructure.com"
    assert data["environment"] == "production" and "client_id" not in data and data["diagnostics"] is None


@pytest.mark.parametrize("render", [rq.render_email, rq.mailto_link, rq.eml_bytes, rq.to_json])
def test_renderers_refuse_invalid_requests(render):
    with pytest.raises(rq.InvalidRequest) as exc:
        render(self_hosted(secret=SECRET[:20]))
    assert "secret" in exc.value.errors
    assert SECRET[:20] not in str(exc.value)


# ---------------------------------------------------------------------------- configuration
def test_support_address_is_configurable():
    assert rq.support_address({}) == rq.DEFAULT_SUPPORT_EMAIL
    assert rq.support_address({rq.SUPPORT_EMAIL_ENV: " help@badgr.test "}) == "help@badgr.test"
    assert rq.support_address({rq.SUPPORT_EMAIL_ENV: "not an address"}) == rq.DEFAULT_SUPPORT_EMAIL
    link = rq.mailto_link(hosted(), environ={rq.SUPPORT_EMAIL_ENV: "ops@badgr.test"})
    assert link.url.startswith("mailto:ops@badgr.test?")


def test_template_file(tmp_path):
    t = tmp_path / "template.txt"
    t.write_text("Subject: [Preauth] $canvas_url $secret\n\nDear team,\n$fields\n--\n$diagnostics\n", encoding="utf-8")
    env = {rq.TEMPLATE_ENV: str(t)}
    subject, body = rq.render_email(hosted(), environ=env)
    assert subject == "[Preauth] https://myschool.instructure.com $secret"  # no $secret placeholder exists
    assert body.startswith("Dear team,\nCanvas URL (exactly as the message showed it)")
    subject, body = rq.render_email(self_hosted(), environ=env)
    assert SECRET not in subject + body


def test_unreadable_template_falls_back(tmp_path):
    subject, body = rq.render_email(hosted(), environ={rq.TEMPLATE_ENV: str(tmp_path / "missing.txt")})
    assert body.startswith("Hello Badgr support")


# ---------------------------------------------------------------------------- prefill and link
def test_prefill_from_link_never_reads_a_secret():
    out = rq.prefill({"url": "https://canvas.uni.edu/x?token=abc", "client_id": "10000000000003", "region": "EU",
                      "secret": SECRET, "api_key": SECRET})
    assert out == {"kind": rq.SELF_HOSTED, "canvas_url": "https://canvas.uni.edu/x", "region": "eu",
                   "client_id": "10000000000003"}
    assert SECRET not in json.dumps(out)


def test_prefill_hosted_from_explainer_link():
    out = rq.prefill({"url": "https://myschool.beta.instructure.com",
                      "canvas_url_as_shown": "myschool.beta.instructure.com"})
    assert out == {"kind": rq.HOSTED, "canvas_url": "myschool.beta.instructure.com", "environment": "beta"}


def test_prefill_from_check_report_and_explainer():
    out = rq.prefill({}, GOOD_SELF.to_dict(), {"client_id": "10000000000003",
                                               "redirect_uri": "https://api.badgr.io/cb?code=1"})
    assert out["kind"] == rq.SELF_HOSTED and out["canvas_url"] == "https://canvas.uni.edu"
    assert out["client_id"] == "10000000000003" and out["redirect_uri"] == "https://api.badgr.io/cb"


def test_prefill_ignores_bad_values():
    assert rq.prefill({"region": "mars", "env": "staging", "client_id": "abc"}, {"schema": 9}, "nope") == {}


def test_form_link_has_no_secret_or_contact():
    link = rq.form_link("https://portal.test/request?old=1", self_hosted())
    assert link == "https://portal.test/request?url=canvas.uni.edu&region=us&client_id=10000000000003"
    assert SECRET not in link and "bo@uni.edu" not in link
    assert rq.form_link("/request", hosted()).endswith("canvas_url_as_shown=https%3A%2F%2Fmyschool.instructure.com"
                                                       "&region=eu&env=production")
