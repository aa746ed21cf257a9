"""The certificate step end to end: the real runner (address + certificate checks only)
against a real lab server for every situation (tests/lab/fx_tls.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import pickle
import subprocess
import sys
import time

import pytest
from cryptography import x509
from cryptography.x509 import verification

from diagnostics.checks import dns as dns_check
from diagnostics.checks import tls as tls_check
from diagnostics.model import Report, Status
from diagnostics.net import Network
from diagnostics.runner import CheckSpec, Options, run_async
from diagnostics.target import parse

TLS_CHECKS = (
    CheckSpec("dns", "address", dns_check.check, ("dns",)),
    CheckSpec("tls", "certificate", tls_check.check, ("tls",)),
)
#: The failures that say what is wrong with the chain; a run should name exactly one.
CHAIN_VERDICTS = {"tls.incomplete_chain", "tls.untrusted_root", "tls.self_signed", "tls.trusted"}


def run(lab, **policy_kw) -> Report:
    return asyncio.run(run_async(parse(lab.url), Options(), lab.policy(**policy_kw), checks=TLS_CHECKS))


def statuses(report: Report) -> dict[str, Status]:
    return {f.code: f.status for f in report.findings}


def failures(report: Report) -> set[str]:
    return {f.code for f in report.findings if f.status == Status.FAIL}


# fixture, the code it must produce, its status, other failures that must not appear
CASES = [
    ("good_server", "tls.trusted", Status.PASS, set()),
    ("incomplete_chain_server", "tls.incomplete_chain", Status.FAIL, set()),
    ("incomplete_chain_no_aia_server", "tls.incomplete_chain", Status.FAIL, set()),
    ("incomplete_chain_bad_aia_server", "tls.incomplete_chain", Status.FAIL, set()),
    ("chain_order_server", "tls.chain_order", Status.WARN, set()),
    ("self_signed_server", "tls.self_signed", Status.FAIL, set()),
    ("untrusted_root_server", "tls.untrusted_root", Status.FAIL, set()),
    ("expired_leaf_server", "tls.expired", Status.FAIL, set()),
    ("expired_intermediate_server", "tls.expired", Status.FAIL, set()),
    ("not_yet_valid_server", "tls.not_yet_valid", Status.FAIL, set()),
    ("expiring_soon_server", "tls.expiring_soon", Status.WARN, set()),
    ("hostname_mismatch_server", "tls.hostname_mismatch", Status.FAIL, set()),
    ("sha1_server", "tls.weak_signature", Status.FAIL, set()),
    ("weak_key_server", "tls.weak_key", Status.FAIL, set()),
    ("old_protocol_server", "tls.old_protocol", Status.FAIL, set()),
    ("plain_http_server", "tls.handshake_failed", Status.FAIL, set()),
    ("garbage_server", "tls.handshake_failed", Status.FAIL, set()),
    ("reset_server", "tls.handshake_failed", Status.FAIL, set()),
    ("silent_server", "net.timeout", Status.FAIL, set()),
    ("refused_port", "net.connect_failed", Status.FAIL, set()),
]


@pytest.mark.parametrize("fixture, code, status, also", CASES, ids=[c[0] for c in CASES])
def test_situation_gives_its_code(request, fixture, code, status, also):
    lab = request.getfixturevalue(fixture)
    report = run(lab, deadline=3.0 if fixture == "silent_server" else 10.0)
    s = statuses(report)
    assert s.get(code) == status, report.to_json()
    # exactly the expected failure (plus declared companions), never a crash
    assert failures(report) <= {code} | also, report.to_json()
    assert "internal.check_error" not in s
    assert report.to_json() and pickle.loads(pickle.dumps(report)) == report


@pytest.mark.parametrize("fixture, verdict", [
    ("good_server", "tls.trusted"),
    ("chain_order_server", "tls.trusted"),
    ("expiring_soon_server", "tls.trusted"),
    ("incomplete_chain_server", "tls.incomplete_chain"),
    ("incomplete_chain_no_aia_server", "tls.incomplete_chain"),
    ("untrusted_root_server", "tls.untrusted_root"),
    ("self_signed_server", "tls.self_signed"),
])
def test_chain_verdicts_are_distinct(request, fixture, verdict):
    """Incomplete, untrusted root and self-signed look alike to OpenSSL; never to us."""
    report = run(request.getfixturevalue(fixture))
    assert set(report.codes()) & CHAIN_VERDICTS == {verdict}


def test_good_server_publishes_plain_outcome(good_server):
    report = run(good_server)
    s = statuses(report)
    assert s["dns.resolved"] == Status.PASS and s["net.reachable"] == Status.PASS
    assert s["tls.protocol"] == Status.INFO
    assert report.finding("tls.protocol").evidence["protocol"] in ("TLSv1.2", "TLSv1.3")
    info = report.extras["tls"]
    assert [c["pem"] for c in info["chain"]] == list(good_server.sent_pems)
    leaf = info["chain"][0]
    assert leaf["position"] == 0 and leaf["sans"] == ["canvas.lab.test"] and leaf["key_type"] == "EC"
    assert leaf["not_after"].endswith("Z") and len(leaf["sha256"]) == 64
    assert info["trusted"] is True and "fixed_chain_pem" not in report.extras
    json.dumps(report.extras)  # plain data only


def test_outcome_is_published_for_dependants(good_server):
    seen = {}

    async def after_tls(ctx):
        seen["tls"] = await ctx.need("tls")

    checks = (*TLS_CHECKS, CheckSpec("after", "general", after_tls))
    asyncio.run(run_async(parse(good_server.url), Options(), good_server.policy(), checks=checks))
    outcome = seen["tls"]
    assert isinstance(outcome, tls_check.TlsOutcome)
    assert outcome.reachable and outcome.trusted and outcome.protocol and outcome.cipher
    assert outcome.chain[0]["subject"] == "CN=canvas.lab.test,O=Connect Check Lab"
    assert pickle.loads(pickle.dumps(outcome)) == outcome


def test_incomplete_chain_is_repaired_through_aia(incomplete_chain_server):
    lab = incomplete_chain_server
    report = run(lab)
    f = report.finding("tls.incomplete_chain")
    assert f.evidence["aia_fetch"][0]["url"] == lab.aia_url and f.evidence["aia_fetch"][0]["result"] == "ok"
    assert "Connect Check Lab AIA Issuing CA" in f.detail
    fixed = report.extras["fixed_chain_pem"]
    assert f.evidence["fixed_chain_pem"] == fixed
    certs = x509.load_pem_x509_certificates(fixed.encode())
    assert [c.subject.rfc4514_string() for c in certs][1] == x509.load_pem_x509_certificate(
        lab.extra["missing_pem"].encode()).subject.rfc4514_string()
    # the corrected chain verifies against the lab root, for this host, now
    root = x509.load_pem_x509_certificate(lab.root_pem.encode())
    verifier = (verification.PolicyBuilder().store(verification.Store([root]))
                .build_server_verifier(x509.DNSName(lab.host)))
    verified = verifier.verify(certs[0], certs[1:])
    assert verified[-1] == root


def test_incomplete_chain_says_why_the_issuer_could_not_be_fetched(incomplete_chain_bad_aia_server,
                                                                  incomplete_chain_no_aia_server):
    bad = run(incomplete_chain_bad_aia_server).finding("tls.incomplete_chain")
    assert bad.evidence["aia_fetch"][0]["result"] == "failed" and "404" in bad.evidence["aia_fetch"][0]["reason"]
    assert "404" in bad.detail
    assert bad.evidence["missing_issuer"] == "CN=Connect Check Lab AIA Issuing CA,O=Connect Check Lab"
    none = run(incomplete_chain_no_aia_server)
    f = none.finding("tls.incomplete_chain")
    assert "Connect Check Lab Issuing CA" in f.evidence["missing_issuer"]
    assert f.evidence["aia_ca_issuers"] == [] and "no address" in f.detail
    assert "fixed_chain_pem" not in none.extras


def test_aia_host_is_vetted_like_any_other(incomplete_chain_server):
    """Without the private-address permission the AIA download is refused, not made."""
    lab = incomplete_chain_server
    net = Network(dataclasses.replace(lab.policy(), allow_private=False))

    async def go():
        return await tls_check._fetch_issuer(_Ctx(net), lab.aia_url)

    certs, note = asyncio.run(go())
    assert certs == [] and note["result"] == "failed" and "loopback" in note["reason"]


class _Ctx:
    def __init__(self, net):
        self.net = net
        self.deadline = net.deadline


def test_expired_intermediate_is_named(expired_intermediate_server):
    f = run(expired_intermediate_server).finding("tls.expired")
    roles = [c["role"] for c in f.evidence["certificates"]]
    assert roles == ["intermediate"] and "Old CA" in f.detail


def test_chain_order_offers_the_ordered_chain(chain_order_server):
    report = run(chain_order_server)
    fixed = x509.load_pem_x509_certificates(report.extras["fixed_chain_pem"].encode())
    names = [c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value for c in fixed]
    assert names == ["canvas.lab.test", "Connect Check Lab Lower CA", "Connect Check Lab Issuing CA"]


def test_old_protocol_reports_what_was_negotiated(old_protocol_server):
    report = run(old_protocol_server)
    f = report.finding("tls.old_protocol")
    assert f.evidence["protocol"] in ("TLSv1", "TLSv1.1")
    assert "tls.handshake_failed" not in report.codes() and "tls.trusted" not in report.codes()
    assert report.extras["tls"]["chain"], "the chain is still analysed"


@pytest.mark.parametrize("fixture, kind, text", [
    ("plain_http_server", "plain_http", "HTTP/1.1 400 Bad Request"),
    ("garbage_server", "garbage", "00 00 00 07"),
    ("reset_server", "reset", "reset"),
])
def test_handshake_failure_says_what_the_server_did(request, fixture, kind, text):
    report = run(request.getfixturevalue(fixture))
    f = report.finding("tls.handshake_failed")
    assert f.evidence["kind"] == kind and text in f.detail
    assert statuses(report)["net.reachable"] == Status.PASS


def test_silent_server_ends_with_a_report(silent_server):
    started = time.monotonic()
    report = run(silent_server, deadline=2.0)
    elapsed = time.monotonic() - started
    f = report.finding("net.timeout")
    assert f is not None and f.status == Status.FAIL
    assert statuses(report)["net.reachable"] == Status.PASS
    assert elapsed < 2.0 + 1.0, elapsed  # the contract: deadline + 1 s


def test_refused_port_is_not_reachable(refused_port):
    report = run(refused_port)
    assert "net.reachable" not in report.codes()
    assert report.finding("net.connect_failed").evidence["reason"]


# ----------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("fixture, code, status", [
    ("good_server", "tls.trusted", "pass"),
    ("incomplete_chain_server", "tls.incomplete_chain", "fail"),
    ("self_signed_server", "tls.self_signed", "fail"),
    ("old_protocol_server", "tls.old_protocol", "fail"),
])
def test_cli_json(request, fixture, code, status):
    lab = request.getfixturevalue(fixture)
    proc = subprocess.run(
        [sys.executable, "-m", "diagnostics", "check", lab.url, "--json", "--deadline", "10", *lab.cli_args()],
        capture_output=True, text=True, env=lab.env(), timeout=60,
    )
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    found = {f["code"]: f["status"] for f in data["findings"]}
    assert found.get(code) == status, proc.stdout
    if code == "tls.incomplete_chain":
        assert data["extras"]["fixed_chain_pem"].count("BEGIN CERTIFICATE") == 2
