"""The :class:`Transport` over an ``httpx.AsyncClient``: what the node client uses for TLS
endpoints (TronGrid), proxies (SOCKS, Tor, or from the environment) and injected transports
(tests point it at tron_devnet through ``httpx.ASGITransport``). httpx verifies certificates,
routes through the proxy and manages its own connection pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from tronpay.tron.node._transport import Response, TransportFailure


class HttpxTransport:
    """Adapter from ``httpx.AsyncClient`` to :class:`Transport`; it owns and closes the client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @classmethod
    def create(
        cls,
        headers: Mapping[str, str],
        *,
        timeout: httpx.Timeout,
        proxy: str | None,
        transport: httpx.AsyncBaseTransport | None,
        max_connections: int,
    ) -> HttpxTransport:
        """A client that sends ``headers`` on every request, never follows redirects and keeps
        up to ``max_connections`` connections open (httpx keeps only 20 alive by default, so
        a burst of broadcasts would reconnect over and over)."""
        client = httpx.AsyncClient(
            headers=dict(headers),
            timeout=timeout,
            transport=transport,
            proxy=None if transport is not None else proxy,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            ),
        )
        return cls(client)

    async def post_json(self, url: str, body: Mapping[str, Any], *, retry_stale: bool) -> Response:
        # retry_stale: httpx decides about its own pooled connections
        try:
            resp = await self._client.post(url, json=dict(body))
        except httpx.TransportError as exc:
            raise TransportFailure(type(exc).__name__) from exc
        return Response(resp.status_code, resp.headers, resp.content)

    async def aclose(self) -> None:
        await self._client.aclose()
