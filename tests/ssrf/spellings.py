"""Every way to write an IPv4 address that a resolver, a browser or ``inet_aton`` accepts:
dotted, decimal, hex and octal (whole or per part), the short forms a.b.c and a.b, zero
padding, a trailing dot, and the IPv6 forms that hide it (mapped, compatible, NAT64, 6to4).
"""

from __future__ import annotations

import ipaddress


def v4_spellings(address: str) -> list[str]:
    ip = ipaddress.IPv4Address(address)
    n = int(ip)
    a, b, c, d = ip.packed
    forms = [
        str(ip),
        f"{n}",  # 2130706433
        f"{n:#x}",  # 0x7f000001
        f"{n:#X}".replace("0X", "0X"),  # 0X7F000001
        f"0{n:o}",  # 017700000001
        f"{a:#x}.{b:#x}.{c:#x}.{d:#x}",  # 0x7f.0x0.0x0.0x1
        f"0{a:o}.0{b:o}.0{c:o}.0{d:o}",  # 0177.00.00.01
        f"{a}.{b}.{(c << 8) | d}",  # 127.0.1
        f"{a}.{(b << 16) | (c << 8) | d}",  # 127.1
        f"{a:#x}.{(b << 16) | (c << 8) | d}",  # 0x7f.1
        f"{a:03d}.{b:03d}.{c:03d}.{d:03d}",  # 127.000.000.001 (read as octal by inet_aton when it can)
        f"{ip}.",  # trailing dot
    ]
    return list(dict.fromkeys(forms))


def v6_hiding(address: str) -> list[str]:
    """IPv6 literals that carry the IPv4 address inside."""
    ip = ipaddress.IPv4Address(address)
    hi, lo = int(ip) >> 16, int(ip) & 0xFFFF
    return [
        f"::ffff:{ip}",
        f"::ffff:{hi:x}:{lo:x}",
        f"0:0:0:0:0:ffff:{hi:x}:{lo:x}",
        f"::{ip}",  # IPv4-compatible (deprecated)
        f"64:ff9b::{ip}",  # NAT64 well-known prefix
        f"64:ff9b:1::{hi:x}:{lo:x}",
        f"2002:{hi:x}:{lo:x}::1",  # 6to4
    ]
