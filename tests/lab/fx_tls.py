"""TLS lab fixtures: one real server on 127.0.0.1 per certificate situation.

Each fixture is named for what is wrong and yields a :class:`TlsLab` with ``.host``,
``.port``, ``.url``, ``.ca_bundle`` (the lab root to trust) and ``.policy()`` (a
NetPolicy that reaches it, AIA server included). Servers are session-scoped: they start
on first use and stop at the end of the run.

    good_server                      leaf + intermediate, trusted
    incomplete_chain_server          leaf only; the leaf's AIA URL serves the intermediate (DER)
    incomplete_chain_no_aia_server   leaf only, no AIA URL
    incomplete_chain_bad_aia_server  leaf only; the AIA URL answers 404
    chain_order_server               leaf, upper intermediate, lower intermediate (wrong order)
    self_signed_server               a leaf that signs itself
    untrusted_root_server            full chain up to a campus root that is not trusted
    expired_leaf_server / expired_intermediate_server / not_yet_valid_server
    expiring_soon_server             leaf expires in 10 days
    hostname_mismatch_server         certificate for other.lab.test
    sha1_server                      leaf signed with sha1WithRSAEncryption
    weak_key_server                  RSA-1024 leaf key
    old_protocol_server              TLS 1.0/1.1 only
    plain_http_server / garbage_server / reset_server / silent_server / refused_port
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

import pytest

from diagnostics.net import NetPolicy

from .pki import CA, LeafCert, now_utc, pem, self_signed_cert
from .servers import LabHandler, serve_http

HOST = "canvas.lab.test"
AIA_HOST = "aia.lab.test"


@dataclass
class TlsLab:
    """A lab server for one situation and how to reach it.

    Attributes:
        host, port: what the check connects to (SNI and certificate checks use host).
        ca_bundle: PEM file with the lab root: pass as --ca-bundle / NetPolicy.ca_bundle.
        resolve: curl-style overrides for every name the check needs (the AIA host too).
        sent_pems: the certificates the server sends, in order (empty for fault servers).
        root_pem: the lab root's PEM.
        aia_url: the URL in the leaf's AIA extension, when there is one.
    """

    host: str
    port: int
    ca_bundle: str
    resolve: dict[tuple[str, int], tuple[str, ...]]
    root_pem: str
    sent_pems: tuple[str, ...] = ()
    aia_url: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def policy(self, deadline: float = 10.0, **kw) -> NetPolicy:
        values = dict(allow_private=True, resolve=dict(self.resolve), ca_bundle=self.ca_bundle, ports=None,
                      deadline=deadline)
        values.update(kw)
        return NetPolicy(**values)

    def cli_args(self) -> list[str]:
        args = ["--ca-bundle", self.ca_bundle, "--allow-private"]
        for (host, port), addresses in self.resolve.items():
            args += ["--resolve", f"{host}:{port}:{','.join(addresses)}"]
        return args

    def env(self) -> dict[str, str]:
        return {**os.environ, "CONNECT_CHECK_PORTS": "any"}


# ----------------------------------------------------------------------------- servers


class _Hello(LabHandler):
    def do_GET(self):  # noqa: N802 - stdlib naming
        self.answer(200, "lab TLS server\n", {"Content-Type": "text/plain"})


class _AiaHandler(LabHandler):
    """Serves ``server.files[path] = (content_type, body)``; 404 for anything else."""

    files: dict[str, tuple[str, bytes]] = {}

    def do_GET(self):  # noqa: N802
        self.record()
        found = self.files.get(self.path)
        if found is None:
            self.answer(404, "not found\n")
        else:
            self.answer(200, found[1], {"Content-Type": found[0]})


@contextlib.contextmanager
def serve_raw(behaviour: Callable[[socket.socket, list[socket.socket]], None]) -> Iterator[int]:
    """Accept on 127.0.0.1 and hand each connection to ``behaviour(conn, held)``;
    connections put in ``held`` stay open until the server stops. Yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve_one(conn: socket.socket) -> None:
        try:
            behaviour(conn, held)
        except OSError:
            pass
        finally:
            if conn not in held:
                conn.close()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
        for conn in held:
            conn.close()


def _read_hello(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    return conn.recv(4096)


def _plain_http(conn: socket.socket, held) -> None:
    _read_hello(conn)
    body = b"<html><body><h1>400 Bad Request</h1>The plain HTTP request was sent to HTTPS port</body></html>"
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))


def _garbage(conn: socket.socket, held) -> None:
    _read_hello(conn)
    conn.sendall(b"\x00\x00\x00\x07\xde\xad\xbe\xef this is not TLS \xff\xfe\r\n")


def _reset(conn: socket.socket, held) -> None:
    _read_hello(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close -> RST


def _silent(conn: socket.socket, held) -> None:
    held.append(conn)  # accept, read nothing, answer nothing


# ----------------------------------------------------------------------------- the PKI


@dataclass
class LabPki:
    root: CA
    issuing: CA
    bundle: str
    stack: contextlib.ExitStack

    def lab(self, port: int, sent: list[str] | tuple[str, ...] = (), **kw) -> TlsLab:
        resolve = {(HOST, port): ("127.0.0.1",), **kw.pop("resolve", {})}
        return TlsLab(HOST, port, self.bundle, resolve, self.root.cert_pem, tuple(sent), **kw)

    def serve(self, leaf: LeafCert, send=None, max_version: ssl.TLSVersion | None = None, **kw) -> TlsLab:
        """Start a TLS server for ``leaf`` sending ``send`` (default: the correct chain)."""
        send = list(send) if send is not None else leaf.chain()
        ctx = leaf.server_context(send, max_version=max_version)
        running = self.stack.enter_context(serve_http(_Hello, host=HOST, ssl_context=ctx))
        return self.lab(running.port, [pem(c) for c in send], **kw)

    def serve_aia(self, files: dict[str, tuple[str, bytes]]) -> int:
        handler = type("AiaFiles", (_AiaHandler,), {"files": files})
        return self.stack.enter_context(serve_http(handler, host=AIA_HOST)).port


@pytest.fixture(scope="session")
def lab_pki(tmp_path_factory) -> Iterator[LabPki]:
    """The lab's trusted root, its issuing CA and the bundle that trusts the root."""
    root = CA("Connect Check Lab Root CA")
    issuing = root.create_child_ca("Connect Check Lab Issuing CA")
    bundle = root.write_bundle(tmp_path_factory.mktemp("tls-lab") / "lab-root.pem")
    with contextlib.ExitStack() as stack:
        yield LabPki(root, issuing, bundle, stack)


def _days(n: float) -> dt.datetime:
    return now_utc() + dt.timedelta(days=n)


@pytest.fixture(scope="session")
def good_server(lab_pki) -> TlsLab:
    return lab_pki.serve(lab_pki.issuing.issue_cert(HOST))


def _incomplete(lab_pki: LabPki, serve_file: bool) -> TlsLab:
    issuing = lab_pki.root.create_child_ca("Connect Check Lab AIA Issuing CA")
    files: dict[str, tuple[str, bytes]] = {}
    aia_port = lab_pki.serve_aia(files)
    url = f"http://{AIA_HOST}:{aia_port}/issuing.der"
    if serve_file:
        files["/issuing.der"] = ("application/pkix-cert", issuing.cert_der)
    leaf = issuing.issue_cert(HOST, aia_url=url)
    return lab_pki.serve(leaf, [leaf.cert], resolve={(AIA_HOST, aia_port): ("127.0.0.1",)}, aia_url=url,
                         extra={"missing_pem": issuing.cert_pem, "aia_files": files})


@pytest.fixture(scope="session")
def incomplete_chain_server(lab_pki) -> TlsLab:
    return _incomplete(lab_pki, serve_file=True)


@pytest.fixture(scope="session")
def incomplete_chain_bad_aia_server(lab_pki) -> TlsLab:
    return _incomplete(lab_pki, serve_file=False)


@pytest.fixture(scope="session")
def incomplete_chain_no_aia_server(lab_pki) -> TlsLab:
    leaf = lab_pki.issuing.issue_cert(HOST)
    return lab_pki.serve(leaf, [leaf.cert])


@pytest.fixture(scope="session")
def chain_order_server(lab_pki) -> TlsLab:
    lower = lab_pki.issuing.create_child_ca("Connect Check Lab Lower CA")
    leaf = lower.issue_cert(HOST)
    return lab_pki.serve(leaf, [leaf.cert, lab_pki.issuing.cert, lower.cert])


@pytest.fixture(scope="session")
def self_signed_server(lab_pki) -> TlsLab:
    return lab_pki.serve(self_signed_cert(HOST))


@pytest.fixture(scope="session")
def untrusted_root_server(lab_pki) -> TlsLab:
    campus = CA("Campus Internal Root CA")
    leaf = campus.create_child_ca("Campus Issuing CA").issue_cert(HOST)
    return lab_pki.serve(leaf, [*leaf.chain(), campus.cert])


@pytest.fixture(scope="session")
def expired_leaf_server(lab_pki) -> TlsLab:
    return lab_pki.serve(lab_pki.issuing.issue_cert(HOST, not_before=_days(-100), not_after=_days(-10)))


@pytest.fixture(scope="session")
def expired_intermediate_server(lab_pki) -> TlsLab:
    old = lab_pki.root.create_child_ca("Connect Check Lab Old CA", not_before=_days(-400), not_after=_days(-5))
    return lab_pki.serve(old.issue_cert(HOST))


@pytest.fixture(scope="session")
def not_yet_valid_server(lab_pki) -> TlsLab:
    return lab_pki.serve(lab_pki.issuing.issue_cert(HOST, not_before=_days(3), not_after=_days(90)))


@pytest.fixture(scope="session")
def expiring_soon_server(lab_pki) -> TlsLab:
    return lab_pki.serve(lab_pki.issuing.issue_cert(HOST, not_before=_days(-80), not_after=_days(10)))


@pytest.fixture(scope="session")
def hostname_mismatch_server(lab_pki) -> TlsLab:
    return lab_pki.serve(lab_pki.issuing.issue_cert("other.lab.test", "*.other.lab.test"))


@pytest.fixture(scope="session")
def sha1_server(lab_pki) -> TlsLab:
    rsa_issuing = lab_pki.root.create_child_ca("Connect Check Lab RSA CA", key_kind="rsa2048")
    return lab_pki.serve(rsa_issuing.issue_cert(HOST, digest="sha1"))


@pytest.fixture(scope="session")
def weak_key_server(lab_pki) -> TlsLab:
    return lab_pki.serve(lab_pki.issuing.issue_cert(HOST, key="rsa1024"))


@pytest.fixture(scope="session")
def old_protocol_server(lab_pki) -> TlsLab:
    return lab_pki.serve(lab_pki.issuing.issue_cert(HOST), max_version=ssl.TLSVersion.TLSv1_1)


def _raw(lab_pki: LabPki, behaviour) -> TlsLab:
    port = lab_pki.stack.enter_context(serve_raw(behaviour))
    return lab_pki.lab(port)


@pytest.fixture(scope="session")
def plain_http_server(lab_pki) -> TlsLab:
    return _raw(lab_pki, _plain_http)


@pytest.fixture(scope="session")
def garbage_server(lab_pki) -> TlsLab:
    return _raw(lab_pki, _garbage)


@pytest.fixture(scope="session")
def reset_server(lab_pki) -> TlsLab:
    return _raw(lab_pki, _reset)


@pytest.fixture(scope="session")
def silent_server(lab_pki) -> TlsLab:
    return _raw(lab_pki, _silent)


@pytest.fixture(scope="session")
def refused_port(lab_pki) -> TlsLab:
    """A port with nothing listening: bound once to pick it, then closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return lab_pki.lab(port)
