"""A small lab PKI for the TLS tests, read like trustme.

    root = CA("Lab Root CA")                      # self-signed, EC P-256
    inter = root.create_child_ca("Lab Issuing CA")
    leaf = inter.issue_cert("canvas.lab.test")    # SAN, serverAuth, AKI/SKI
    leaf.chain_pems()                             # [leaf, inter] as a correct server sends
    leaf.server_context(send=[leaf.cert, root.cert, inter.cert])  # or any order

Beyond trustme it can make the certificates a real Canvas server gets wrong: dates in
the past or future, RSA-1024 keys, SHA-1 signatures, an AIA "CA Issuers" URL, a
self-signed leaf. Certificates are otherwise shaped for the Web PKI (what
``cryptography.x509.verification`` demands), so a "good" chain verifies for real.

EC P-256 keys are used wherever the key type does not matter: they are made in
microseconds, RSA-2048 takes a noticeable fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import functools
import ssl
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

KeyKind = Literal["ec", "rsa1024", "rsa2048"]
HashKind = Literal["sha256", "sha1", "md5"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

__all__ = ["CA", "LeafCert", "self_signed_cert", "make_key", "now_utc", "pem"]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@functools.lru_cache(maxsize=None)
def _rsa2048(slot: int) -> rsa.RSAPrivateKey:
    # RSA-2048 generation is the one slow thing here: one key per slot per session.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_key(kind: KeyKind = "ec", slot: int = 0) -> PrivateKey:
    """A private key. ``rsa2048`` keys are shared per ``slot`` to keep the lab fast."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "rsa2048":
        return _rsa2048(slot)
    raise ValueError(f"unknown key kind {kind!r}")


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _dates(not_before: dt.datetime | None, not_after: dt.datetime | None, days: int) -> tuple[dt.datetime, dt.datetime]:
    start = not_before or now_utc() - dt.timedelta(days=1)
    return start, not_after or start + dt.timedelta(days=days)


def _sign(builder: x509.CertificateBuilder, key: PrivateKey, digest: HashKind) -> x509.Certificate:
    """Sign with SHA-256, or with SHA-1/MD5 when a test needs a broken signature.

    cryptography refuses to sign certificates with SHA-1 or MD5. For an RSA issuer the
    PKCS#1 v1.5 algorithm identifiers for SHA-256, SHA-1 and MD5 encode to the same
    length and the signature length is the modulus size, so we sign with SHA-256, swap
    the identifier inside the DER and replace the signature bytes: every length stays
    the same and the result is a genuine SHA-1 (or MD5) signed certificate.
    """
    cert = builder.sign(key, hashes.SHA256())
    if digest == "sha256":
        return cert
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("SHA-1/MD5 lab certificates need an RSA issuer key")
    sha256_rsa = bytes.fromhex("2a864886f70d01010b")  # 1.2.840.113549.1.1.11
    weak_oid = bytes.fromhex("2a864886f70d010105" if digest == "sha1" else "2a864886f70d010104")
    der = cert.public_bytes(serialization.Encoding.DER)
    assert der.count(sha256_rsa) == 2, "expected the algorithm identifier twice (TBS and outer)"
    tbs = cert.tbs_certificate_bytes.replace(sha256_rsa, weak_oid)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1() if digest == "sha1" else hashes.MD5())
    assert len(signature) == len(cert.signature)
    patched = der.replace(sha256_rsa, weak_oid)
    patched = patched[: -len(signature)] + signature
    return x509.load_der_x509_certificate(patched)


def _name(common_name: str, org: str = "Connect Check Lab") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _aia(url: str | None) -> list[tuple[x509.ExtensionType, bool]]:
    if not url:
        return []
    desc = x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(url))
    return [(x509.AuthorityInformationAccess([desc]), False)]


@dataclass
class CA:
    """A certificate authority: a self-signed root, or an intermediate under ``parent``.

    ``aia_url`` goes into this CA's own certificate (where its issuer can be fetched).
    """

    name: str = "Connect Check Lab Root CA"
    key_kind: KeyKind = "ec"
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    parent: "CA | None" = None
    aia_url: str | None = None
    digest: HashKind = "sha256"
    key_slot: int = 0
    key: PrivateKey = field(init=False, repr=False)
    cert: x509.Certificate = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.key = make_key(self.key_kind, self.key_slot)
        start, end = _dates(self.not_before, self.not_after, 3650)
        subject = _name(self.name)
        issuer_key = self.parent.key if self.parent else self.key
        issuer_name = self.parent.cert.subject if self.parent else subject
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        aki_source = self.parent.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value if self.parent else ski
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                              encipher_only=False, decipher_only=False),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(aki_source), critical=False)
        )
        for ext, critical in _aia(self.aia_url):
            builder = builder.add_extension(ext, critical=critical)
        self.cert = _sign(builder, issuer_key, self.digest)

    # -- the trustme verbs ------------------------------------------------------
    def create_child_ca(self, name: str = "Connect Check Lab Issuing CA", **kw) -> "CA":
        return CA(name, parent=self, **kw)

    def issue_cert(
        self,
        *hosts: str,
        key: KeyKind = "ec",
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        digest: HashKind = "sha256",
        aia_url: str | None = None,
        common_name: str | None = None,
        key_slot: int = 1,
    ) -> "LeafCert":
        """A server certificate for ``hosts`` (SANs) issued by this CA."""
        leaf_key = make_key(key, key_slot)
        start, end = _dates(not_before, not_after, 90)
        cn = common_name or (hosts[0] if hosts else "lab leaf")
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.cert.subject)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(digital_signature=True, content_commitment=False,
                              key_encipherment=isinstance(leaf_key, rsa.RSAPrivateKey), data_encipherment=False,
                              key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
                              decipher_only=False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
                ),
                critical=False,
            )
        )
        if hosts:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
        for ext, critical in _aia(aia_url):
            builder = builder.add_extension(ext, critical=critical)
        cert = _sign(builder, self.key, digest)
        return LeafCert(cert=cert, key=leaf_key, intermediates=tuple(self._intermediates()), root=self.root.cert)

    # -- views ------------------------------------------------------------------
    @property
    def root(self) -> "CA":
        return self.parent.root if self.parent else self

    def _intermediates(self) -> list[x509.Certificate]:
        """This CA and its parents up to, not including, the root (issuer order)."""
        out: list[x509.Certificate] = []
        ca: CA | None = self
        while ca is not None and ca.parent is not None:
            out.append(ca.cert)
            ca = ca.parent
        return out

    @property
    def cert_pem(self) -> str:
        return pem(self.cert)

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def write_bundle(self, path: str | Path) -> str:
        Path(path).write_text(self.cert_pem)
        return str(path)


@dataclass(frozen=True)
class LeafCert:
    """A server certificate, its key, and the chain above it.

    Attributes:
        cert: the leaf.
        key: its private key.
        intermediates: the issuing CA first, up to (not including) the root.
        root: the root at the top, or None for a self-signed leaf.
    """

    cert: x509.Certificate
    key: PrivateKey = field(repr=False)
    intermediates: tuple[x509.Certificate, ...] = ()
    root: x509.Certificate | None = None

    @property
    def cert_pem(self) -> str:
        return pem(self.cert)

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def chain(self) -> list[x509.Certificate]:
        """What a correctly configured server sends: leaf, then each issuer below the root."""
        return [self.cert, *self.intermediates]

    def chain_pems(self) -> list[str]:
        return [pem(c) for c in self.chain()]

    def configure_cert(self, ctx: ssl.SSLContext) -> None:
        """trustme's verb: make a server context send this leaf and its chain."""
        with tempfile.TemporaryDirectory() as tmp:
            chain_file = Path(tmp) / "chain.pem"
            key_file = Path(tmp) / "key.pem"
            chain_file.write_text("".join(pem(c) for c in self.chain()))
            key_file.write_text(self.key_pem)
            ctx.load_cert_chain(str(chain_file), str(key_file))

    def server_context(
        self,
        send: Sequence[x509.Certificate] | None = None,
        *,
        max_version: ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        """A server SSLContext sending exactly ``send`` (default: :meth:`chain`), in order.

        The first certificate sent must be this leaf. Security level 0 lets OpenSSL load
        the weak keys and signatures the lab needs; ``max_version`` caps the protocol
        (TLS 1.0/1.1 for the old-protocol server).
        """
        send = list(send) if send is not None else self.chain()
        if not send or send[0] != self.cert:
            raise ValueError("a server always sends its own certificate first")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        if max_version is not None:
            with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is the point
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.maximum_version = max_version
        with tempfile.TemporaryDirectory() as tmp:
            chain_file = Path(tmp) / "chain.pem"
            key_file = Path(tmp) / "key.pem"
            chain_file.write_text("".join(pem(c) for c in send))
            key_file.write_text(self.key_pem)
            ctx.load_cert_chain(str(chain_file), str(key_file))
        return ctx


def self_signed_cert(*hosts: str, key: KeyKind = "ec", not_before: dt.datetime | None = None,
                     not_after: dt.datetime | None = None) -> LeafCert:
    """A leaf that signs itself (what ``openssl req -x509`` makes): no CA anywhere."""
    leaf_key = make_key(key)
    start, end = _dates(not_before, not_after, 365)
    name = _name(hosts[0] if hosts else "self-signed", org="Self-signed")
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
    return LeafCert(cert=_sign(builder, leaf_key, "sha256"), key=leaf_key)
