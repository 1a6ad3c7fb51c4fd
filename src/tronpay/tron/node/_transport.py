"""The transport seam of the node client: POST a JSON body to a URL, get the status, headers
and body bytes back. Two implementations: the lean keep-alive client (``_http``, plain http
only) and an adapter over ``httpx.AsyncClient`` (``_httpx``, for https, proxies and injected
transports). Everything above the bytes (status codes, ``Retry-After``, JSON) is the client's
and written once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP answer. ``headers`` looks names up in lower case."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes


class TransportFailure(Exception):
    """One request failed below HTTP (connection, timeout, malformed response). The message
    is a short reason such as ``ConnectError`` or ``ReadTimeout``; it never holds the body."""


class Transport(Protocol):
    """How the node client sends a request."""

    async def post_json(self, url: str, body: Mapping[str, Any], *, retry_stale: bool) -> Response:
        """POST ``body`` as JSON to ``url``. ``retry_stale`` allows one resend on a new
        connection when a reused idle one died before any byte of the answer arrived (reads
        only: a broadcast is never sent twice inside one call). Raises TransportFailure."""
        ...

    async def aclose(self) -> None:
        """Close every connection; the transport is not used again."""
        ...
