"""The cloud-link fetch connects only to global addresses: IPv4 carried inside IPv6 (NAT64,
6to4, Teredo, mapped, compatible, translated) is judged by the address it carries."""

from __future__ import annotations

import pytest

from jobs import cloud
from jobs.addresses import is_public_address
from jobs.cloud import CloudLinkError

REFUSED = [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud metadata service
    "64:ff9b:1::c0a8:101",  # local-use NAT64 of 192.168.1.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo with a private client (127.0.0.1)
    "::ffff:127.0.0.1",
    "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
    "::127.0.0.1",  # IPv4-compatible loopback
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
]
ALLOWED = ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", REFUSED)
def test_a_non_global_address_is_refused_however_it_is_written(settings, address: str) -> None:
    settings.CLOUD_LINK_ALLOW_PRIVATE = False
    assert not is_public_address(address)
    with pytest.raises(CloudLinkError, match="private network address"):
        cloud.resolve(address, 443)  # an address literal resolves to itself


@pytest.mark.parametrize("address", ALLOWED)
def test_a_global_address_is_fetched(settings, address: str) -> None:
    settings.CLOUD_LINK_ALLOW_PRIVATE = False
    assert is_public_address(address)
    assert cloud.resolve(address, 443) == address
