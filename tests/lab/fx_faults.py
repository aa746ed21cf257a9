"""Hostile servers: every way a server can be broken or malicious, on 127.0.0.1 only.

Each fixture is named for what the server does and yields a ``TlsLab`` (tests/lab/fx_tls.py)
whose ``extra["stats"]`` is a :class:`FaultStats` (requests seen, bytes sent). TLS-level
faults speak raw bytes on a socket (``serve_raw``); HTTP-level faults complete a real TLS
handshake with a lab certificate and then misbehave in HTTP.

    TLS level
      stall_after_hello_server      reads the ClientHello, starts a ServerHello, stalls
      reset_mid_handshake_server    starts a ServerHello, then resets the connection
      ssh_banner_server             an SSH daemon on the HTTPS port
      trickle_tls_server            answers the ClientHello one byte a second
      malformed_cert_server         ServerHello + a Certificate message of garbage DER
      non_der_cert_server           a certificate OpenSSL loads but strict DER refuses
      many_sans_server              a valid certificate with 10,000 SANs (~90 KB)
      oversized_cert_server         10,000 long SANs: more than a TLS client accepts
    HTTP level (valid TLS first)
      trickle_http_server           the HTTP answer one byte a second
      endless_redirect_server       every answer redirects to a new address
      cyclic_redirect_server        /a -> /b -> /a ...
      huge_headers_server           1 MiB of response headers
      huge_body_server              a 100 MiB body, generated lazily as it is sent
      gzip_bomb_server              Content-Encoding: gzip, 1 MiB that inflates to 1 GiB
      invalid_utf8_server           invalid UTF-8 in headers and the error body
      deep_json_server              an error body of JSON nested 200,000 levels deep
      huge_json_server              a 5 MiB JSON error body

The existing fault servers of tests/lab/fx_tls.py (plain_http, garbage, reset, silent)
complete the set. ``fx_tls`` is imported lazily (inside functions): it is a plugin of its
own, and importing it while this module loads would make pytest load it twice.
"""

from __future__ import annotations

import gzip
import os
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import pytest

from .servers import LabHandler, serve_http

if TYPE_CHECKING:  # fx_tls is a sibling plugin: importing it here would load it before pytest does
    from .fx_tls import LabPki, TlsLab

HOST = "canvas.lab.test"  # the TLS lab's host name (fx_tls.HOST)

SSH_BANNER = b"SSH-2.0-OpenSSH_9.6p1 Debian-3\r\n"
BODY_100_MIB = 100 * 1024 * 1024
BOMB_INFLATED = 1024 * 1024 * 1024
HEADER_BYTES = 1024 * 1024
#: A TLS 1.2 handshake record header promising a 4000-byte record, and the first bytes of
#: a ServerHello: a client that got this far waits for the rest.
PARTIAL_SERVER_HELLO = b"\x16\x03\x03\x0f\xa0" + b"\x02\x00\x00\x46\x03\x03" + b"\x5a" * 10


@dataclass
class FaultStats:
    """What a fault server saw and did (shared with its handler threads)."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    bytes_sent: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sent(self, n: int) -> None:
        with self.lock:
            self.bytes_sent += n


# ----------------------------------------------------------------------------- TLS-level faults


def _read_hello(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    return conn.recv(4096)


def _stall_after_hello(conn: socket.socket, held: list) -> None:
    _read_hello(conn)
    conn.sendall(PARTIAL_SERVER_HELLO)
    held.append(conn)  # and never another byte


def _reset_mid_handshake(conn: socket.socket, held: list) -> None:
    _read_hello(conn)
    conn.sendall(PARTIAL_SERVER_HELLO)
    time.sleep(0.05)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close -> RST


def _ssh_banner(conn: socket.socket, held: list) -> None:
    conn.sendall(SSH_BANNER)  # SSH servers speak first
    _read_hello(conn)
    conn.sendall(b"Invalid SSH identification string.\r\n")


def _trickle_tls(conn: socket.socket, held: list) -> None:
    _read_hello(conn)
    payload = PARTIAL_SERVER_HELLO + b"\x5a" * 200
    for i in range(len(payload)):
        conn.sendall(payload[i:i + 1])
        time.sleep(1.0)


def _client_hello_suites(hello: bytes) -> list[int]:
    """Cipher suites offered in a ClientHello record (empty when it cannot be read)."""
    try:
        sid_len = hello[43]
        at = 44 + sid_len
        n = int.from_bytes(hello[at:at + 2], "big")
        return [int.from_bytes(hello[at + 2 + i:at + 4 + i], "big") for i in range(0, n, 2)]
    except IndexError:
        return []


def _tls12_server_hello(suite: int) -> bytes:
    ext = b"\xff\x01\x00\x01\x00"  # renegotiation_info (RFC 5746), empty: OpenSSL insists on it
    body = b"\x03\x03" + os.urandom(32) + b"\x00" + suite.to_bytes(2, "big") + b"\x00" + len(ext).to_bytes(2, "big") + ext
    return b"\x02" + len(body).to_bytes(3, "big") + body


def _certificate_message(ders: list[bytes]) -> bytes:
    entries = b"".join(len(d).to_bytes(3, "big") + d for d in ders)
    body = len(entries).to_bytes(3, "big") + entries
    return b"\x0b" + len(body).to_bytes(3, "big") + body


GARBAGE_DER = b"\x30\x82\x02\x00" + b"\x02\x01\x05" + b"\xde\xad\xbe\xef" * 64 + b"not a certificate"


def _malformed_cert(conn: socket.socket, held: list) -> None:
    """A TLS 1.2 server whose Certificate message holds bytes that are no certificate."""
    suites = _client_hello_suites(_read_hello(conn))
    suite = next((s for s in (0xC02F, 0xC030, 0xC02B, 0xC02C, 0x009C) if s in suites), 0xC02F)
    messages = _tls12_server_hello(suite) + _certificate_message([GARBAGE_DER])
    conn.sendall(b"\x16\x03\x03" + len(messages).to_bytes(2, "big") + messages)
    conn.settimeout(3)
    try:
        conn.recv(4096)  # the client's alert
    except OSError:
        pass


# ----------------------------------------------------------------------------- HTTP-level faults


class _FaultHandler(LabHandler):
    """Answers every method and path with ``behave`` (set per fault)."""

    stats: FaultStats
    behave: Callable[["_FaultHandler"], None]

    def _any(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.stats.lock:
            self.stats.requests.append((self.command, self.path, headers))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 65536))
        try:
            type(self).behave(self)
        except OSError:  # the client hung up: that is what a good client does here
            self.close_connection = True

    do_GET = do_POST = do_HEAD = _any

    def raw(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        self.stats.sent(len(data))


def _trickle_http(h: _FaultHandler) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n" + b"<" * 100
    for i in range(len(answer)):
        h.raw(answer[i:i + 1])
        time.sleep(1.0)
    h.close_connection = True


def _endless_redirect(h: _FaultHandler) -> None:
    h.answer(302, "", {"Location": h.path.split("?")[0].rstrip("/") + "/again"})


def _cyclic_redirect(h: _FaultHandler) -> None:
    h.answer(302, "", {"Location": "/b" if h.path.startswith("/a") else "/a"})


def _huge_headers(h: _FaultHandler) -> None:
    head = [b"HTTP/1.1 200 OK\r\n"]
    line = b"X-Filler-%05d: " + b"a" * 48 + b"\r\n"
    for i in range(HEADER_BYTES // 64):
        head.append(line % i)
    head.append(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    h.raw(b"".join(head))
    h.close_connection = True


def _huge_body(h: _FaultHandler) -> None:
    h.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % BODY_100_MIB)
    chunk = b"[" + b"0," * 32767 + b"0"  # 64 KiB, made once, sent 1,600 times (never held whole)
    for _ in range(BODY_100_MIB // len(chunk)):
        h.raw(chunk)
    h.close_connection = True


def gzip_bomb(inflated: int = BOMB_INFLATED, member: int = 16 * 1024 * 1024) -> bytes:
    """Concatenated gzip members of zeros: ~1 KiB on the wire per MiB inflated."""
    one = gzip.compress(bytes(member), compresslevel=9)
    return one * (inflated // member)


def _gzip_bomb_handler(bomb: bytes) -> Callable[[_FaultHandler], None]:
    def behave(h: _FaultHandler) -> None:
        h.raw(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(bomb))
        for i in range(0, len(bomb), 65536):
            h.raw(bomb[i:i + 65536])
        h.close_connection = True
    return behave


INVALID_UTF8_BODY = (b'while(1);{"errors":[{"message":"\xff\xfe\xc3\x28 \xed\xa0\x80 \xf0\x28\x8c\xbc"}],'
                     b'"status":"unauthenticated"}')


def _invalid_utf8(h: _FaultHandler) -> None:
    body = INVALID_UTF8_BODY
    h.raw(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json; charset=utf-8\r\n"
          b"X-Broken: \xff\xfe\xc3\x28\x80\r\nServer: \xe2\x28\xa1\r\n"
          b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    h.close_connection = True


DEEP_JSON = b'while(1);{"errors":' + b"[" * 200_000 + b"]" * 200_000 + b"}"


def _deep_json(h: _FaultHandler) -> None:
    h.raw(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
          b"Connection: close\r\n\r\n" % len(DEEP_JSON))
    h.raw(DEEP_JSON)
    h.close_connection = True


def _huge_json(h: _FaultHandler) -> None:
    item = b'{"message":"' + b"x" * 1000 + b'"},'
    count = 5 * 1024 * 1024 // len(item)
    h.raw(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
          b"Connection: close\r\n\r\n" % (len(b'{"errors":[') + len(item) * count + 2))
    h.raw(b'{"errors":[')
    for _ in range(count):
        h.raw(item)
    h.raw(b"]}")
    h.close_connection = True


# ----------------------------------------------------------------------------- fixtures


def _raw_fault(lab_pki: LabPki, behaviour) -> TlsLab:
    stats = FaultStats()

    def counted(conn, held):
        with stats.lock:
            stats.connections += 1
        behaviour(conn, held)

    from .fx_tls import serve_raw

    port = lab_pki.stack.enter_context(serve_raw(counted))
    return lab_pki.lab(port, extra={"stats": stats})


def _http_fault(lab_pki: LabPki, behave: Callable[[_FaultHandler], None]) -> TlsLab:
    stats = FaultStats()
    handler = type("Fault", (_FaultHandler,), {"stats": stats, "behave": staticmethod(behave)})
    leaf = lab_pki.issuing.issue_cert(HOST)
    running = lab_pki.stack.enter_context(serve_http(handler, host=HOST, ssl_context=leaf.server_context()))
    return lab_pki.lab(running.port, [], extra={"stats": stats})


@pytest.fixture(scope="session")
def stall_after_hello_server(lab_pki) -> TlsLab:
    return _raw_fault(lab_pki, _stall_after_hello)


@pytest.fixture(scope="session")
def reset_mid_handshake_server(lab_pki) -> TlsLab:
    return _raw_fault(lab_pki, _reset_mid_handshake)


@pytest.fixture(scope="session")
def ssh_banner_server(lab_pki) -> TlsLab:
    return _raw_fault(lab_pki, _ssh_banner)


@pytest.fixture(scope="session")
def trickle_tls_server(lab_pki) -> TlsLab:
    return _raw_fault(lab_pki, _trickle_tls)


@pytest.fixture(scope="session")
def malformed_cert_server(lab_pki) -> TlsLab:
    return _raw_fault(lab_pki, _malformed_cert)


def non_der_certificate(leaf_der: bytes) -> bytes:
    """The same certificate with basicConstraints' critical flag encoded as BER TRUE (0x01)
    instead of DER TRUE (0xff): OpenSSL reads it, a strict DER parser must refuse it."""
    marker = bytes.fromhex("0603551d130101ff")  # OID 2.5.29.19, BOOLEAN TRUE
    at = leaf_der.index(marker)
    return leaf_der[:at + 7] + b"\x01" + leaf_der[at + 8:]


@pytest.fixture(scope="session")
def non_der_cert_server(lab_pki, tmp_path_factory) -> TlsLab:
    import ssl

    from cryptography.hazmat.primitives import serialization

    from .pki import pem

    leaf = lab_pki.issuing.issue_cert(HOST)
    bad = non_der_certificate(leaf.cert.public_bytes(serialization.Encoding.DER))
    bad_pem = ssl.DER_cert_to_PEM_cert(bad)
    folder = tmp_path_factory.mktemp("non-der")
    (folder / "chain.pem").write_text(bad_pem + "".join(pem(c) for c in leaf.intermediates))
    (folder / "key.pem").write_text(leaf.key_pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(folder / "chain.pem"), str(folder / "key.pem"))
    from .fx_tls import _Hello

    running = lab_pki.stack.enter_context(serve_http(_Hello, host=HOST, ssl_context=ctx))
    return lab_pki.lab(running.port, [bad_pem], extra={"stats": FaultStats()})


def _many_sans(lab_pki: LabPki, pattern: str) -> TlsLab:
    from .fx_tls import _Hello

    leaf = lab_pki.issuing.issue_cert(HOST, *(pattern.format(i) for i in range(10_000)))
    running = lab_pki.stack.enter_context(serve_http(_Hello, host=HOST, ssl_context=leaf.server_context()))
    return lab_pki.lab(running.port, [], extra={"stats": FaultStats(), "sans": 10_001})


@pytest.fixture(scope="session")
def many_sans_server(lab_pki) -> TlsLab:
    return _many_sans(lab_pki, "n{}.t")


@pytest.fixture(scope="session")
def oversized_cert_server(lab_pki) -> TlsLab:
    return _many_sans(lab_pki, "host-{:05d}.campus.lab.test")


@pytest.fixture(scope="session")
def trickle_http_server(lab_pki) -> TlsLab:
    return _http_fault(lab_pki, _trickle_http)


@pytest.fixture(scope="session")
def endless_redirect_server(lab_pki) -> TlsLab:
    return _http_fault(lab_pki, _endless_redirect)


@pytest.fixture(scope="session")
def cyclic_redirect_server(lab_pki) -> TlsLab:
    return _http_fault(lab_pki, _cyclic_redirect)


@pytest.fixture(scope="session")
def huge_headers_server(lab_pki) -> TlsLab:
    return _http_fault(lab_pki, _huge_headers)


@pytest.fixture(scope="session")
def huge_body_server(lab_pki) -> TlsLab:
    return _http_fault(lab_pki, _huge_body)


@pytest.fixture(scope="session")
def gzip_bomb_server(lab_pki) -> TlsLab:
    bomb = gzip_bomb()
    lab = _http_fault(lab_pki, _gzip_bomb_handler(bomb))
    lab.extra["bomb_bytes"] = len(bomb)
    return lab


@pytest.fixture(scope="session")
def invalid_utf8_server(lab_pki) -> TlsLab:
    return _http_fault(lab_pki, _invalid_utf8)


@pytest.fixture(scope="session")
def deep_json_server(lab_pki) -> TlsLab:
    return _http_fault(lab_pki, _deep_json)


@pytest.fixture(scope="session")
def huge_json_server(lab_pki) -> TlsLab:
    return _http_fault(lab_pki, _huge_json)


def inflated_size(data: bytes, limit: int) -> int:
    """How many bytes ``data`` (concatenated gzip members) inflates to, up to ``limit``,
    counted one MiB at a time: proves the bomb is real without holding it."""
    total = 0
    while data and total < limit:
        d = zlib.decompressobj(31)
        pending = data
        while not d.eof and total < limit:
            out = d.decompress(pending, 1 << 20)
            total += len(out)
            pending = d.unconsumed_tail
            if not out and not pending:
                break
        data = d.unused_data
    return total
