"""Which network addresses a server-side fetch (a cloud share link) may connect to: only global
unicast ones. IPv4 carried inside IPv6 (mapped, compatible, translated, NAT64, 6to4, Teredo) is
judged by the IPv4 address it carries, so 64:ff9b::7f00:1 is the loopback it points at."""

from __future__ import annotations

import ipaddress

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765's IPv4-translated
_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible (also :: and ::1)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (none for plain IPv6)."""
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)  # (server, client)
    if any(ip in net for net in (*_NAT64, _TRANSLATED, _COMPATIBLE)):
        return [low]
    return []


def is_public_address(address: str) -> bool:
    """True only for a global unicast address, whatever form it is written in."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # a zone id: link-local anyway
    except ValueError:
        return False
    if "%" in address:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        carried = embedded_ipv4(ip)
        if carried:
            return all(is_public_address(str(v4)) for v4 in carried)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)
