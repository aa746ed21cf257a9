"""Certificate step: fetch the chain exactly as the server sends it, then diagnose it.

The network part is small and lives here (sslyze's ``_get_cert_chain`` shape): connect to
a vetted address, run a TLS handshake with SNI and no verification, keep the certificates
as sent, the protocol and the cipher, close. The diagnosis is
:func:`tls_analysis.analyze_chain`, pure and tested without a network.

    connect (net.connect_tcp)        -> net.reachable | net.connect_failed | net.timeout
    handshake, modern (TLS 1.2+)     -> tls.protocol
      failed? retry allowing TLS 1.0/1.1
        ok with TLS 1.0/1.1          -> tls.old_protocol (and the chain is still analysed)
        failed                       -> tls.handshake_failed (plain HTTP, alert, reset, ...)
    analyse the chain as sent        -> tls.trusted | tls.* failures and warnings
      issuer missing and the certificate names an AIA "CA Issuers" URL?
        download it (vetted, capped), analyse again -> corrected chain in
        ``extras["fixed_chain_pem"]`` and in the tls.incomplete_chain evidence

The client accepts what modern clients refuse (security level 0, no verification): we
must *see* weak keys, SHA-1 and broken chains to report them. Nothing sent over this
connection matters; it is closed right after the handshake.

Publishes ``"tls"``: a :class:`TlsOutcome` (None when the address step failed).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import functools
import os
import select
import socket
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from OpenSSL import SSL, crypto

from ..model import Status
from ..net import CONNECT_TIMEOUT, ConnectFailed, Deadline, NetError, NetTimeout, Network
from ..runner import RunContext
from . import tls_analysis

HANDSHAKE_TIMEOUT = 8.0
#: Stop a stalled handshake this long before the run's deadline, so that this step
#: reports the stall itself (with what it knows) instead of being cancelled silently.
DEADLINE_RESERVE = 0.25
AIA_TIMEOUT = 5.0
AIA_MAX_BODY = 64 * 1024
MAX_AIA_FETCHES = 3
OLD_PROTOCOLS = frozenset({"SSLv3", "TLSv1", "TLSv1.1"})
#: Failures a server that only speaks TLS 1.0/1.1 produces for a modern hello.
RETRY_KINDS = frozenset({"alert", "tls_error", "closed", "reset"})
_RECEIVED_KEPT = 4096

_ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
    40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
    46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca", 50: "decode_error",
    51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
    86: "inappropriate_fallback", 90: "user_canceled", 109: "missing_extension",
    110: "unsupported_extension", 112: "unrecognized_name", 116: "certificate_required",
    120: "no_application_protocol",
}


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class TlsOutcome:
    """What the certificate step learned. Plain data only (it is pickled).

    Attributes:
        reachable: a TCP connection to the port was opened.
        trusted: the handshake worked with TLS 1.2+ and the chain as sent is trusted
            for the host name now (what Badgr's servers need).
        protocol: negotiated protocol ("TLSv1.3", ...), None when no handshake completed.
        cipher: negotiated cipher suite name, None when no handshake completed.
        chain: one dict per certificate as sent, in the order sent (subject, issuer,
            sans, not_before/not_after ISO, key_type/key_size, signature_algorithm,
            position, sha256, pem, ...; see ``tls_analysis.describe``).
        address: the address connected to, None when no connection was made.
        codes: the codes this step emitted, in order.
        fixed_chain_pem: the corrected chain to install (leaf first), when one was built.
        error: why the handshake failed, in words, or None.
    """

    reachable: bool
    trusted: bool
    protocol: str | None = None
    cipher: str | None = None
    chain: tuple[Mapping[str, Any], ...] = ()
    address: str | None = None
    codes: tuple[str, ...] = ()
    fixed_chain_pem: str | None = None
    error: str | None = None


@dataclass
class HandshakeFailed(NetError):
    """The server accepted TCP but did not complete a TLS handshake.

    ``kind``: plain_http, alert, reset, closed, garbage or tls_error; ``received``: a
    printable preview of what the server sent instead.
    """

    kind: str = "tls_error"
    reason: str = ""
    received: str = ""
    received_hex: str = ""

    def __str__(self) -> str:
        return f"{self.host}: TLS handshake failed ({self.reason})"

    def evidence(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "received": self.received, "received_hex": self.received_hex}


@dataclass(frozen=True)
class Handshake:
    """A completed handshake: the chain as sent (PEM), protocol, cipher, address."""

    chain_pems: tuple[str, ...]
    protocol: str
    cipher: str | None
    address: str
    legacy: bool


# ----------------------------------------------------------------------------- the check


async def check(ctx: RunContext) -> None:
    if await ctx.need("dns") is None:
        return  # the address step said why
    host, port = ctx.target.host, ctx.target.port
    try:
        addresses = await ctx.net.addresses(host, port)
    except NetError:
        return  # private address, port or name: reported by the address step
    # The trust store is parsed once per process (certifi's: about 15 ms of CPU). Start it
    # now in a worker thread, while the handshake waits on the network, so the first run
    # (every run, for the CLI) does not do it on the event loop.
    warm = asyncio.ensure_future(asyncio.to_thread(_warm_trust_store, ctx.net.policy.trust_store))
    warm.add_done_callback(lambda f: f.cancelled() or f.exception())  # a missing file is reported later
    emitted: list[str] = []

    def emit(code: str, **kw: Any) -> None:
        ctx.emit(code, **kw)
        emitted.append(code)

    loop = asyncio.get_running_loop()
    reached: list[str] = []

    def connected(address: str) -> None:  # called from the worker thread
        reached.append(address)
        loop.call_soon_threadsafe(functools.partial(
            emit, "net.reachable",
            detail=f"{host} port {port} ({address}) accepts connections.",
            evidence={"host": host, "port": port, "address": address},
        ))

    attempts: list[dict[str, Any]] = []
    try:
        shake = await _handshake_with_retry(ctx.net, host, addresses, port, connected, attempts)
    except NetTimeout as exc:
        await asyncio.sleep(0)  # let a pending net.reachable from the worker land first
        emit("net.timeout", detail=f"{host} port {port} accepted the connection but did not answer the TLS handshake in time."
             if reached else f"No connection to {host} port {port} could be opened in time.",
             evidence={"host": host, "port": port, "step": "tls_handshake" if reached else "connect",
                       "what": exc.what, "attempts": attempts})
        ctx.publish("tls", TlsOutcome(reachable=bool(reached), trusted=False, address=reached[0] if reached else None,
                                      codes=tuple(emitted), error=str(exc)))
        return
    except ConnectFailed as exc:
        emit("net.connect_failed", detail=f"{host} port {port}: {exc.reason}.",
             evidence={"host": host, "port": port, "address": exc.address, "reason": exc.reason})
        ctx.publish("tls", TlsOutcome(reachable=False, trusted=False, codes=tuple(emitted), error=str(exc)))
        return
    except HandshakeFailed as exc:
        emit("tls.handshake_failed", detail=_handshake_detail(exc, attempts),
             evidence={"host": host, "port": port, **exc.evidence(), "attempts": attempts})
        ctx.extras["tls"] = {"host": host, "port": port, "attempts": attempts, "chain": []}
        ctx.publish("tls", TlsOutcome(reachable=True, trusted=False, codes=tuple(emitted), error=exc.reason))
        return

    emit("tls.protocol", detail=f"{shake.protocol} with {shake.cipher}.",
         evidence={"protocol": shake.protocol, "cipher": shake.cipher, "address": shake.address})
    protocol_ok = True
    if shake.legacy:
        protocol_ok = False
        first = attempts[0] if attempts else {}
        if shake.protocol in OLD_PROTOCOLS:
            emit("tls.old_protocol",
                 detail=f"The server only completes a handshake with {shake.protocol}; "
                        f"a modern client offering TLS 1.2 and 1.3 was refused ({first.get('reason', 'no reason given')}).",
                 evidence={"protocol": shake.protocol, "cipher": shake.cipher, "attempts": attempts})
        else:
            emit("tls.handshake_failed",
                 detail=f"The server refused a modern client ({first.get('reason', 'no reason given')}) and only "
                        f"completed a handshake with outdated cipher suites ({shake.cipher}).",
                 evidence={"protocol": shake.protocol, "cipher": shake.cipher, "attempts": attempts})

    analysis, aia_log = await _analyse(ctx, host, list(shake.chain_pems))
    for f in analysis.findings:
        if f.code == "tls.trusted" and not protocol_ok:
            continue  # the certificate is fine, the connection is not: no "trusted" pass
        evidence = dict(f.evidence)
        detail = f.detail
        if f.code == "tls.incomplete_chain" and aia_log:
            evidence["aia_fetch"] = aia_log
            detail += " " + _aia_sentence(aia_log, bool(analysis.fixed_chain_pems))
        emit(f.code, detail=detail, evidence=evidence, status=Status(f.status) if f.status else None)

    fixed = analysis.fixed_chain_pem
    if fixed:
        ctx.extras["fixed_chain_pem"] = fixed
    ctx.extras["tls"] = {
        "host": host,
        "port": port,
        "address": shake.address,
        "protocol": shake.protocol,
        "cipher": shake.cipher,
        "chain": [dict(c) for c in analysis.sent],
        "path": [dict(c) for c in analysis.path],
        "path_end": analysis.path_end,
        "trusted": analysis.trusted and protocol_ok,
        "verifier_error": analysis.verifier_error,
        "aia_fetch": aia_log,
        "attempts": attempts,
        "checked_at": analysis.checked_at,
    }
    ctx.publish("tls", TlsOutcome(
        reachable=True,
        trusted=analysis.trusted and protocol_ok,
        protocol=shake.protocol,
        cipher=shake.cipher,
        chain=tuple(dict(c) for c in analysis.sent),
        address=shake.address,
        codes=tuple(emitted),
        fixed_chain_pem=fixed,
    ))


async def _handshake_with_retry(net: Network, host: str, addresses, port: int,
                                connected: Callable[[str], None], attempts: list[dict[str, Any]]) -> Handshake:
    """Modern handshake; if the server refuses it, once more allowing TLS 1.0/1.1."""
    try:
        return await asyncio.to_thread(fetch_chain, net, host, addresses, port, False, connected)
    except HandshakeFailed as first:
        attempts.append({"settings": "TLS 1.2+", **first.evidence()})
        if first.kind not in RETRY_KINDS or net.deadline.expired:
            raise
        try:
            shake = await asyncio.to_thread(fetch_chain, net, host, addresses, port, True, None)
        except HandshakeFailed as second:
            attempts.append({"settings": "TLS 1.0+ (legacy)", **second.evidence()})
            raise first from None
        except NetError as second:
            attempts.append({"settings": "TLS 1.0+ (legacy)", "kind": type(second).__name__, "reason": str(second)})
            raise first from None
        attempts.append({"settings": "TLS 1.0+ (legacy)", "kind": "ok", "protocol": shake.protocol, "cipher": shake.cipher})
        return shake


async def _analyse(ctx: RunContext, host: str, pems: list[str]) -> tuple[tls_analysis.ChainAnalysis, list[dict[str, Any]]]:
    """Analyse; while the issuer is missing and named by an AIA URL, download and retry."""
    roots = trust_store_pem(ctx.net.policy.trust_store)
    extras: list[str] = []
    aia_log: list[dict[str, Any]] = []
    tried: set[str] = set()
    # Off the event loop (about 1.5 ms of CPU per chain, more with AIA): the HTTP probes
    # running beside this step keep being served.
    analysis = await asyncio.to_thread(tls_analysis.analyze_chain, pems, host, _now(), roots, extras)
    while analysis.path_end == "missing_issuer" and len(tried) < MAX_AIA_FETCHES:
        url = next((u for u in analysis.missing_issuer_aia_urls if u not in tried), None)
        if url is None:
            break
        tried.add(url)
        got, note = await _fetch_issuer(ctx, url)
        aia_log.append({"url": url, "for": analysis.missing_issuer, **note})
        if not got:
            continue
        extras.extend(got)
        analysis = await asyncio.to_thread(tls_analysis.analyze_chain, pems, host, _now(), roots, list(extras))
    return analysis, aia_log


async def _fetch_issuer(ctx: RunContext, url: str) -> tuple[list[str], dict[str, Any]]:
    """Certificates at an AIA "CA Issuers" URL (through the vetted network), with a note."""
    if urlsplit(url).scheme not in ("http", "https"):
        return [], {"result": "not fetched", "reason": "not a web address"}
    try:
        answer = await ctx.net.fetch(url, follow_redirects=2, max_body=AIA_MAX_BODY,
                                     timeout=ctx.deadline.timeout(AIA_TIMEOUT))
    except NetError as exc:
        return [], {"result": "failed", "reason": str(exc)}
    if answer.status != 200:
        return [], {"result": "failed", "reason": f"the server answered HTTP {answer.status}"}
    if answer.truncated:
        return [], {"result": "failed", "reason": f"the answer is larger than {AIA_MAX_BODY // 1024} KiB"}
    certs = tls_analysis.certificates_from_bytes(answer.body)
    if not certs:
        kind = answer.header("content-type") or "no content type"
        return [], {"result": "failed", "reason": f"the answer is not a certificate ({kind}, {len(answer.body)} bytes)"}
    return certs, {"result": "ok", "certificates": len(certs)}


def _aia_sentence(aia_log: list[dict[str, Any]], completed: bool) -> str:
    ok = [e["url"] for e in aia_log if e.get("result") == "ok"]
    if completed and ok:
        return f"Connect Check downloaded the missing certificate from {', '.join(ok)} and built the corrected chain below."
    failed = [f"{e['url']}: {e.get('reason')}" for e in aia_log if e.get("result") != "ok"]
    if failed:
        return "Downloading the missing certificate failed (" + "; ".join(failed) + ")."
    return ""


def _handshake_detail(exc: HandshakeFailed, attempts: list[dict[str, Any]]) -> str:
    retried = " A retry allowing TLS 1.0 and 1.1 failed too." if len(attempts) > 1 else ""
    lead = {
        "plain_http": "The server answers plain HTTP on this port, not HTTPS",
        "alert": "The server refused the handshake with a TLS alert",
        "reset": "The server reset the connection during the handshake",
        "closed": "The server closed the connection without completing the handshake",
        "garbage": "The server answered with something that is not TLS",
    }.get(exc.kind, "The TLS handshake failed")
    return f"{lead} ({exc.reason}).{retried}"


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@lru_cache(maxsize=4)
def _read_store(path: str, mtime_ns: int, size: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _warm_trust_store(path: str) -> None:
    """Fill the caches :func:`tls_analysis.analyze_chain` reads the trust store from."""
    tls_analysis._load_store(trust_store_pem(path))  # noqa: SLF001 - same package: a cache warm-up


def trust_store_pem(path: str) -> bytes:
    """The trust store's PEM bytes, read once per file version (path, mtime, size)."""
    st = os.stat(path)
    return _read_store(path, st.st_mtime_ns, st.st_size)


# ----------------------------------------------------------------------------- the fetch


def fetch_chain(net: Network, host: str, addresses, port: int, legacy: bool = False,
                connected: Callable[[str], None] | None = None) -> Handshake:
    """Blocking: connect to a vetted address, handshake, return the chain as sent.

    Raises ConnectFailed or NetTimeout (TCP, or no answer before the step/run deadline)
    and HandshakeFailed. The socket is always closed.
    """
    sock, address = net.connect_tcp(host, addresses, port, net.deadline.timeout(CONNECT_TIMEOUT))
    try:
        if connected is not None:
            connected(address)
        return _handshake(sock, host, address, legacy, net.deadline)
    finally:
        sock.close()


def _client_context(legacy: bool) -> SSL.Context:
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE)  # we analyse the chain ourselves
    if legacy:
        ctx.set_min_proto_version(SSL.TLS1_VERSION)
        ctx.set_cipher_list(b"ALL:@SECLEVEL=0")
    else:
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")  # see weak keys instead of refusing them
    return ctx


def _handshake(sock: socket.socket, host: str, address: str, legacy: bool, deadline: Deadline) -> Handshake:
    """Handshake over a memory BIO: every byte goes through our own socket calls, so the
    step deadline holds and what a non-TLS server sent can be shown."""
    conn = SSL.Connection(_client_context(legacy), None)
    conn.set_tlsext_host_name(host.encode("ascii"))
    conn.set_connect_state()
    ends_at = time.monotonic() + max(0.001, min(HANDSHAKE_TIMEOUT, deadline.remaining() - DEADLINE_RESERVE))
    received = bytearray()
    while True:
        try:
            conn.do_handshake()
            _flush(conn, sock, host, ends_at, received)
            break
        except SSL.WantReadError:
            _flush(conn, sock, host, ends_at, received)
            data = _recv(sock, host, ends_at, received)
            if not data:
                raise _failure(host, received, "closed", None)
            if len(received) < _RECEIVED_KEPT:
                received += data[: _RECEIVED_KEPT - len(received)]
            conn.bio_write(data)
        except SSL.Error as exc:
            raise _failure(host, received, None, exc) from None
    # OpenSSL's own encoder, not cryptography's objects: a certificate cryptography refuses
    # to parse (non-DER encodings, broken extensions) is the server's fault and must reach
    # the analysis as text (-> tls.chain_invalid), not crash this step.
    chain = conn.get_peer_cert_chain() or []
    pems = tuple(crypto.dump_certificate(crypto.FILETYPE_PEM, c).decode("ascii") for c in chain)
    shake = Handshake(pems, conn.get_protocol_version_name(), conn.get_cipher_name(), address, legacy)
    try:  # polite close; the server's opinion of it does not matter
        conn.shutdown()
        _flush(conn, sock, host, min(ends_at, time.monotonic() + 0.2), received)
    except (SSL.Error, NetError, OSError):
        pass
    return shake


def _flush(conn: SSL.Connection, sock: socket.socket, host: str, ends_at: float, received: bytearray) -> None:
    while True:
        try:
            data = conn.bio_read(65536)
        except SSL.WantReadError:
            return
        remaining = ends_at - time.monotonic()
        if remaining <= 0:
            raise NetTimeout(host, "TLS handshake answer")
        sock.settimeout(remaining)
        try:
            sock.sendall(data)
        except socket.timeout:
            raise NetTimeout(host, "TLS handshake answer") from None
        except OSError as exc:
            raise _failure(host, received, "reset", exc) from None


def _recv(sock: socket.socket, host: str, ends_at: float, received: bytearray) -> bytes:
    remaining = ends_at - time.monotonic()
    if remaining <= 0:
        raise NetTimeout(host, "TLS handshake answer")
    readable, _, _ = select.select([sock], [], [], remaining)
    if not readable:
        raise NetTimeout(host, "TLS handshake answer")
    sock.settimeout(max(0.001, ends_at - time.monotonic()))
    try:
        return sock.recv(65536)
    except socket.timeout:
        raise NetTimeout(host, "TLS handshake answer") from None
    except OSError as exc:
        raise _failure(host, received, "reset", exc) from None


def _failure(host: str, received: bytes, hint: str | None, exc: BaseException | None) -> HandshakeFailed:
    """Name what went wrong from what the server sent (the bytes beat OpenSSL's words)."""
    data = bytes(received)
    preview = "".join(chr(b) if 32 <= b < 127 else "." for b in data[:120])
    hexed = data[:32].hex(" ")
    ssl_text = _ssl_text(exc) if isinstance(exc, SSL.Error) else ""
    if data.startswith(b"HTTP/") or data[:16].upper().startswith((b"<HTML", b"<!DOCTYPE")):
        first_line = data.split(b"\r\n", 1)[0].split(b"\n", 1)[0].decode("latin-1")[:120]
        kind, reason = "plain_http", f"it answered {first_line!r}"
    elif data[:1] == b"\x15" and len(data) >= 7:
        name = _ALERTS.get(data[6], f"alert {data[6]}")
        kind, reason = "alert", f"alert {name}" + (f"; {ssl_text}" if ssl_text else "")
    elif data and data[:1] not in (b"\x14", b"\x15", b"\x16", b"\x17"):
        kind, reason = "garbage", f"the first bytes are not a TLS record: {hexed}"
    elif hint == "reset" or isinstance(exc, OSError) or (isinstance(exc, SSL.SysCallError) and _is_reset(exc)):
        kind, reason = "reset", "the connection was reset" + (f" ({exc})" if isinstance(exc, OSError) and str(exc) else "")
    elif hint == "closed" or isinstance(exc, (SSL.ZeroReturnError, SSL.SysCallError)):
        kind = "closed"
        reason = "the server closed the connection without answering" if not data else "the server closed the connection mid-handshake"
    elif "alert" in ssl_text:
        kind, reason = "alert", ssl_text
    else:
        kind, reason = "tls_error", ssl_text or (type(exc).__name__ if exc else "unknown error")
    return HandshakeFailed(host, kind=kind, reason=reason, received=preview, received_hex=hexed)


def _is_reset(exc: SSL.SysCallError) -> bool:
    return bool(exc.args) and exc.args[0] in (104, 54, 10054)  # ECONNRESET on Linux, BSD, Windows


def _ssl_text(exc: SSL.Error) -> str:
    """OpenSSL's error queue as words: 'tlsv1 alert protocol version', ..."""
    parts = []
    for item in exc.args[0] if exc.args and isinstance(exc.args[0], list) else ():
        if isinstance(item, tuple) and item:
            parts.append(str(item[-1]))
    return "; ".join(p for p in parts if p) or (str(exc) if str(exc) else "")
