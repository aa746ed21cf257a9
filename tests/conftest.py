"""Test-wide setup: hermetic network guard, lab fixtures, markers.

Fixture modules live in tests/lab/fx_*.py and are loaded here automatically, so each area
(TLS lab, fake Canvas, DNS server, portal) keeps its fixtures in its own file.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import socket


_LAB = pathlib.Path(__file__).parent / "lab"
pytest_plugins = sorted(f"tests.lab.{p.stem}" for p in _LAB.glob("fx_*.py"))

# Nothing a test runs may ask the machine's resolver (it is not on loopback): checks that
# need DNS get the lab DNS server (tests/lab/fx_dns.py) through CONNECT_CHECK_DNS.
os.environ.setdefault("CONNECT_CHECK_DNS", "127.0.0.1:9")  # discard port: fails fast, stays local


def _loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # unix sockets and the like
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto


def _guarded_connect(self, address):
    if not _loopback(address):
        raise AssertionError(f"hermetic test tried to reach {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _loopback(address):
        raise AssertionError(f"hermetic test tried to reach {address!r}")
    return _real_connect_ex(self, address)


def _guarded_sendto(self, data, *args):
    address = args[-1]
    if not _loopback(address):
        raise AssertionError(f"hermetic test tried to send to {address!r}")
    return _real_sendto(self, data, *args)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.socket.sendto = _guarded_sendto


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Debian's chromium through Playwright")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "netns: needs a private network namespace (root, unshare)")
