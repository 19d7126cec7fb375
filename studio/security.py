"""Request-level security that every page shares: the client's address (believing a proxy
header only from a configured, trusted proxy), the Permissions-Policy header and form input
without NUL characters."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict

if TYPE_CHECKING:
    from django.http.request import _ImmutableQueryDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _address(text: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def client_address(request: HttpRequest) -> str | None:
    """The address of the person making the request.

    REMOTE_ADDR unless it is one of TRUSTED_PROXIES; then the X-Forwarded-For hops are read from
    the right (the proxy appends the address it saw), skipping further trusted proxies. A client
    can write anything at the left of that header, so only what a trusted proxy appended counts.
    """
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))
    if remote is None or not trusted or not any(remote in n for n in trusted):
        return str(remote) if remote is not None else None
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:
            break  # not written by our proxy: trust nothing further left
        if not any(ip in n for n in trusted):
            return str(ip)
        remote = ip
    return str(remote)


# Features no Headroom page uses; audio playback and downloads need none of them.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "bluetooth",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)


class PermissionsPolicyMiddleware:
    """Adds the Permissions-Policy header to every response that has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


def _without_nul(data: QueryDict) -> _ImmutableQueryDict | None:
    """A copy of `data` with the NUL character taken out of every key and value, or None when
    there is none. PostgreSQL cannot store NUL in text, and no one types it on purpose."""
    if not any("\x00" in k or any("\x00" in v for v in vs) for k, vs in data.lists()):
        return None
    clean = QueryDict(mutable=True, encoding=data.encoding)
    for key, values in data.lists():
        clean.setlist(key.replace("\x00", ""), [v.replace("\x00", "") for v in values])
    clean._mutable = False
    return cast("_ImmutableQueryDict", clean)


class StripNulMiddleware:
    """Takes NUL characters out of query strings and plain form posts before any view reads
    them, so a pasted NUL in a title, note or search is dropped instead of failing the database
    write."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (clean := _without_nul(request.GET)) is not None:
            request.GET = clean
        # Only plain form posts: reading a file upload's body here would take it in before the
        # upload views can refuse it from its declared length.
        if (
            request.method == "POST"
            and request.content_type == "application/x-www-form-urlencoded"
            and (clean := _without_nul(request.POST)) is not None
        ):
            request.POST = clean
        return self.get_response(request)
