"""Diagnose a certificate chain exactly as a server sent it: pure, no network.

:func:`analyze_chain` takes the PEM certificates in the order the server sent them, the
host name, the time and the trust store, and returns a :class:`ChainAnalysis`: the
findings to emit (one per code, each with the facts that decided it), the path it built,
and what is needed to repair an incomplete chain. ``checks/tls.py`` does the network
part (handshake, AIA download) and calls this twice when it fetched a missing issuer.

How the path is built (the leaf is always the first certificate sent):

1. stop when the current certificate is a trust-store root (same subject and key);
2. else take its issuer from the trust store, which ends the path at a trusted root;
3. else stop when it signs itself: a self-signed leaf, or an untrusted root;
4. else take its issuer from what the server sent, then from ``extra_pems``;
5. else stop: the issuer is missing (incomplete chain).

"Issued by" means the issuer name matches *and* the signature verifies with the
issuer's key; SHA-1 and MD5 signatures are verified too (they must be found to be
flagged). Once our own rules pass, ``cryptography.x509.verification`` (a strict Web PKI
verifier) has the last word; when it refuses a chain our rules accepted, its message is
reported under the closest code, never swallowed.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509 import verification
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

__all__ = [
    "ChainAnalysis",
    "ChainFinding",
    "EXPIRING_SOON",
    "analyze_chain",
    "certificates_from_bytes",
    "describe",
    "host_matches",
]

# Real-world roots and servers carry RFC 5280 sins (negative serials, ...) that cryptography
# warns about on every load; we diagnose certificates, we do not lint them into stderr.
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=__name__)

#: The leaf expiring within this is worth a warning.
EXPIRING_SOON = _dt.timedelta(days=30)
MAX_PATH = 10
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256

#: Signature algorithms that are broken (RSA/ECDSA/DSA with MD2, MD4, MD5 or SHA-1).
WEAK_SIGNATURE_OIDS = {
    "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
    "1.2.840.113549.1.1.3": "md4WithRSAEncryption",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.3.14.3.2.29": "sha1WithRSASignature",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10040.4.3": "dsa-with-sha1",
}

_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ChainFinding:
    """One finding to emit: a catalog code, this run's sentence and its facts.

    ``status`` is None when the catalog's usual status applies.
    """

    code: str
    detail: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    status: str | None = None


@dataclass(frozen=True)
class ChainAnalysis:
    """What :func:`analyze_chain` found. Plain data only (safe to pickle and to JSON).

    Attributes:
        host: the host name the chain was checked for.
        checked_at: the time it was checked against, ISO 8601 UTC with a Z.
        sent: one dict per certificate the server sent, in the order sent (see
            :func:`describe`); unreadable ones carry ``readable: False`` and ``error``.
        path: the path built from the leaf upwards, each a dict like ``sent``'s with
            ``source`` telling where it came from: ``sent``, ``extra`` (fetched, e.g. by
            AIA) or ``trust_store``. Empty when the leaf could not be read.
        path_end: how the path ends: ``trusted_root``, ``untrusted_root``,
            ``self_signed_leaf``, ``missing_issuer``, ``too_long`` or ``no_certificate``.
        findings: what to emit, in reading order, at most one per code.
        trusted: no failure was found and the chain as sent verifies for this host at
            this time: by the strict verifier, or, when only that verifier's extra
            profile rules object, by OpenSSL (then a ``tls.chain_invalid`` warning says
            what strict clients would refuse).
        missing_issuer: the issuer name (RFC 4514) the path stopped at, when it ends at
            ``missing_issuer``; None otherwise.
        missing_issuer_aia_urls: "CA Issuers" URLs of the certificate whose issuer is
            missing, where the missing certificate can be downloaded; empty when the
            path does not stop at a missing issuer or the certificate names none.
        fixed_chain_pems: a corrected chain to install (leaf first, then each
            intermediate, no trust-store root) when the sent chain is incomplete and
            ``extra_pems`` completed it to a trusted root, or when it is merely out of
            order or padded; empty otherwise.
        verifier_error: the strict verifier's message when it refused the chain as
            sent, else None (None too when it was not run: unreadable leaf, empty store).
        openssl_error: OpenSSL's refusal (as Python and most server-side clients verify,
            X509_STRICT on), asked only when the strict verifier refused a chain our
            rules accepted; None when it accepted or was not asked.
    """

    host: str
    checked_at: str
    sent: tuple[Mapping[str, Any], ...]
    path: tuple[Mapping[str, Any], ...]
    path_end: str
    findings: tuple[ChainFinding, ...]
    trusted: bool
    missing_issuer: str | None = None
    missing_issuer_aia_urls: tuple[str, ...] = ()
    fixed_chain_pems: tuple[str, ...] = ()
    verifier_error: str | None = None
    openssl_error: str | None = None

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    @property
    def fixed_chain_pem(self) -> str | None:
        """The corrected chain as one PEM text, or None."""
        return "".join(self.fixed_chain_pems) if self.fixed_chain_pems else None

    def finding(self, code: str) -> ChainFinding | None:
        return next((f for f in self.findings if f.code == code), None)


# ----------------------------------------------------------------------------- parsing


@dataclass(eq=False)
class _Cert:
    """A parsed certificate with where it came from (internal)."""

    cert: x509.Certificate
    source: str  # sent | extra | trust_store
    position: int | None
    pem: str
    fingerprint: str

    @property
    def identity(self) -> tuple[bytes, bytes]:
        """Subject and key: the same CA, whoever signed this copy (cross-signs)."""
        return _identity(self.cert)


def _identity(cert: x509.Certificate) -> tuple[bytes, bytes]:
    try:
        spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    except Exception:  # an unknown or malformed key: fall back to the raw TBS
        spki = cert.tbs_certificate_bytes
    return (_name_der(cert, "subject"), spki)


def _name_der(cert: x509.Certificate, which: str) -> bytes:
    """DER of the subject or issuer name (a marker that matches nothing if unreadable)."""
    try:
        return getattr(cert, which).public_bytes()
    except Exception:
        return b"unreadable:" + which.encode() + hashlib.sha256(cert.tbs_certificate_bytes).digest()


def _load_pem(text: str | bytes) -> x509.Certificate:
    data = text.encode("utf-8", errors="replace") if isinstance(text, str) else bytes(text)
    return x509.load_pem_x509_certificate(data)


def _wrap(cert: x509.Certificate, source: str, position: int | None) -> _Cert:
    der = cert.public_bytes(serialization.Encoding.DER)
    return _Cert(
        cert=cert,
        source=source,
        position=position,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        fingerprint=hashlib.sha256(der).hexdigest(),
    )


def certificates_from_bytes(data: bytes) -> list[str]:
    """Certificates in a downloaded body (AIA "CA Issuers"): DER, PEM, or PKCS#7 in DER
    or PEM, as PEM strings. Anything else gives an empty list, never an exception."""
    loaders = (
        lambda d: [x509.load_der_x509_certificate(d)],
        lambda d: x509.load_pem_x509_certificates(d),
        lambda d: pkcs7.load_der_pkcs7_certificates(d),
        lambda d: pkcs7.load_pem_pkcs7_certificates(d),
    )
    for load in loaders:
        try:
            certs = load(data)
        except Exception:
            continue
        out = []
        for cert in certs or ():
            try:
                out.append(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
            except Exception:
                continue
        if out:
            return out
    return []


# ----------------------------------------------------------------------------- trust store


@dataclass(frozen=True)
class _Store:
    roots: tuple[_Cert, ...]
    by_subject: Mapping[bytes, tuple[_Cert, ...]]
    identities: frozenset[tuple[bytes, bytes]]
    verifier_store: verification.Store | None

    def anchors(self, c: _Cert) -> bool:
        return c.identity in self.identities

    def issuer_of(self, c: _Cert) -> _Cert | None:
        for root in self.by_subject.get(_name_der(c.cert, "issuer"), ()):
            if _issued_by(c.cert, root.cert) is not False:
                return root
        return None


@lru_cache(maxsize=8)
def _load_store(pem: bytes) -> _Store:
    """Parse a PEM bundle once per content (certifi's ~150 roots take a few ms)."""
    roots: list[_Cert] = []
    seen: set[str] = set()
    for block in _pem_blocks(pem):
        try:
            wrapped = _wrap(x509.load_pem_x509_certificate(block), "trust_store", None)
        except Exception:
            continue  # one bad entry must not void the whole store
        if wrapped.fingerprint not in seen:
            seen.add(wrapped.fingerprint)
            roots.append(wrapped)
    by_subject: dict[bytes, list[_Cert]] = {}
    for r in roots:
        by_subject.setdefault(_name_der(r.cert, "subject"), []).append(r)
    store = None
    if roots:
        try:
            store = verification.Store([r.cert for r in roots])
        except Exception:
            store = None
    return _Store(
        roots=tuple(roots),
        by_subject={k: tuple(v) for k, v in by_subject.items()},
        identities=frozenset(r.identity for r in roots),
        verifier_store=store,
    )


def _pem_blocks(data: bytes) -> Iterable[bytes]:
    start = 0
    while True:
        begin = data.find(_PEM_BEGIN, start)
        if begin < 0:
            return
        end = data.find(_PEM_END, begin)
        if end < 0:
            return
        end += len(_PEM_END)
        yield data[begin:end] + b"\n"
        start = end


# ----------------------------------------------------------------------------- signatures


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool | None:
    """True when ``issuer`` signed ``child``; False when it did not; None when the names
    match but the signature cannot be checked (an algorithm we do not know)."""
    if _name_der(child, "issuer") != _name_der(issuer, "subject"):
        return False
    try:
        key = issuer.public_key()
        sig, tbs = child.signature, child.tbs_certificate_bytes
        if isinstance(key, rsa.RSAPublicKey):
            params = child.signature_algorithm_parameters
            pad = params if isinstance(params, (padding.PSS, padding.PKCS1v15)) else padding.PKCS1v15()
            key.verify(sig, tbs, pad, child.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, tbs, ec.ECDSA(child.signature_hash_algorithm))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(sig, tbs)
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(sig, tbs, child.signature_hash_algorithm)
        else:
            return None
        return True
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, ValueError, TypeError):
        return None


def _self_signed(cert: x509.Certificate) -> bool:
    return _issued_by(cert, cert) is not False


# ----------------------------------------------------------------------------- describing


def _iso(value: _dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _safe(fn, default=None):
    try:
        return fn()
    except Exception:
        return default


def _subject(cert: x509.Certificate) -> str:
    return _safe(lambda: cert.subject.rfc4514_string(), None) or "(unreadable name)"


def _issuer(cert: x509.Certificate) -> str:
    return _safe(lambda: cert.issuer.rfc4514_string(), None) or "(unreadable name)"


def _common_name(cert: x509.Certificate) -> str | None:
    attrs = _safe(lambda: cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME), [])
    return str(attrs[0].value) if attrs else None


def _extension(cert: x509.Certificate, cls) -> Any:
    """The extension's value, or None when absent or unreadable."""
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except Exception:
        return None


#: A hostile server can send a certificate with thousands of names; reports keep the
#: first ones (and the count) so that they stay small enough to show, store and share.
MAX_SANS_SHOWN = 100
MAX_SANS_IN_TEXT = 10


def _sans(cert: x509.Certificate) -> list[str] | None:
    """DNS names in the SAN extension; None when there is no (readable) SAN extension."""
    ext = _extension(cert, x509.SubjectAlternativeName)
    if ext is None:
        return None
    return [str(n) for n in _safe(lambda: ext.get_values_for_type(x509.DNSName), [])]


def _aia_ca_issuers(cert: x509.Certificate) -> list[str]:
    ext = _extension(cert, x509.AuthorityInformationAccess)
    if ext is None:
        return []
    return [
        str(d.access_location.value)
        for d in ext
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


def _key_info(cert: x509.Certificate) -> tuple[str, int | None, str | None]:
    """(type, size in bits, curve name) of the certificate's public key."""
    try:
        key = cert.public_key()
    except Exception:
        oid = _safe(lambda: cert.public_key_algorithm_oid.dotted_string, "unknown")
        return (f"unknown ({oid})", None, None)
    if isinstance(key, rsa.RSAPublicKey):
        return ("RSA", key.key_size, None)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ("EC", key.curve.key_size, key.curve.name)
    if isinstance(key, dsa.DSAPublicKey):
        return ("DSA", key.key_size, None)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ("Ed25519", 256, None)
    if isinstance(key, ed448.Ed448PublicKey):
        return ("Ed448", 456, None)
    return (type(key).__name__, None, None)


def _signature_algorithm(cert: x509.Certificate) -> tuple[str, str]:
    """(name, dotted OID) of the algorithm the issuer signed this certificate with."""
    oid = _safe(lambda: cert.signature_algorithm_oid, None)
    if oid is None:
        return ("unknown", "")
    dotted = oid.dotted_string
    name = WEAK_SIGNATURE_OIDS.get(dotted) or getattr(oid, "_name", None) or dotted
    return (str(name), dotted)


def describe(c: _Cert, role: str | None = None, pem: bool = True) -> dict[str, Any]:
    """Plain facts about one certificate (for findings, the report and renderers)."""
    cert = c.cert
    key_type, key_size, curve = _key_info(cert)
    sig_name, sig_oid = _signature_algorithm(cert)
    bc = _extension(cert, x509.BasicConstraints)
    out: dict[str, Any] = {
        "position": c.position,
        "source": c.source,
        "readable": True,
        "subject": _subject(cert),
        "issuer": _issuer(cert),
        "common_name": _common_name(cert),
        "sans": (_sans(cert) or [])[:MAX_SANS_SHOWN],
        "sans_total": len(_sans(cert) or []),
        "not_before": _iso(_safe(lambda: cert.not_valid_before_utc)),
        "not_after": _iso(_safe(lambda: cert.not_valid_after_utc)),
        "key_type": key_type,
        "key_size": key_size,
        "curve": curve,
        "signature_algorithm": sig_name,
        "signature_oid": sig_oid,
        "serial": _safe(lambda: format(cert.serial_number, "x"), ""),
        "sha256": c.fingerprint,
        "is_ca": bool(bc.ca) if bc is not None else None,
        "self_issued": _name_der(cert, "subject") == _name_der(cert, "issuer"),
        "aia_ca_issuers": _aia_ca_issuers(cert),
    }
    if role is not None:
        out["role"] = role
    if pem:
        out["pem"] = c.pem
    return out


def _brief(c: _Cert, role: str | None = None) -> dict[str, Any]:
    return describe(c, role, pem=False)


# ----------------------------------------------------------------------------- host names


def host_matches(host: str, names: Iterable[str]) -> str | None:
    """The SAN DNS name that covers ``host`` (RFC 6125), or None.

    A wildcard stands for exactly one whole label and only as the left-most label
    (``*.example.edu`` covers ``canvas.example.edu``, not ``example.edu`` nor
    ``a.b.example.edu``); partial wildcards (``can*.example.edu``) and wildcards over a
    bare top-level domain (``*.edu``) cover nothing. Comparison ignores case and a
    trailing dot.
    """
    host = host.lower().rstrip(".")
    host_labels = host.split(".")
    for raw in names:
        name = str(raw).lower().rstrip(".")
        if not name:
            continue
        if name == host and "*" not in name:
            return str(raw)
        labels = name.split(".")
        if labels[0] != "*" or "*" in "".join(labels[1:]) or len(labels) < 3:
            continue
        if len(labels) == len(host_labels) and host_labels[0] and labels[1:] == host_labels[1:]:
            return str(raw)
    return None


# ----------------------------------------------------------------------------- the analysis


def analyze_chain(
    sent_pems: Sequence[str],
    host: str,
    now: _dt.datetime,
    trust_roots_pem: bytes | str,
    extra_pems: Sequence[str] = (),
) -> ChainAnalysis:
    """Diagnose ``sent_pems`` (leaf first, as the server sent them) for ``host`` at ``now``.

    ``trust_roots_pem`` is the trust store's PEM text; ``extra_pems`` are certificates
    obtained elsewhere (AIA downloads) that may complete the path. Never raises on bad
    certificates: unreadable ones become findings.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=_dt.timezone.utc)
    host = host.lower().rstrip(".")
    store = _load_store(trust_roots_pem.encode("utf-8", errors="replace") if isinstance(trust_roots_pem, str) else bytes(trust_roots_pem))

    sent: list[_Cert | None] = []
    sent_info: list[Mapping[str, Any]] = []
    for position, pem in enumerate(sent_pems):
        try:
            c = _wrap(_load_pem(pem), "sent", position)
        except Exception as exc:
            sent.append(None)
            sent_info.append({"position": position, "source": "sent", "readable": False, "error": _reason(exc)})
            continue
        sent.append(c)
        sent_info.append(describe(c))
    extras: list[_Cert] = []
    for pem in extra_pems:
        try:
            extras.append(_wrap(_load_pem(pem), "extra", None))
        except Exception:
            continue

    base = dict(host=host, checked_at=_iso(now) or "", sent=tuple(sent_info))
    leaf = sent[0] if sent else None
    if leaf is None:
        detail = (
            "The server sent no certificate at all."
            if not sent
            else f"The server's own certificate (the first one it sent) cannot be read: {sent_info[0].get('error')}."
        )
        finding = ChainFinding("tls.chain_invalid", detail, {"sent": list(sent_info), "problem": "no readable leaf"})
        return ChainAnalysis(**base, path=(), path_end="no_certificate", findings=(finding,), trusted=False)

    path, end = _build_path(leaf, [c for c in sent[1:] if c is not None], extras, store)
    rules = _Rules(host, now, sent, sent_info, path, end, store)
    findings = rules.run()
    # A corrected chain is offered only where it is the fix: for missing intermediates
    # that a download supplied, or for a chain sent out of order or padded.
    fixed = rules.fixed_chain()
    if fixed and rules.missing_from_sent():
        _attach(findings, "tls.incomplete_chain", fixed_chain_pem="".join(fixed))
    elif fixed and "tls.chain_order" in {f.code for f in findings}:
        _attach(findings, "tls.chain_order", fixed_chain_pem="".join(fixed))
    else:
        fixed = []

    intermediates = [c for c in sent[1:] if c is not None]
    verifier_error = _verify(store, leaf, intermediates, host, now)
    failed = any(f.status in (None, "fail") and f.code not in _NOT_FAILURES for f in findings)
    openssl_error = None
    if not failed and verifier_error is not None and store.verifier_store is not None:
        openssl_error = _openssl_verify(store, leaf, intermediates, now)
    trusted = not failed and store.verifier_store is not None and (verifier_error is None or openssl_error is None)
    if not failed and verifier_error is not None:
        findings.append(_verifier_finding(verifier_error, openssl_error, rules))
    if trusted:
        findings.append(ChainFinding(
            "tls.trusted",
            f"{_subject(leaf.cert)} is valid for {host} until {_iso(_safe(lambda: leaf.cert.not_valid_after_utc))}, "
            f"issued through {_path_text(path)}.",
            {"leaf": _brief(leaf, "leaf"), "path": [_brief(c) for c in path]},
        ))

    top = path[-1]
    return ChainAnalysis(
        **base,
        path=tuple(describe(c, _role(i, path, end)) for i, c in enumerate(path)),
        path_end=end,
        findings=tuple(findings),
        trusted=trusted,
        missing_issuer=_issuer(top.cert) if end == "missing_issuer" else None,
        missing_issuer_aia_urls=tuple(_aia_ca_issuers(top.cert)) if end == "missing_issuer" else (),
        fixed_chain_pems=tuple(fixed),
        verifier_error=verifier_error,
        openssl_error=openssl_error,
    )


#: Codes the rules produce that are not failures.
_NOT_FAILURES = frozenset({"tls.chain_order", "tls.expiring_soon", "tls.trusted"})


def _build_path(leaf: _Cert, sent: list[_Cert], extras: list[_Cert], store: _Store) -> tuple[list[_Cert], str]:
    path = [leaf]
    used = {leaf.fingerprint}
    current = leaf
    while len(path) <= MAX_PATH:
        if store.anchors(current):
            return path, "trusted_root"
        anchor = store.issuer_of(current)
        if anchor is not None:
            path.append(anchor)
            return path, "trusted_root"
        if _self_signed(current.cert):
            return path, "self_signed_leaf" if len(path) == 1 else "untrusted_root"
        issuer = _pick_issuer(current, [c for c in sent + extras if c.fingerprint not in used])
        if issuer is None:
            return path, "missing_issuer"
        path.append(issuer)
        used.add(issuer.fingerprint)
        current = issuer
    return path, "too_long"


def _pick_issuer(child: _Cert, candidates: list[_Cert]) -> _Cert | None:
    """The candidate that signed ``child``: verified signatures first, sent before
    fetched (candidates come in that order)."""
    unverifiable = None
    for c in candidates:
        result = _issued_by(child.cert, c.cert)
        if result is True:
            return c
        if result is None and unverifiable is None:
            unverifiable = c
    return unverifiable


def _role(index: int, path: list[_Cert], end: str) -> str:
    if index == 0:
        return "leaf"
    if index == len(path) - 1 and end in ("trusted_root", "untrusted_root"):
        return "root"
    return "intermediate"


def _path_text(path: list[_Cert]) -> str:
    return " -> ".join(_common_name(c.cert) or _subject(c.cert) for c in path[1:]) or "itself"


def _attach(findings: list[ChainFinding], code: str, **evidence: Any) -> None:
    for i, f in enumerate(findings):
        if f.code == code:
            findings[i] = ChainFinding(f.code, f.detail, {**f.evidence, **evidence}, f.status)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


class _Rules:
    """Each rule reads the built path and adds at most one finding for its code."""

    def __init__(self, host, now, sent, sent_info, path, end, store):
        self.host: str = host
        self.now: _dt.datetime = now
        self.sent: list[_Cert | None] = sent
        self.sent_info: list[Mapping[str, Any]] = sent_info
        self.path: list[_Cert] = path
        self.end: str = end
        self.store: _Store = store
        self.leaf = path[0]
        self.findings: list[ChainFinding] = []

    def run(self) -> list[ChainFinding]:
        for rule in (self.path_end, self.hostname, self.validity, self.weak_signature, self.weak_key,
                     self.chain_order, self.expiring_soon):
            rule()
        return self.findings

    def add(self, code: str, detail: str, **evidence: Any) -> None:
        self.findings.append(ChainFinding(code, detail[:1].upper() + detail[1:], evidence))

    def role(self, c: _Cert) -> str:
        return _role(self.path.index(c), self.path, self.end)

    def checked(self) -> list[_Cert]:
        """Path certificates whose own signature and key matter: all but a root at the top."""
        if self.end in ("trusted_root", "untrusted_root", "self_signed_leaf"):
            return self.path[:-1]
        return list(self.path)

    def where(self, c: _Cert) -> str:
        role = self.role(c)
        name = _common_name(c.cert) or _subject(c.cert)
        if c.position is not None:
            return f"the {role} {name} (certificate #{c.position + 1} sent)"
        source = "the trust store" if c.source == "trust_store" else "a download (not sent by the server)"
        return f"the {role} {name} (from {source})"

    def missing_from_sent(self) -> list[_Cert]:
        return [c for c in self.path if c.source == "extra"]

    # -- rules --------------------------------------------------------------------
    def path_end(self) -> None:
        top = self.path[-1]
        unread = [i for i in self.sent_info if not i.get("readable", True)]
        if self.end == "self_signed_leaf":
            self.add(
                "tls.self_signed",
                f"The certificate for {_subject(top.cert)} is signed by itself, not by a certificate authority.",
                certificate=_brief(top, "leaf"),
            )
        elif self.end == "untrusted_root":
            fetched = top.source == "extra"
            via = "downloaded from the address in the chain (AIA)" if fetched else f"sent as certificate #{(top.position or 0) + 1}"
            self.add(
                "tls.untrusted_root",
                f"The chain ends at the root {_subject(top.cert)} ({via}), which is not in the trust store.",
                root=_brief(top, "root"),
                path=[_brief(c, self.role(c)) for c in self.path],
                missing_from_sent=[_brief(c) for c in self.missing_from_sent() if c is not top],
            )
        elif self.end in ("missing_issuer", "too_long"):
            urls = _aia_ca_issuers(top.cert)
            why = (
                f"It can be downloaded from {', '.join(urls)}." if urls
                else "The certificate names no address to download it from (no AIA \"CA Issuers\" entry)."
            )
            self.add(
                "tls.incomplete_chain",
                f"The server sent {len(self.sent)} certificate(s), but not the issuer of {_subject(top.cert)}: "
                f"{_issuer(top.cert)} is neither sent nor a trusted root. {why}",
                missing_issuer=_issuer(top.cert),
                last_certificate=_brief(top, self.role(top)),
                aia_ca_issuers=urls,
                sent=[dict(i) if not i.get("readable", True) else _strip_pem(i) for i in self.sent_info],
                unreadable_sent=unread,
                path_too_long=self.end == "too_long",
            )
        elif self.end == "trusted_root" and self.missing_from_sent():
            missing = self.missing_from_sent()
            self.add(
                "tls.incomplete_chain",
                "The server does not send the intermediate certificate(s) "
                + ", ".join(_subject(c.cert) for c in missing)
                + "; with them the chain is complete and trusted.",
                missing=[_brief(c, self.role(c)) for c in missing],
                missing_issuer=_subject(missing[0].cert),
                sent=[_strip_pem(i) if i.get("readable", True) else dict(i) for i in self.sent_info],
            )

    def hostname(self) -> None:
        sans = _sans(self.leaf.cert)
        if sans and host_matches(self.host, sans):
            return
        cn = _common_name(self.leaf.cert)
        if sans is None:
            detail = (
                f"The certificate lists no host names (no Subject Alternative Name). Its Common Name is {cn!r}, "
                "which modern clients ignore."
            )
        else:
            shown = ", ".join(sans[:MAX_SANS_IN_TEXT]) + (f" and {len(sans) - MAX_SANS_IN_TEXT} more"
                                                          if len(sans) > MAX_SANS_IN_TEXT else "")
            detail = f"The certificate is for {shown or 'no DNS name'}, not {self.host}."
        self.add("tls.hostname_mismatch", detail, host=self.host, sans=(sans or [])[:MAX_SANS_SHOWN],
                 sans_total=len(sans or []), common_name=cn,
                 certificate=_brief(self.leaf, "leaf"))

    def validity(self) -> None:
        expired, early = [], []
        for c in self.path:
            before = _safe(lambda c=c: c.cert.not_valid_before_utc)
            after = _safe(lambda c=c: c.cert.not_valid_after_utc)
            if after is not None and self.now > after:
                expired.append(c)
            elif before is not None and self.now < before:
                early.append(c)
        now = _iso(self.now)
        if expired:
            self.add(
                "tls.expired",
                "; ".join(f"{self.where(c)} expired on {_iso(c.cert.not_valid_after_utc)}" for c in expired) + ".",
                certificates=[_brief(c, self.role(c)) for c in expired],
                checked_at=now,
            )
        if early:
            self.add(
                "tls.not_yet_valid",
                "; ".join(f"{self.where(c)} is valid only from {_iso(c.cert.not_valid_before_utc)}" for c in early) + ".",
                certificates=[_brief(c, self.role(c)) for c in early],
                checked_at=now,
            )

    def weak_signature(self) -> None:
        weak = [c for c in self.checked() if _signature_algorithm(c.cert)[1] in WEAK_SIGNATURE_OIDS]
        if weak:
            self.add(
                "tls.weak_signature",
                "; ".join(f"{self.where(c)} is signed with {_signature_algorithm(c.cert)[0]}" for c in weak) + ".",
                certificates=[_brief(c, self.role(c)) for c in weak],
            )

    def weak_key(self) -> None:
        weak = []
        for c in self.checked():
            kind, size, _ = _key_info(c.cert)
            limit = {"RSA": MIN_RSA_BITS, "DSA": MIN_RSA_BITS, "EC": MIN_EC_BITS}.get(kind)
            if limit and size is not None and size < limit:
                weak.append((c, kind, size))
        if weak:
            self.add(
                "tls.weak_key",
                "; ".join(f"{self.where(c)} has a {size}-bit {kind} key" for c, kind, size in weak) + ".",
                certificates=[_brief(c, self.role(c)) for c, _, _ in weak],
            )

    def chain_order(self) -> None:
        index = {c.identity: i for i, c in enumerate(self.path)}
        seen: set[str] = {self.leaf.fingerprint}
        order, unrelated, duplicates = [], [], []
        for c in self.sent[1:]:
            if c is None:
                continue
            if c.fingerprint in seen:
                duplicates.append(c)
                continue
            seen.add(c.fingerprint)
            if c.identity in index:
                order.append(index[c.identity])
            else:
                unrelated.append(c)
        out_of_order = order != sorted(order)
        if not (out_of_order or unrelated or duplicates):
            return
        reasons = []
        if out_of_order:
            reasons.append("the certificates are not sent leaf first, then each issuer in turn")
        if unrelated:
            reasons.append("it also sends certificate(s) that are not part of the chain: "
                           + ", ".join(f"#{c.position + 1} {_subject(c.cert)}" for c in unrelated))
        if duplicates:
            reasons.append("it sends the same certificate more than once: "
                           + ", ".join(f"#{c.position + 1}" for c in duplicates))
        expected = [_common_name(c.cert) or _subject(c.cert) for c in self.path if c.source != "trust_store"]
        self.add(
            "tls.chain_order",
            "The server sends its certificates in a confusing order: " + "; ".join(reasons)
            + f". Expected: {' -> '.join(expected)}.",
            sent_order=[_strip_pem(i) for i in self.sent_info if i.get("readable", True)],
            expected_order=[_brief(c, self.role(c)) for c in self.path if c.source != "trust_store"],
            unrelated=[_brief(c) for c in unrelated],
            duplicates=[c.position for c in duplicates],
        )

    def expiring_soon(self) -> None:
        after = _safe(lambda: self.leaf.cert.not_valid_after_utc)
        if after is None or self.now > after:
            return
        left = after - self.now
        if left <= EXPIRING_SOON:
            days = left.days
            self.add(
                "tls.expiring_soon",
                f"The certificate for {self.host} expires on {_iso(after)}, in {days} day{'s' if days != 1 else ''}.",
                not_after=_iso(after),
                days_left=days,
                certificate=_brief(self.leaf, "leaf"),
            )

    # -- repair -------------------------------------------------------------------
    def fixed_chain(self) -> list[str]:
        """Leaf + intermediates in issuer order, when that ends at a trusted root and
        differs from what was sent."""
        if self.end != "trusted_root":
            return []
        chain = [c for c in self.path if c.source != "trust_store"]
        sent = [c.fingerprint for c in self.sent if c is not None]
        if [c.fingerprint for c in chain] == sent[: len(chain)] and len(sent) == len(chain):
            return []
        # A sent root (or cross-signed root) at the top is harmless; keep the fix minimal.
        return [c.pem for c in chain]


def _strip_pem(info: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k != "pem"}


def _verify(store: _Store, leaf: _Cert, intermediates: list[_Cert], host: str, now: _dt.datetime) -> str | None:
    """The strict verifier's refusal message for the chain as sent, or None if it accepts
    (None also when there is no usable store: nothing to verify against)."""
    if store.verifier_store is None:
        return None
    try:
        verifier = (
            verification.PolicyBuilder()
            .store(store.verifier_store)
            .time(now)
            .build_server_verifier(x509.DNSName(host))
        )
        verifier.verify(leaf.cert, [c.cert for c in intermediates])
    except verification.VerificationError as exc:
        return str(exc)[:1000] or "refused"
    except Exception as exc:  # e.g. a host the verifier cannot express as a DNS name
        return f"{type(exc).__name__}: {_reason(exc)}"
    return None


def _openssl_verify(store: _Store, leaf: _Cert, intermediates: list[_Cert], now: _dt.datetime) -> str | None:
    """OpenSSL's opinion of the chain as sent (X509_STRICT, as Python 3.13+ clients ask),
    or None when it accepts. Host names are our own rule, checked before."""
    from OpenSSL import crypto

    try:
        x509_store = crypto.X509Store()
        for root in store.roots:
            x509_store.add_cert(crypto.X509.from_cryptography(root.cert))
        x509_store.set_time(now.astimezone(_dt.timezone.utc))
        x509_store.set_flags(crypto.X509StoreFlags.X509_STRICT)
        context = crypto.X509StoreContext(
            x509_store,
            crypto.X509.from_cryptography(leaf.cert),
            [crypto.X509.from_cryptography(c.cert) for c in intermediates],
        )
        context.verify_certificate()
    except crypto.X509StoreContextError as exc:
        return _reason(exc)
    except Exception as exc:  # a certificate OpenSSL cannot take at all
        return f"{type(exc).__name__}: {_reason(exc)}"
    return None


def _verifier_finding(message: str, openssl_error: str | None, rules: _Rules) -> ChainFinding:
    """Our rules found nothing but the strict verifier refused: name the closest code.

    When OpenSSL accepts the same chain, the objection is one of the strict Web PKI
    profile's own rules (a critical extension that should not be, ...): a warning, since
    the usual server-side clients connect; otherwise a failure under the closest code.
    """
    evidence = {"verifier": message, "openssl": openssl_error,
                "path": [_brief(c, rules.role(c)) for c in rules.path]}
    if openssl_error is None:
        return ChainFinding(
            "tls.chain_invalid",
            "OpenSSL-based clients accept this chain, but a strict verifier refuses it: "
            f"{message}. Clients that follow the Web PKI rules strictly will fail to connect.",
            evidence,
            status="warn",
        )
    text = message.lower()
    if "no matching" in text:
        code = "tls.hostname_mismatch"
    elif "not valid at validation time" in text or "expired" in text:
        code = "tls.expired"
    elif "signature algorithm" in text:
        code = "tls.weak_signature"
    elif "public key" in text or "key size" in text:
        code = "tls.weak_key"
    else:
        code = "tls.chain_invalid"
    detail = f"Certificate verifiers refuse this chain: {message} (OpenSSL: {openssl_error})."
    return ChainFinding(code, detail, evidence)
