"""The chain analyser on PEM lists, no network: every rule with its passing counterpart,
host-name matching, AIA body parsing, and fuzzing with garbage and mutated certificates."""

from __future__ import annotations

import base64
import datetime as dt
import json
import pickle

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics import catalog
from diagnostics.checks.tls_analysis import analyze_chain, certificates_from_bytes, host_matches
from tests.lab.pki import CA, now_utc, pem, self_signed_cert

HOST = "canvas.lab.test"
NOW = now_utc()


@pytest.fixture(scope="module")
def pki():
    """root -> issuing -> leaves; a campus root nobody trusts; an RSA issuer for SHA-1."""

    class P:
        root = CA("Lab Root CA")
        issuing = root.create_child_ca("Lab Issuing CA")
        leaf = issuing.issue_cert(HOST, aia_url="http://aia.lab.test/issuing.der")
        campus = CA("Campus Root CA")
        campus_issuing = campus.create_child_ca("Campus Issuing CA")
        campus_leaf = campus_issuing.issue_cert(HOST)
        rsa_issuing = root.create_child_ca("Lab RSA CA", key_kind="rsa2048")

    return P


def analyse(sent, roots, host=HOST, now=NOW, extra=()):
    return analyze_chain(list(sent), host, now, roots, list(extra))


def failures(a):
    return {f.code for f in a.findings if f.code not in ("tls.trusted", "tls.chain_order", "tls.expiring_soon")}


# ----------------------------------------------------------------------------- the good chain


def test_good_chain_is_trusted(pki):
    a = analyse(pki.leaf.chain_pems(), pki.root.cert_pem)
    assert a.codes == ["tls.trusted"] and a.trusted and a.path_end == "trusted_root"
    assert [c["role"] for c in a.path] == ["leaf", "intermediate", "root"]
    assert [c["source"] for c in a.path] == ["sent", "sent", "trust_store"]
    assert a.fixed_chain_pems == () and a.verifier_error is None


def test_result_is_plain_data(pki):
    a = analyse(pki.leaf.chain_pems(), pki.root.cert_pem)
    assert pickle.loads(pickle.dumps(a)) == a
    json.dumps([a.sent, a.path, [f.evidence for f in a.findings]])
    leaf = a.sent[0]
    assert leaf["position"] == 0 and leaf["sans"] == [HOST] and leaf["key_type"] == "EC" and leaf["key_size"] == 256
    assert leaf["signature_algorithm"] == "ecdsa-with-SHA256" and leaf["not_after"].endswith("Z")
    assert leaf["pem"] == pki.leaf.cert_pem and leaf["aia_ca_issuers"] == ["http://aia.lab.test/issuing.der"]


def test_every_code_is_in_the_catalog(pki):
    cases = [
        analyse([pki.leaf.cert_pem], pki.root.cert_pem),
        analyse([self_signed_cert(HOST).cert_pem], pki.root.cert_pem),
        analyse(["garbage"], pki.root.cert_pem),
    ]
    for a in cases:
        assert a.findings  # every analysis says something
        for f in a.findings:
            catalog.entry(f.code)  # raises UnknownCode for a code the catalog lacks


# ----------------------------------------------------------------------------- self-signed


def test_self_signed_leaf(pki):
    leaf = self_signed_cert(HOST)
    a = analyse([leaf.cert_pem], pki.root.cert_pem)
    assert failures(a) == {"tls.self_signed"} and a.path_end == "self_signed_leaf"
    assert a.finding("tls.self_signed").evidence["certificate"]["subject"].startswith("CN=canvas.lab.test")


def test_self_signed_leaf_that_is_in_the_store_is_not_called_self_signed(pki):
    """Trusted on purpose (an operator's bundle): OpenSSL clients accept it, so it is
    trusted; the strict verifier's objection is kept as a warning, never swallowed."""
    leaf = self_signed_cert(HOST)
    a = analyse([leaf.cert_pem], leaf.cert_pem)
    assert a.codes == ["tls.chain_invalid", "tls.trusted"] and a.trusted
    f = a.finding("tls.chain_invalid")
    assert f.status == "warn" and f.evidence["verifier"] == a.verifier_error and a.verifier_error
    assert a.openssl_error is None


# ----------------------------------------------------------------------------- strict verifier


def test_strict_profile_objection_is_a_warning():
    """trustme marks the SAN critical beside a non-empty subject: OpenSSL (and Python's
    ssl, which is what server-side clients use) accept it, the strict Web PKI profile
    does not. Trusted, with a warning that quotes the verifier."""
    ca = trustme.CA()
    cert = ca.issue_cert(HOST)
    a = analyse([b.bytes().decode() for b in cert.cert_chain_pems], ca.cert_pem.bytes().decode())
    assert a.codes == ["tls.chain_invalid", "tls.trusted"] and a.trusted
    assert "critical" in a.finding("tls.chain_invalid").evidence["verifier"]


def test_chain_every_verifier_refuses_fails_with_both_reasons(pki):
    """A server certificate used as a CA: our rules see a complete, valid path; both
    verifiers refuse it."""
    fake_ca = pki.issuing.issue_cert("fake-ca.lab.test")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    child = (
        x509.CertificateBuilder().subject_name(name).issuer_name(fake_ca.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(fake_ca.key.public_key()), critical=False)
        .sign(fake_ca.key, hashes.SHA256())
    )
    a = analyse([pem(child), fake_ca.cert_pem, pki.issuing.cert_pem], pki.root.cert_pem)
    assert not a.trusted and a.path_end == "trusted_root"
    f = a.finding("tls.chain_invalid")
    assert f.status is None and a.verifier_error and a.openssl_error
    assert f.evidence["openssl"] == a.openssl_error


# ----------------------------------------------------------------------------- incomplete / untrusted


def test_incomplete_chain_names_the_missing_issuer_and_where_to_get_it(pki):
    a = analyse([pki.leaf.cert_pem], pki.root.cert_pem)
    assert failures(a) == {"tls.incomplete_chain"} and not a.trusted
    assert a.missing_issuer == "CN=Lab Issuing CA,O=Connect Check Lab"
    assert a.missing_issuer_aia_urls == ("http://aia.lab.test/issuing.der",)
    assert "http://aia.lab.test/issuing.der" in a.finding("tls.incomplete_chain").detail


def test_incomplete_chain_completed_by_a_download_gives_the_fixed_chain(pki):
    a = analyse([pki.leaf.cert_pem], pki.root.cert_pem, extra=[pki.issuing.cert_pem])
    assert failures(a) == {"tls.incomplete_chain"} and not a.trusted
    assert a.fixed_chain_pems == (pki.leaf.cert_pem, pki.issuing.cert_pem)
    f = a.finding("tls.incomplete_chain")
    assert f.evidence["fixed_chain_pem"] == a.fixed_chain_pem
    assert [m["subject"] for m in f.evidence["missing"]] == ["CN=Lab Issuing CA,O=Connect Check Lab"]
    # counterpart: sending what was fetched is the fix
    assert analyse(a.fixed_chain_pems, pki.root.cert_pem).trusted


def test_incomplete_chain_without_aia_says_so(pki):
    leaf = pki.issuing.issue_cert(HOST)
    a = analyse([leaf.cert_pem], pki.root.cert_pem)
    assert a.missing_issuer_aia_urls == () and "no address" in a.finding("tls.incomplete_chain").detail


def test_untrusted_root_sent_by_the_server(pki):
    sent = [*pki.campus_leaf.chain_pems(), pki.campus.cert_pem]
    a = analyse(sent, pki.root.cert_pem)
    assert failures(a) == {"tls.untrusted_root"} and a.path_end == "untrusted_root"
    assert a.finding("tls.untrusted_root").evidence["root"]["position"] == 2
    # counterpart: the same chain with that root trusted
    assert analyse(sent, pki.campus.cert_pem).trusted


def test_untrusted_root_found_through_a_download_is_untrusted_not_incomplete(pki):
    a = analyse(pki.campus_leaf.chain_pems(), pki.root.cert_pem, extra=[pki.campus.cert_pem])
    assert failures(a) == {"tls.untrusted_root"} and a.fixed_chain_pems == ()
    assert "downloaded" in a.finding("tls.untrusted_root").detail


def test_without_the_root_an_untrusted_chain_is_incomplete(pki):
    """Without the root, nothing in the chain itself says whether an intermediate is
    missing or the root is unknown: the issuer is missing either way."""
    a = analyse(pki.campus_leaf.chain_pems(), pki.root.cert_pem)
    assert failures(a) == {"tls.incomplete_chain"} and a.missing_issuer == "CN=Campus Root CA,O=Connect Check Lab"


# ----------------------------------------------------------------------------- order


def test_chain_out_of_order(pki):
    lower = pki.issuing.create_child_ca("Lab Lower CA")
    leaf = lower.issue_cert(HOST)
    a = analyse([leaf.cert_pem, pki.issuing.cert_pem, lower.cert_pem], pki.root.cert_pem)
    assert a.codes == ["tls.chain_order", "tls.trusted"]
    assert a.fixed_chain_pems == (leaf.cert_pem, lower.cert_pem, pki.issuing.cert_pem)
    assert analyse(a.fixed_chain_pems, pki.root.cert_pem).codes == ["tls.trusted"]


@pytest.mark.parametrize("extra, reason", [("unrelated", "not part of the chain"), ("duplicate", "more than once")])
def test_chain_padded(pki, extra, reason):
    other = pki.campus_issuing.cert_pem if extra == "unrelated" else pki.issuing.cert_pem
    a = analyse([*pki.leaf.chain_pems(), other], pki.root.cert_pem)
    assert a.codes == ["tls.chain_order", "tls.trusted"] and reason in a.finding("tls.chain_order").detail


def test_sending_the_root_too_is_fine(pki):
    assert analyse([*pki.leaf.chain_pems(), pki.root.cert_pem], pki.root.cert_pem).codes == ["tls.trusted"]


# ----------------------------------------------------------------------------- dates


def test_expired_leaf_then_valid(pki):
    after = pki.leaf.cert.not_valid_after_utc
    a = analyse(pki.leaf.chain_pems(), pki.root.cert_pem, now=after + dt.timedelta(days=1))
    assert failures(a) == {"tls.expired"}
    f = a.finding("tls.expired")
    assert [c["role"] for c in f.evidence["certificates"]] == ["leaf"] and "expired on" in f.detail
    assert analyse(pki.leaf.chain_pems(), pki.root.cert_pem, now=after - dt.timedelta(days=31)).trusted


def test_expired_intermediate_is_named(pki):
    old = pki.root.create_child_ca("Lab Old CA", not_before=NOW - dt.timedelta(days=400),
                                   not_after=NOW - dt.timedelta(days=2))
    leaf = old.issue_cert(HOST)
    a = analyse(leaf.chain_pems(), pki.root.cert_pem)
    f = a.finding("tls.expired")
    assert failures(a) == {"tls.expired"} and [c["role"] for c in f.evidence["certificates"]] == ["intermediate"]
    assert "certificate #2 sent" in f.detail
    # counterpart: a leaf under a current intermediate of the same name
    renewed = pki.root.create_child_ca("Lab Old CA").issue_cert(HOST)
    assert analyse(renewed.chain_pems(), pki.root.cert_pem).trusted


def test_not_yet_valid(pki):
    before = pki.leaf.cert.not_valid_before_utc
    a = analyse(pki.leaf.chain_pems(), pki.root.cert_pem, now=before - dt.timedelta(hours=1))
    assert failures(a) == {"tls.not_yet_valid"} and "valid only from" in a.finding("tls.not_yet_valid").detail


@pytest.mark.parametrize("days_left, warned", [(10, True), (30, True), (31, False), (60, False)])
def test_expiring_soon(pki, days_left, warned):
    now = pki.leaf.cert.not_valid_after_utc - dt.timedelta(days=days_left)
    a = analyse(pki.leaf.chain_pems(), pki.root.cert_pem, now=now)
    assert a.trusted and ("tls.expiring_soon" in a.codes) is warned


# ----------------------------------------------------------------------------- host names


def test_hostname_mismatch_then_match(pki):
    leaf = pki.issuing.issue_cert("other.lab.test")
    a = analyse(leaf.chain_pems(), pki.root.cert_pem)
    assert failures(a) == {"tls.hostname_mismatch"} and a.finding("tls.hostname_mismatch").evidence["sans"] == ["other.lab.test"]
    assert analyse(leaf.chain_pems(), pki.root.cert_pem, host="other.lab.test").trusted


def test_wildcard_leaf_covers_one_label(pki):
    leaf = pki.issuing.issue_cert("*.lab.test")
    assert analyse(leaf.chain_pems(), pki.root.cert_pem).trusted
    assert failures(analyse(leaf.chain_pems(), pki.root.cert_pem, host="a.canvas.lab.test")) == {"tls.hostname_mismatch"}


def test_common_name_is_ignored_when_sans_exist(pki):
    leaf = pki.issuing.issue_cert("other.lab.test", common_name=HOST)
    assert failures(analyse(leaf.chain_pems(), pki.root.cert_pem)) == {"tls.hostname_mismatch"}


@pytest.mark.parametrize("host, names, covered", [
    ("canvas.school.edu", ["canvas.school.edu"], True),
    ("canvas.school.edu", ["CANVAS.School.EDU."], True),
    ("canvas.school.edu.", ["canvas.school.edu"], True),
    ("canvas.school.edu", ["*.school.edu"], True),
    ("school.edu", ["*.school.edu"], False),
    ("a.canvas.school.edu", ["*.school.edu"], False),
    ("canvas.school.edu", ["can*.school.edu"], False),
    ("canvas.school.edu", ["*.*.edu"], False),
    ("school.edu", ["*.edu"], False),
    ("canvas.school.edu", ["canvas.*.edu"], False),
    ("canvas.school.edu", ["www.school.edu", "beta.school.edu"], False),
    ("canvas.school.edu", [], False),
])
def test_host_matches(host, names, covered):
    assert (host_matches(host, names) is not None) is covered


# ----------------------------------------------------------------------------- weak crypto


def test_sha1_leaf_then_sha256(pki):
    a = analyse(pki.rsa_issuing.issue_cert(HOST, digest="sha1").chain_pems(), pki.root.cert_pem)
    f = a.finding("tls.weak_signature")
    assert failures(a) == {"tls.weak_signature"} and f.evidence["certificates"][0]["signature_algorithm"] == "sha1WithRSAEncryption"
    assert analyse(pki.rsa_issuing.issue_cert(HOST).chain_pems(), pki.root.cert_pem).trusted


def test_md5_leaf(pki):
    a = analyse(pki.rsa_issuing.issue_cert(HOST, digest="md5").chain_pems(), pki.root.cert_pem)
    assert failures(a) == {"tls.weak_signature"} and "md5WithRSAEncryption" in a.finding("tls.weak_signature").detail


def test_a_roots_own_sha1_signature_does_not_count(pki):
    old_root = CA("Lab SHA-1 Root", key_kind="rsa2048", key_slot=7, digest="sha1")
    chain = old_root.create_child_ca("Lab Modern CA").issue_cert(HOST).chain_pems()
    a = analyse(chain, old_root.cert_pem)
    assert "tls.weak_signature" not in failures(a)


def test_weak_rsa_key_then_strong(pki):
    a = analyse(pki.issuing.issue_cert(HOST, key="rsa1024").chain_pems(), pki.root.cert_pem)
    f = a.finding("tls.weak_key")
    assert failures(a) == {"tls.weak_key"} and f.evidence["certificates"][0]["key_size"] == 1024
    assert "1024-bit RSA" in f.detail
    assert analyse(pki.issuing.issue_cert(HOST, key="rsa2048").chain_pems(), pki.root.cert_pem).trusted


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("sent", [[], ["not a certificate"], ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]])
def test_no_readable_leaf_is_a_finding(pki, sent):
    a = analyse(sent, pki.root.cert_pem)
    assert a.codes == ["tls.chain_invalid"] and not a.trusted and a.path == ()


def test_unreadable_intermediate_is_reported_not_raised(pki):
    a = analyse([pki.leaf.cert_pem, "junk"], pki.root.cert_pem)
    f = a.finding("tls.incomplete_chain")
    assert f.evidence["unreadable_sent"][0]["position"] == 1 and not a.sent[1]["readable"]


def test_an_empty_trust_store_trusts_nothing(pki):
    a = analyse(pki.leaf.chain_pems(), "")
    assert not a.trusted and failures(a) == {"tls.incomplete_chain"}


def test_store_with_a_broken_entry_still_works(pki):
    bundle = "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n" + pki.root.cert_pem
    assert analyse(pki.leaf.chain_pems(), bundle).trusted


# ----------------------------------------------------------------------------- AIA bodies


def test_certificates_from_every_aia_format(pki):
    cert = pki.issuing.cert
    der = cert.public_bytes(serialization.Encoding.DER)
    bodies = {
        "der": der,
        "pem": pem(cert).encode(),
        "p7c-der": pkcs7.serialize_certificates([cert], serialization.Encoding.DER),
        "p7c-pem": pkcs7.serialize_certificates([cert], serialization.Encoding.PEM),
    }
    for kind, body in bodies.items():
        assert certificates_from_bytes(body) == [pki.issuing.cert_pem], kind
    assert certificates_from_bytes(b"<html>not found</html>") == []
    assert certificates_from_bytes(b"") == []


# ----------------------------------------------------------------------------- fuzzing


_PEM_TEXT = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=300).map(
        lambda b: "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(b).decode() + "-----END CERTIFICATE-----\n"),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PEM_TEXT, max_size=4), st.sampled_from([HOST, "x", "", "*.lab.test", "a..b", "ünï.test"]))
def test_garbage_never_raises(pki, sent, host):
    a = analyse(sent, pki.root.cert_pem, host=host)
    assert not a.trusted and a.findings


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_certificates_never_raise(pki, data):
    """Flip bytes in a real leaf or intermediate: whatever still parses is diagnosed."""
    chain = [pki.leaf.cert, pki.issuing.cert]
    which = data.draw(st.sampled_from([0, 1]))
    der = bytearray(chain[which].public_bytes(serialization.Encoding.DER))
    for _ in range(data.draw(st.integers(1, 4))):
        der[data.draw(st.integers(0, len(der) - 1))] = data.draw(st.integers(0, 255))
    mutated = "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes(der)).decode() + "-----END CERTIFICATE-----\n"
    sent = [pem(c) for c in chain]
    sent[which] = mutated
    a = analyse(sent, pki.root.cert_pem)
    assert a.findings
    json.dumps([a.sent, a.path, [f.evidence for f in a.findings]])
