"""The IANA special-purpose address registries, as tables (plus multicast, the deprecated
site-local and IPv4-compatible ranges, and the reserved IPv4 Class E).

Sources: https://www.iana.org/assignments/iana-ipv4-special-registry and
https://www.iana.org/assignments/iana-ipv6-special-registry (RFC 6890 and updates, as of
2025, including RFC 9637 3fff::/20, RFC 9602 5f00::/16, RFC 9780 100:0:0:1::/64 and RFC
9665 2001:1::3). ``global`` is the registry's "Globally Reachable" column: some blocks are
reachable (anycast services, AS112, NAT64), but no Canvas can live in any of them, so the
network policy refuses every one; the column is kept to show that this is deliberate.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple


class Block(NamedTuple):
    network: str
    name: str
    rfc: str
    globally_reachable: bool | None  # None: "N/A" in the registry


IPV4 = [
    Block("0.0.0.0/8", "This network", "RFC 791", False),
    Block("0.0.0.0/32", "This host on this network", "RFC 1122", False),
    Block("10.0.0.0/8", "Private-Use", "RFC 1918", False),
    Block("100.64.0.0/10", "Shared Address Space", "RFC 6598", False),
    Block("127.0.0.0/8", "Loopback", "RFC 1122", False),
    Block("169.254.0.0/16", "Link Local", "RFC 3927", False),
    Block("172.16.0.0/12", "Private-Use", "RFC 1918", False),
    Block("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890", False),
    Block("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", False),
    Block("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", False),
    Block("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", True),
    Block("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    Block("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 7050", False),
    Block("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 7050", False),
    Block("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", False),
    Block("192.31.196.0/24", "AS112-v4", "RFC 7535", True),
    Block("192.52.193.0/24", "AMT", "RFC 7450", True),
    Block("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", None),
    Block("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751", False),
    Block("192.168.0.0/16", "Private-Use", "RFC 1918", False),
    Block("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", True),
    Block("198.18.0.0/15", "Benchmarking", "RFC 2544", False),
    Block("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", False),
    Block("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", False),
    Block("240.0.0.0/4", "Reserved", "RFC 1112", False),
    Block("255.255.255.255/32", "Limited Broadcast", "RFC 919", False),
    # beyond the special-purpose registry
    Block("224.0.0.0/4", "Multicast", "RFC 5771", None),
]

IPV6 = [
    Block("::1/128", "Loopback Address", "RFC 4291", False),
    Block("::/128", "Unspecified Address", "RFC 4291", False),
    Block("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", False),
    Block("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052", True),
    Block("64:ff9b:1::/48", "IPv4-IPv6 Translat. (local use)", "RFC 8215", False),
    Block("100::/64", "Discard-Only Address Block", "RFC 6666", False),
    Block("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", False),
    Block("2001::/23", "IETF Protocol Assignments", "RFC 2928", False),
    Block("2001::/32", "TEREDO", "RFC 4380", None),
    Block("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", True),
    Block("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", True),
    Block("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", True),
    Block("2001:2::/48", "Benchmarking", "RFC 5180", False),
    Block("2001:3::/32", "AMT", "RFC 7450", True),
    Block("2001:4:112::/48", "AS112-v6", "RFC 7535", True),
    Block("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", None),
    Block("2001:20::/28", "ORCHIDv2", "RFC 7343", True),
    Block("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", True),
    Block("2001:db8::/32", "Documentation", "RFC 3849", False),
    Block("2002::/16", "6to4", "RFC 3056", None),
    Block("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", True),
    Block("3fff::/20", "Documentation", "RFC 9637", False),
    Block("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", False),
    Block("fc00::/7", "Unique-Local", "RFC 4193", False),
    Block("fe80::/10", "Link-Local Unicast", "RFC 4291", False),
    # beyond the special-purpose registry
    Block("ff00::/8", "Multicast", "RFC 4291", None),
    Block("fec0::/10", "Site-Local (deprecated)", "RFC 3879", None),
    Block("::/96", "IPv4-Compatible (deprecated)", "RFC 4291", None),
]

ALL = IPV4 + IPV6
NETWORKS = [ipaddress.ip_network(b.network) for b in ALL]


def in_any_block(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address.version == n.version and address in n for n in NETWORKS)


def samples(block: Block) -> list[str]:
    """First, second, middle, second-to-last and last address of a block."""
    net = ipaddress.ip_network(block.network)
    first, last = int(net.network_address), int(net.broadcast_address)
    points = {first, min(first + 1, last), (first + last) // 2, max(last - 1, first), last}
    cls = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
    return [str(cls(p)) for p in sorted(points)]
