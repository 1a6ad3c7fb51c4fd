"""Where a webhook may go (SSRF safety).

A URL is ``https`` (``http`` too in development), with a host and no credentials. Before each
connection the host is resolved once; if any address it resolves to is loopback, private,
link-local (cloud metadata lives there), multicast, reserved or otherwise not globally
routable, the destination is refused, unless ``TRONPAY_WEBHOOK_ALLOW_PRIVATE=true``. The
connection then goes to that resolved address (``PinnedTarget``), so a second, different DNS
answer cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit, urlunsplit

from tronpay.webhooks.errors import WebhookUrlRefused

MAX_URL_LENGTH: Final = 2048
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked URL: its scheme, host (lowercase, no brackets), port and the parts after."""

    url: str
    scheme: str
    host: str
    port: int
    split: SplitResult

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class PinnedTarget:
    """A destination and the one address the connection goes to."""

    destination: Destination
    address: str

    @property
    def connect_url(self) -> str:
        """The URL with the host replaced by the pinned address (the ``Host`` header and TLS
        server name carry the original host)."""
        split = self.destination.split
        host = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{host}:{self.destination.port}"
        return urlunsplit((split.scheme, netloc, split.path or "/", split.query, ""))


def parse_destination(url: str, *, allow_http: bool) -> Destination:
    """Check the form of a webhook URL. Raises ``WebhookUrlRefused``."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError as exc:
        raise WebhookUrlRefused("the URL cannot be parsed") from exc
    scheme = split.scheme.lower()
    allowed = ("https", "http") if allow_http else ("https",)
    if scheme not in allowed:
        raise WebhookUrlRefused(f"the URL scheme must be {' or '.join(allowed)}")
    if split.username is not None or split.password is not None:
        raise WebhookUrlRefused("the URL must not carry credentials")
    host = (split.hostname or "").lower().rstrip(".")
    if not host:
        raise WebhookUrlRefused("the URL has no host")
    if split.fragment:
        raise WebhookUrlRefused("the URL must not have a fragment")
    return Destination(
        url=url, scheme=scheme, host=host, port=port or _DEFAULT_PORTS[scheme], split=split
    )


def is_forbidden(address: IPAddress) -> bool:
    """Whether an address is one a webhook must not reach: anything not globally routable
    (loopback, private, link-local and metadata, CGNAT, multicast, reserved, unspecified)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_forbidden(address.ipv4_mapped)
    return not address.is_global or address.is_multicast


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(destination: Destination, *, allow_private: bool) -> PinnedTarget:
    """Resolve the host once and pick the address to connect to. Raises
    ``WebhookUrlRefused`` when the name does not resolve or any of its addresses is
    forbidden (unless ``allow_private``)."""
    literal = _literal(destination.host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                destination.host, destination.port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise WebhookUrlRefused(f"the host {destination.host} does not resolve") from exc
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise WebhookUrlRefused(f"the host {destination.host} does not resolve")
    if not allow_private:
        for address in addresses:
            if is_forbidden(address):
                raise WebhookUrlRefused(
                    f"the host {destination.host} resolves to a non-public address ({address})"
                )
    return PinnedTarget(destination=destination, address=str(addresses[0]))
