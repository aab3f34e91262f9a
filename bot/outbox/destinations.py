"""Where an agent's callback may go: never to loopback or private addresses unless allowed."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from urllib.parse import urlsplit

from bot.errors import Invalid

RESOLVE_SECONDS = 2.0
# NAT64's well-known prefix: a connection to 64:ff9b::a.b.c.d reaches the IPv4 address a.b.c.d.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Refused whole, whatever IPv4 address they carry. The IETF-reserved ::/8 holds IPv4-compatible
# ::/96, SIIT's ::ffff:0:0:0/96 and local-use NAT64 64:ff9b:1::/48 (where its IPv4 address sits is
# up to the operator), none a public destination. 6to4 is deprecated (RFC 7526); a host that still
# speaks it sends the packet to the embedded IPv4 address, which cannot be trusted to be public.
IPV4_CARRIERS = (ipaddress.IPv6Network("::/8"), ipaddress.IPv6Network("2002::/16"))


def refused(address: str) -> bool:
    """Whether Council refuses to call this address (anything not on the public internet)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _reached_ipv4(ip)
        if embedded is not None:
            return refused(str(embedded))
        if any(ip in carrier for carrier in IPV4_CARRIERS):
            return True
    return not ip.is_global or ip.is_multicast


def _reached_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address a connection to this IPv6 address reaches: IPv4-mapped, or NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def _literal_host(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Refuse a callback URL whose host is, or resolves to, a loopback or private address.

    A host that does not resolve now is accepted: DNS may be down for a moment, and every delivery
    resolves again and refuses such addresses then.
    """
    if allow_private:
        return
    host = (urlsplit(url).hostname or "").lower()
    literal = _literal_host(host)
    bad = host == "localhost" or host.endswith(".localhost") or (literal is not None and refused(literal))
    if not bad and literal is None:
        with contextlib.suppress(OSError, TimeoutError, UnicodeError):
            async with asyncio.timeout(RESOLVE_SECONDS):
                bad = await resolves_private(url) is not None
    if bad:
        raise Invalid(
            "callback_url points at a loopback or private address; Council refuses those unless "
            "COUNCIL_ALLOW_PRIVATE_CALLBACKS is on",
            details=[{"field": "callback_url", "message": "private or loopback address"}],
        )


async def resolves_private(url: str) -> str | None:
    """Return a refused address the URL's host resolves to, or None when all are public."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for info in infos:
        address = str(info[4][0])
        if refused(address):
            return address
    return None
