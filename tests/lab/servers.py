"""Small real servers for the lab: HTTPS/HTTP on 127.0.0.1 in a thread, and a DNS server.

Everything binds to loopback on an ephemeral port and stops when its context ends.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator, Mapping

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, ssl_context: ssl.SSLContext | None):
        super().__init__(addr, handler)
        self.ssl_context = ssl_context

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            sock.settimeout(5)
            try:
                sock = self.ssl_context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                sock.close()
                raise
        return sock, addr

    def handle_error(self, request, client_address):  # quiet: clients hang up on purpose
        pass


@dataclass
class RunningServer:
    host: str
    port: int
    scheme: str = "https"
    requests: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def resolve(self) -> dict[tuple[str, int], tuple[str, ...]]:
        return {(self.host, self.port): ("127.0.0.1",)}


@contextlib.contextmanager
def serve_http(
    handler: type[BaseHTTPRequestHandler],
    *,
    host: str = "canvas.lab.test",
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[RunningServer]:
    """Run ``handler`` on 127.0.0.1 (HTTPS when an SSL context is given)."""
    server = _Server(("127.0.0.1", 0), handler, ssl_context)
    running = RunningServer(host, server.server_address[1], "https" if ssl_context else "http")
    server.running = running  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class LabHandler(BaseHTTPRequestHandler):
    """Base handler: quiet logs, HTTP/1.1, helpers to answer."""

    protocol_version = "HTTP/1.1"
    server_version = "lab"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def answer(self, status: int, body: bytes | str = b"", headers: Mapping[str, str] | None = None) -> None:
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def record(self) -> None:
        self.server.running.requests.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- DNS


@dataclass
class DnsZone:
    """Answers for the lab DNS server: names -> A/AAAA addresses or a CNAME target."""

    a: dict[str, list[str]] = field(default_factory=dict)
    aaaa: dict[str, list[str]] = field(default_factory=dict)
    cname: dict[str, str] = field(default_factory=dict)
    servfail: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)
    queries: list[str] = field(default_factory=list)

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        q = query.question[0]
        name = str(q.name).rstrip(".").lower()
        self.queries.append(f"{name} {dns.rdatatype.to_text(q.rdtype)}")
        if name in self.silent:
            return None
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        current = name
        for _ in range(8):
            target = self.cname.get(current)
            if not target:
                break
            response.answer.append(dns.rrset.from_text(current + ".", 60, "IN", "CNAME", target + "."))
            current = target
        table = self.a if q.rdtype == dns.rdatatype.A else self.aaaa if q.rdtype == dns.rdatatype.AAAA else {}
        kind = "A" if q.rdtype == dns.rdatatype.A else "AAAA"
        if current in table:
            response.answer.append(dns.rrset.from_text(current + ".", 60, "IN", kind, *table[current]))
        elif not response.answer and current not in self.a and current not in self.aaaa:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response


@contextlib.contextmanager
def serve_dns(zone: DnsZone) -> Iterator[tuple[str, int]]:
    """A UDP DNS server on 127.0.0.1 answering from ``zone``; yields (address, port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                response = zone.answer(dns.message.from_wire(data))
            except Exception:  # malformed query: ignore like a real server would
                continue
            if response is not None:
                sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[:2]
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HandlerFactory = Callable[..., type[BaseHTTPRequestHandler]]
