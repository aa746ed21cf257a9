"""Fixtures for the Developer Key, LTI and Badgr steps.

- ``regions_override``: writes an operator regions file and points CONNECT_CHECK_REGIONS
  at it (for this test and for CLI subprocesses through ``.env``).
- ``badgr_api``: a Badgr region whose API host is a local HTTPS server (name in the lab
  DNS zone, certificate from the lab CA or, ``trusted=False``, from a stranger's CA).
- ``sso_host``: Instructure's SSO host for an environment (``sso.canvaslms.com``...)
  served locally on port 443 of a random 127/8 address that the lab zone names, with a
  lab certificate for that name; hosted-Canvas LTI runs fetch their JWKS from it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest
import trustme

from .fake_canvas import FakeCanvas
from .servers import LabHandler, RunningServer, _Server, serve_http

def cert_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx


SSO_HOSTS = {"production": "sso.canvaslms.com", "beta": "sso.beta.canvaslms.com", "test": "sso.test.canvaslms.com"}


@dataclass
class RegionsOverride:
    path: Path
    regions: dict[str, dict] = field(default_factory=dict)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        return {**(base if base is not None else os.environ), "CONNECT_CHECK_REGIONS": str(self.path)}


def _toml_value(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)


@pytest.fixture
def regions_override(tmp_path, monkeypatch) -> Callable[..., RegionsOverride]:
    """``regions_override(eu={"redirect_uris": [...]})`` -> the file, already in effect."""
    override = RegionsOverride(tmp_path / "regions.toml")

    def write(**regions: dict) -> RegionsOverride:
        for key, body in regions.items():
            override.regions.setdefault(key, {}).update(body)
        lines = []
        for key, body in override.regions.items():
            lines.append(f"[regions.{key}]")
            lines += [f"{name} = {_toml_value(value)}" for name, value in body.items()]
            lines.append("")
        override.path.write_text("\n".join(lines))
        monkeypatch.setenv("CONNECT_CHECK_REGIONS", str(override.path))
        return override

    return write


class BadgrApiHandler(LabHandler):
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.record()
        self.answer(200, json.dumps({"status": "ok"}), {"Content-Type": "application/json", "Server": "badgr-lab"})


@dataclass
class BadgrApi:
    region: str
    host: str
    server: RunningServer
    regions: RegionsOverride

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        return self.regions.env(base)


@pytest.fixture
def badgr_api(lab_ca, lab_zone, regions_override) -> Iterator[Callable[..., BadgrApi]]:
    """``badgr_api("eu", trusted=True, redirect_uris=[...])`` -> a local API host for eu."""
    stack = contextlib.ExitStack()
    names: list[str] = []

    def start(region: str = "us", *, trusted: bool = True, redirect_uris: tuple[str, ...] = (),
              host: str | None = None) -> BadgrApi:
        host = host or f"api.{region}.badgr.lab.test"
        ca = lab_ca if trusted else trustme.CA()
        server = stack.enter_context(serve_http(BadgrApiHandler, host=host, ssl_context=cert_context(ca.issue_cert(host))))
        lab_zone.a[host] = ["127.0.0.1"]
        names.append(host)
        override = regions_override(**{region: {"api": f"{host}:{server.port}", "redirect_uris": list(redirect_uris)}})
        return BadgrApi(region, host, server, override)

    with stack:
        yield start
    for name in names:
        lab_zone.a.pop(name, None)


@dataclass
class SsoHost:
    host: str
    address: str
    canvas: FakeCanvas
    server: RunningServer


def _serve_on(address: str, port: int, handler, ssl_context, host: str) -> tuple[_Server, threading.Thread]:
    server = _Server((address, port), handler, ssl_context)
    server.running = RunningServer(host, port)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def sso_host(lab_ca, lab_zone) -> Iterator[Callable[..., SsoHost]]:
    """``sso_host("production", FakeCanvas(sso=True, jwks=[...]))`` -> the SSO host, live on
    port 443 of a random loopback address (needs the right to bind port 443)."""
    started: list[tuple[_Server, threading.Thread, str]] = []

    def start(environment: str = "production", canvas: FakeCanvas | None = None, *, trusted: bool = True) -> SsoHost:
        canvas = canvas or FakeCanvas(sso=True)
        canvas.sso = True
        host = SSO_HOSTS[environment]
        ctx = cert_context((lab_ca if trusted else trustme.CA()).issue_cert(host))
        for _ in range(20):
            address = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
            try:
                server, thread = _serve_on(address, 443, canvas.handler(), ctx, host)
                break
            except PermissionError:
                pytest.skip("serving the SSO host needs the right to bind port 443")
            except OSError:
                continue
        else:  # pragma: no cover - 20 busy addresses in 127/8
            pytest.skip("no free loopback address for the SSO host")
        lab_zone.a[host] = [address]
        started.append((server, thread, host))
        return SsoHost(host, address, canvas, server.running)  # type: ignore[attr-defined]

    yield start
    for server, thread, host in started:
        lab_zone.a.pop(host, None)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
