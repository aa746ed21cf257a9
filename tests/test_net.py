"""Network policy: address vetting, settings parsing, vetted HTTP, DNS through the lab."""

from __future__ import annotations

import asyncio

import pytest

from diagnostics.net import (
    DEFAULT_PORTS,
    NameNotFound,
    NetPolicy,
    Network,
    PortNotAllowed,
    PrivateAddress,
    RedirectRefused,
    non_public_reason,
    parse_nameservers,
    parse_resolve,
)

NON_PUBLIC = [
    "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254", "127.0.0.1",
    "127.255.255.254", "169.254.169.254", "169.254.0.1", "172.16.0.1", "172.31.255.255", "192.0.0.8",
    "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
    "64:ff9b::a00:1", "64:ff9b:1::a00:1", "100::1", "2001::1", "2001:db8::1", "2001:10::1", "2002:7f00:1::1",
    "2002:a00:1::", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "192.31.196.1", "192.175.48.1", "3fff::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "fec0::1", "ff02::1", "not-an-ip",
]
PUBLIC = ["1.1.1.1", "8.8.8.8", "93.184.216.34", "151.101.1.69", "2606:4700:4700::1111", "2a00:1450:4001:82a::200e"]


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_refuses_every_non_public_address(address):
    assert non_public_reason(address) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_accepts_public_addresses(address):
    assert non_public_reason(address) is None


def test_parse_resolve_like_curl():
    assert parse_resolve(["Canvas.Lab.test:8443:127.0.0.1", "x.test:443:[::1],127.0.0.2"]) == {
        ("canvas.lab.test", 8443): ("127.0.0.1",),
        ("x.test", 443): ("::1", "127.0.0.2"),
    }
    assert parse_resolve(["a.test:*:127.0.0.1"]) == {("a.test", 0): ("127.0.0.1",)}
    for bad in ["a.test:443", "a.test:443:nope", ":443:127.0.0.1"]:
        with pytest.raises(ValueError):
            parse_resolve([bad])


def test_policy_from_env():
    p = NetPolicy.from_env({
        "CONNECT_CHECK_ALLOW_PRIVATE": "1",
        "CONNECT_CHECK_RESOLVE": "a.test:443:127.0.0.1, b.test:8443:127.0.0.2",
        "CONNECT_CHECK_CA_BUNDLE": "/tmp/ca.pem",
        "CONNECT_CHECK_PORTS": "any",
        "CONNECT_CHECK_DNS": "127.0.0.1:5353",
        "CONNECT_CHECK_DEADLINE": "7",
    })
    assert p.allow_private and p.ports is None and p.deadline == 7 and p.trust_store == "/tmp/ca.pem"
    assert p.resolve[("b.test", 8443)] == ("127.0.0.2",)
    assert p.nameservers == (("127.0.0.1", 5353),)
    default = NetPolicy.from_env({})
    assert not default.allow_private and default.ports == DEFAULT_PORTS and default.port_allowed(443)
    assert not default.port_allowed(22)
    assert NetPolicy.from_env({}, allow_private=True).allow_private
    assert parse_nameservers("127.0.0.1") == (("127.0.0.1", 53),)


def _run(coro):
    return asyncio.run(coro)


def test_dns_through_the_lab(lab_zone, lab_dns):
    lab_zone.cname["alias.lab.test"] = "edge.lab.test"
    lab_zone.a["edge.lab.test"] = ["203.0.113.10"]
    policy = NetPolicy(nameservers=(lab_dns,))

    async def go():
        net = Network(policy)
        res = await net.resolve("ALIAS.lab.test.")
        again = await net.resolve("alias.lab.test")
        with pytest.raises(NameNotFound):
            await net.resolve("missing.lab.test")
        return res, again

    res, again = _run(go())
    assert res.addresses == ("203.0.113.10",) and res.cnames == ("edge.lab.test",)
    assert again is res  # asked once per run
    assert lab_zone.queries.count("alias.lab.test A") == 1


def test_private_addresses_are_never_connected(canvas_lab):
    lab = canvas_lab()
    policy = lab.policy(allow_private=False)

    async def go():
        net = Network(policy)
        with pytest.raises(PrivateAddress):
            await net.fetch(lab.url + "/")
        with pytest.raises(PrivateAddress):
            await net.addresses(lab.host, lab.port)
        await net.aclose()
        return net.connections_opened

    assert _run(go()) == 0
    assert lab.server.requests == []


def test_port_policy(canvas_lab):
    lab = canvas_lab()

    async def go():
        net = Network(lab.policy(ports=frozenset({443})))
        with pytest.raises(PortNotAllowed):
            await net.fetch(lab.url + "/")
        await net.aclose()

    _run(go())
    assert lab.server.requests == []


def test_fetch_pins_address_and_keeps_name(canvas_lab):
    lab = canvas_lab()

    async def go():
        net = Network(lab.policy())
        r = await net.fetch(lab.url + "/api/v1/users/self", headers={"Accept": "application/json"})
        await net.aclose()
        return r

    r = _run(go())
    assert r.status == 401 and r.verified
    assert "canvas-lms" in r.header("www-authenticate")
    assert r.header("x-canvas-meta")


def test_redirects_are_vetted_hop_by_hop(canvas_lab):
    from tests.lab.fake_canvas import FakeCanvas

    canvas = FakeCanvas()
    canvas.extra_routes[("GET", "/hop")] = lambda h: h.canvas_redirect("http://169.254.169.254/latest/meta-data/")
    canvas.extra_routes[("GET", "/js")] = lambda h: h.canvas_redirect("javascript:alert(1)")
    lab = canvas_lab(canvas)

    async def go():
        # the lab host itself is allowed through --resolve; the metadata hop is vetted on its own
        net = Network(lab.policy(allow_private=False))
        net.vet = lambda host, addrs, _vet=net.vet: None if host == lab.host else _vet(host, addrs)
        with pytest.raises(PrivateAddress):
            await net.fetch(lab.url + "/hop", follow_redirects=3)
        with pytest.raises(RedirectRefused):
            await net.fetch(lab.url + "/js", follow_redirects=3)
        await net.aclose()

    _run(go())


def test_body_cap(canvas_lab):
    from tests.lab.fake_canvas import FakeCanvas

    canvas = FakeCanvas()
    canvas.extra_routes[("GET", "/big")] = lambda h: h.answer(200, b"x" * (3 * 1024 * 1024))
    lab = canvas_lab(canvas)

    async def go():
        net = Network(lab.policy())
        r = await net.fetch(lab.url + "/big", max_body=1024 * 1024)
        await net.aclose()
        return r

    r = _run(go())
    assert r.truncated and len(r.body) == 1024 * 1024


@pytest.mark.parametrize("spelling, address", [
    ("169.254.169.254", "169.254.169.254"), ("2852039166", "169.254.169.254"), ("0xa9fea9fe", "169.254.169.254"),
    ("0251.0376.0251.0376", "169.254.169.254"), ("127.1", "127.0.0.1"), ("[::1]", "::1"), ("canvas.edu", None),
    ("1e100.net", None),
])
def test_ip_literals_in_every_spelling(spelling, address):
    from diagnostics.net import ip_literal

    assert ip_literal(spelling) == address
