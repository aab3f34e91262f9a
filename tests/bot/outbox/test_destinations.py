"""Callback destinations: nothing goes to loopback or private addresses unless an admin allows it."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from bot.errors import Invalid
from bot.outbox.callbacks import PublicOnlyResolver
from bot.outbox.destinations import check_destination, refused, resolves_private


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/cb",
        "http://[::1]/cb",
        "http://10.1.2.3/cb",
        "http://169.254.169.254/latest",
        "http://localhost:8080/cb",
        "http://0/cb",
        "http://2130706433/cb",
        "http://api.localhost/cb",
    ],
)
async def test_private_destinations_are_refused_at_intake(url: str) -> None:
    with pytest.raises(Invalid) as refused:
        await check_destination(url, allow_private=False)
    assert refused.value.details == [{"field": "callback_url", "message": "private or loopback address"}]


async def test_private_destinations_are_allowed_only_when_configured() -> None:
    url = "http://127.0.0.1:9/cb"
    assert await check_destination(url, allow_private=True) is None
    with pytest.raises(Invalid, match="private"):
        await check_destination(url, allow_private=False)


async def test_the_send_time_resolver_never_yields_a_refused_address() -> None:
    resolver = PublicOnlyResolver()
    try:
        with pytest.raises(OSError, match="loopback or private"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


# Each IPv6 form that carries an IPv4 address: the IPv4 address inside is loopback, private,
# link-local (the cloud metadata service) or multicast, or the form is refused whatever it carries.
EMBEDDED_INSIDE = [
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",  # NAT64 well-known prefix: 127.0.0.1
    "64:ff9b::a00:1",  # 10.0.0.1
    "64:ff9b::c0a8:101",  # 192.168.1.1
    "64:ff9b::a9fe:a9fe",  # 169.254.169.254
    "64:ff9b::6440:1",  # 100.64.0.1, shared address space
    "64:ff9b::e000:1",  # 224.0.0.1
    "64:ff9b:1::a00:1",  # local-use NAT64, refused whole
    "64:ff9b:1::808:808",
    "2002:7f00:1::1",  # 6to4, refused whole
    "2002:a9fe:a9fe::1",
    "2002:808:808::1",
    "::7f00:1",  # IPv4-compatible, refused whole
    "::a00:1",
    "::808:808",
    "::ffff:0:7f00:1",  # SIIT IPv4-translated, refused whole
    "::ffff:0:808:808",
]
PUBLIC = ["8.8.8.8", "::ffff:8.8.8.8", "64:ff9b::808:808", "2606:4700:4700::1111"]


@pytest.mark.parametrize("address", EMBEDDED_INSIDE)
def test_ipv6_forms_that_carry_an_inside_ipv4_address_are_refused(address: str) -> None:
    assert refused(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed_even_when_mapped_or_behind_nat64(address: str) -> None:
    assert not refused(address)


@pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:a00:1::1", "::7f00:1"])
async def test_a_literal_ipv6_callback_carrying_an_inside_address_is_refused_at_intake(address: str) -> None:
    with pytest.raises(Invalid):
        await check_destination(f"http://[{address}]:8080/cb", allow_private=False)


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> None:
    """Make every name resolve to these addresses, as a hostile DNS server could."""

    async def getaddrinfo(host: str, port: int, **_: object) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("address", ["64:ff9b::a00:1", "2002:7f00:1::1", "::ffff:0:a9fe:a9fe"])
async def test_a_name_resolving_to_an_embedded_inside_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    _fake_dns(monkeypatch, ["8.8.8.8", address])
    assert await resolves_private("https://agent.example.com/cb") == address
    with pytest.raises(Invalid):
        await check_destination("https://agent.example.com/cb", allow_private=False)
    resolver = PublicOnlyResolver()
    try:
        assert [r["host"] for r in await resolver.resolve("agent.example.com", 443)] == ["8.8.8.8"]
    finally:
        await resolver.close()


async def test_a_name_behind_nat64_with_a_public_address_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, ["64:ff9b::808:808"])
    await check_destination("https://agent.example.com/cb", allow_private=False)
    resolver = PublicOnlyResolver()
    try:
        assert [r["host"] for r in await resolver.resolve("agent.example.com", 443)] == ["64:ff9b::808:808"]
    finally:
        await resolver.close()


async def test_the_send_time_resolver_refuses_a_name_with_only_embedded_inside_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_dns(monkeypatch, ["64:ff9b::7f00:1", "2002:a00:1::1"])
    resolver = PublicOnlyResolver()
    try:
        with pytest.raises(OSError, match="loopback or private"):
            await resolver.resolve("agent.example.com", 443)
    finally:
        await resolver.close()
