"""Lab fixtures shared by the engine, CLI and portal tests.

- ``lab_ca``: a trustme CA and the PEM bundle path to pass as --ca-bundle.
- ``lab_dns``: a DNS server on 127.0.0.1 with a zone tests can fill; CONNECT_CHECK_DNS
  points at it for the whole session, so no test ever asks the machine's resolver.
- ``canvas_lab``: factory that starts a fake Canvas over HTTPS and returns a ``Lab``
  with its URL and a matching NetPolicy.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Callable, Iterator

import pytest

from diagnostics.net import NetPolicy

from . import pki
from .fake_canvas import FakeCanvas
from .servers import DnsZone, RunningServer, serve_dns, serve_http


@dataclass
class Lab:
    server: RunningServer
    canvas: FakeCanvas | None
    ca_bundle: str
    nameserver: tuple[str, int]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def policy(self, deadline: float = 10.0, **kw) -> NetPolicy:
        values = dict(
            allow_private=True,
            resolve=self.server.resolve,
            ca_bundle=self.ca_bundle,
            ports=None,
            nameservers=(self.nameserver,),
            deadline=deadline,
        )
        values.update(kw)
        return NetPolicy(**values)

    def cli_args(self) -> list[str]:
        return ["--resolve", f"{self.host}:{self.port}:127.0.0.1", "--ca-bundle", self.ca_bundle, "--allow-private"]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONNECT_CHECK_PORTS": "any",
            "CONNECT_CHECK_DNS": f"{self.nameserver[0]}:{self.nameserver[1]}",
        }


@pytest.fixture(scope="session")
def lab_ca(tmp_path_factory) -> pki.CA:
    """The lab's issuing CA (under a lab root) with ``bundle_path`` trusting the root.

    Certificates from it pass the strict verifier (unlike trustme's, whose critical SAN
    cryptography refuses), so lab checks come out clean; it speaks trustme's verbs
    (``issue_cert(host)``, ``leaf.configure_cert(ctx)``).
    """
    root = pki.CA("Connect Check Lab Root CA")
    issuing = root.create_child_ca("Connect Check Lab Issuing CA")
    issuing.bundle_path = root.write_bundle(tmp_path_factory.mktemp("lab-ca") / "ca.pem")  # type: ignore[attr-defined]
    return issuing


@pytest.fixture(scope="session")
def lab_zone() -> DnsZone:
    return DnsZone()


@pytest.fixture(scope="session", autouse=True)
def lab_dns(lab_zone: DnsZone) -> Iterator[tuple[str, int]]:
    with serve_dns(lab_zone) as address:
        previous = os.environ.get("CONNECT_CHECK_DNS")
        os.environ["CONNECT_CHECK_DNS"] = f"{address[0]}:{address[1]}"
        try:
            yield address
        finally:
            if previous is None:
                os.environ.pop("CONNECT_CHECK_DNS", None)
            else:
                os.environ["CONNECT_CHECK_DNS"] = previous


@pytest.fixture
def canvas_lab(lab_ca, lab_dns) -> Iterator[Callable[..., Lab]]:
    """``canvas_lab(FakeCanvas(hosted=True), host="myschool.instructure.com")`` -> Lab."""
    stack = contextlib.ExitStack()

    def start(canvas: FakeCanvas | None = None, host: str = "canvas.lab.test") -> Lab:
        canvas = canvas or FakeCanvas()
        cert = lab_ca.issue_cert(host)
        ctx = cert_context(cert)
        server = stack.enter_context(serve_http(canvas.handler(), host=host, ssl_context=ctx))
        return Lab(server, canvas, lab_ca.bundle_path, lab_dns)

    with stack:
        yield start


def cert_context(cert):
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx
