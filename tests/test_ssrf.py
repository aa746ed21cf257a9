"""Server-side request forgery: Connect Check never connects to a non-public address.

Two layers:

- ``test_no_private_listener_is_ever_reached`` runs ``tests/ssrf/inner.py`` in a network
  namespace of its own (``unshare -n``): listeners on loopback and private addresses of
  that namespace's ``lo``, then dozens of ways to make the engine, the CLI, redirects,
  AIA fetching, Badgr region hosts and the batch runner go there, without
  ``--allow-private``. No listener may see a connection; the positive controls (a raw
  connect, the same paths with ``allow_private``) prove the listeners would have.
- Unit tests of the address vetting over the IANA special-purpose registries (IPv4 and
  IPv6) and of every spelling of an IPv4 address, through ``target.parse`` (the front
  door refuses IP literals) and ``Network.vet`` (the engine refuses what they stand for).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from diagnostics.net import NetPolicy, Network, PrivateAddress, ip_literal, literal_readings, non_public_reason
from diagnostics.target import TargetError, parse
from tests.ssrf import iana
from tests.ssrf.figures import show
from tests.ssrf.spellings import v4_spellings, v6_hiding

ROOT = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------- the namespace run


def _namespaces_unavailable() -> str | None:
    """Why this machine cannot give the test a private network namespace, or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    try:
        probe = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, text=True,
                               timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`unshare -n` could not run ({exc})"
    if probe.returncode != 0:
        return (f"`unshare -n` is not permitted here (needs root or user namespaces): "
                f"{probe.stderr.strip()[:200]}")
    return None


@pytest.fixture(scope="module")
def ssrf_run() -> dict:
    reason = _namespaces_unavailable()
    if reason:
        pytest.skip(f"SSRF namespace suite skipped: {reason}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECT_CHECK_")}
    env["CONNECT_CHECK_SSRF_NETNS"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run(["unshare", "-n", sys.executable, "-m", "tests.ssrf.inner"], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=540)
    assert r.returncode == 0, f"inner run failed (exit {r.returncode}):\n{r.stderr[-4000:]}"
    last = r.stdout.strip().splitlines()[-1]
    return json.loads(last)


@pytest.mark.netns
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_no_private_listener_is_ever_reached(ssrf_run, request):
    summary = ssrf_run
    cases, controls = summary["cases"], summary["controls"]
    by_route = Counter(c["via"] for c in cases)
    show(request, "SSRF (network namespace)", [
        f"listeners: {summary['listeners']} (skipped: {len(summary['listeners_skipped'])})",
        f"targets tried: {summary['targets_tried']}",
        f"connections that reached a private listener: {summary['private_connections']}",
        f"positive-control connections: {summary['control_connections']} over {len(controls)} controls",
        "by route: " + ", ".join(f"{k} {v}" for k, v in sorted(by_route.items())),
    ])

    # The listeners were really there, on IPv4 and IPv6, and the controls reached them.
    assert summary["listeners"] >= 40, summary["listeners_skipped"]
    assert not summary["v6_problems"], summary["v6_problems"]
    silent_controls = [c for c in controls if not c["hits"]]
    assert not silent_controls, silent_controls
    assert summary["control_connections"] >= summary["listeners"]

    # Dozens of targets, by every route the issue names.
    assert summary["targets_tried"] >= 200
    for route in ("engine", "cli", "engine dns", "engine --resolve", "cli --resolve", "cli CONNECT_CHECK_RESOLVE",
                  "redirect", "aia", "badgr region file", "cli badgr region file", "badgr shipped host via DNS",
                  "hosted lti", "dns rebinding", "batch", "cli subprocess", "cli port"):
        assert by_route[route] >= 1, f"no case through {route}"

    # Nothing reached a private listener, and every attempt was refused for the right reason.
    assert summary["private_connections"] == 0
    reached = [c for c in cases if c["hits"]]
    assert not reached, reached
    not_refused = [c for c in cases if not c["refused"]]
    assert not not_refused, not_refused


# ----------------------------------------------------------------------------- the registries


def _vet_refuses(address: str) -> bool:
    try:
        Network(NetPolicy()).vet("canvas.example.edu", [address])
    except PrivateAddress:
        return True
    return False


REGISTRY_SAMPLES = [(b, a) for b in iana.ALL for a in iana.samples(b)]


@pytest.mark.parametrize("block, address", REGISTRY_SAMPLES,
                         ids=[f"{b.network}-{a}" for b, a in REGISTRY_SAMPLES])
def test_every_special_purpose_address_is_refused(block, address):
    assert non_public_reason(address), f"{address} ({block.name}, {block.rfc}) passed as public"
    assert _vet_refuses(address)


@pytest.mark.parametrize("block", iana.IPV4, ids=[b.network for b in iana.IPV4])
def test_special_purpose_ipv4_hidden_in_ipv6_is_refused(block):
    for address in iana.samples(block):
        for hidden in v6_hiding(address):
            assert non_public_reason(hidden), f"{hidden} hides {address} ({block.name})"
            assert _vet_refuses(hidden)


PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "151.101.1.69", "52.0.0.1", "2606:4700:4700::1111",
          "2a00:1450:4001:80b::200e", "2001:4860:4860::8888", "2620:0:860::1"]
#: Public addresses right next to a special-purpose block: the blocks are not too wide.
EDGES = ["9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
         "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.0", "192.0.3.0",
         "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255",
         "2001:200::1", "2001:dba::1", "2003::1", "2c0f:fb50:4003::1"]


@pytest.mark.parametrize("address", PUBLIC + EDGES)
def test_public_addresses_pass(address):
    assert not iana.in_any_block(ipaddress.ip_address(address))
    assert non_public_reason(address) is None
    assert not _vet_refuses(address)


def test_registry_tables_cover_what_the_design_names():
    names = {b.name for b in iana.ALL}
    for needed in ("Loopback", "Private-Use", "Shared Address Space", "Link Local", "Multicast", "Reserved",
                   "Unique-Local", "Link-Local Unicast", "IPv4-mapped Address", "Unspecified Address"):
        assert any(needed in n for n in names), needed
    assert ipaddress.ip_address("169.254.169.254") in ipaddress.ip_network("169.254.0.0/16")
    assert len(REGISTRY_SAMPLES) > 200


def test_malformed_addresses_are_refused():
    for text in ("", "not-an-ip", "1.2.3", "fe80::1%", "::ffff:999.0.0.1"):
        assert non_public_reason(text)


# ----------------------------------------------------------------------------- the spellings

PRIVATE_V4 = ["127.0.0.1", "127.1.2.3", "10.9.8.7", "172.16.5.4", "192.168.7.6", "100.64.3.2", "169.254.169.254",
              "198.18.0.9", "0.0.0.0", "192.0.0.8", "224.0.0.1", "255.255.255.255"]
SPELLINGS = [(a, s) for a in PRIVATE_V4 for s in v4_spellings(a)]


@pytest.mark.parametrize("address, spelling", SPELLINGS, ids=[s for _, s in SPELLINGS])
def test_every_v4_spelling_is_refused(address, spelling):
    for typed in (spelling, f"https://{spelling}/courses/1", f"http://{spelling}:8443/", f"//{spelling}",
                  f"{spelling}:443", f"HTTPS://{spelling.upper()}/"):
        with pytest.raises(TargetError):
            parse(typed)
    # The engine, handed the spelling anyway, reads it as the address and refuses it.
    assert address in literal_readings(spelling), (spelling, literal_readings(spelling))
    assert ip_literal(spelling) is not None
    assert _vet_refuses_host(spelling)


HIDING = [(a, h) for a in PRIVATE_V4 for h in v6_hiding(a)]


@pytest.mark.parametrize("address, hidden", HIDING, ids=[h for _, h in HIDING])
def test_every_v6_form_hiding_v4_is_refused(address, hidden):
    for typed in (f"[{hidden}]", f"https://[{hidden}]/", f"https://[{hidden}]:8443/x"):
        with pytest.raises(TargetError):
            parse(typed)
    assert ip_literal(f"[{hidden}]") is not None
    assert _vet_refuses_host(f"[{hidden}]")


def _vet_refuses_host(host: str) -> bool:
    """Network.vet on a numeric host name with no resolved addresses: the readings decide."""
    try:
        Network(NetPolicy()).vet(host, ())
    except PrivateAddress:
        return True
    return False


@pytest.mark.parametrize("spelling, readings", [
    ("172.016.005.004", {"172.14.5.4", "172.16.5.4"}),  # octal to inet_aton, decimal to others
    ("010.009.008.007", {"10.9.8.7"}),  # not octal at all (9), decimal only
    ("0177.0.0.1", {"127.0.0.1", "177.0.0.1"}),
    ("0x7f.1", {"127.0.0.1"}),
    ("2130706433", {"127.0.0.1"}),
    ("999.1.1.1", set()),
    ("1a.de", set()),  # a host name that only looks numeric
])
def test_ambiguous_spellings_are_vetted_under_every_reading(spelling, readings):
    assert set(literal_readings(spelling)) == readings
    if any(non_public_reason(r) for r in readings):
        assert _vet_refuses_host(spelling)


def test_public_ip_literals_are_refused_at_the_front_door_too():
    # Badgr needs a host name its certificate is issued for: no IP literal passes parse.
    for spelling in v4_spellings("8.8.8.8") + [f"[{h}]" for h in v6_hiding("8.8.8.8")] + ["[2606:4700::1111]"]:
        with pytest.raises(TargetError):
            parse(spelling)


def test_numbers_that_are_no_address_are_never_asked_of_dns():
    import asyncio

    from diagnostics.net import NameNotFound

    async def go():
        net = Network(NetPolicy(nameservers=(("127.0.0.1", 9),)))
        try:
            await net.resolve("999.1.1.1", 443)
        finally:
            await net.aclose()

    with pytest.raises(NameNotFound):
        asyncio.run(go())
