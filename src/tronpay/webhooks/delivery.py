"""Sending one signed webhook message over HTTP (Standard Webhooks).

``WebhookSender`` resolves the destination once, refuses forbidden addresses
(``tronpay.webhooks.destinations``), connects to the resolved address with the original
host in the ``Host`` header and as the TLS server name, never follows a redirect, bounds the
whole exchange by one timeout and reads at most ``MAX_RESPONSE_BYTES`` of the answer. Only a
2xx answer is a delivery; anything else is a failed attempt with a short reason.

The signing secrets reach ``send`` and go into the HMAC only: never into a log line, an
error text or the delivery log.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx
import structlog

from tronpay import __version__
from tronpay.webhooks.destinations import parse_destination, resolve
from tronpay.webhooks.errors import WebhookUrlRefused
from tronpay.webhooks.signing import signature_header

log = structlog.get_logger(__name__)

MAX_RESPONSE_BYTES: Final = 4096
MAX_ERROR_CHARS: Final = 500
USER_AGENT: Final = f"tronpay-webhooks/{__version__}"


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one attempt did: ``ok`` only for a 2xx; ``status_code`` when an answer came;
    ``error`` a short reason otherwise (no secret, no response body beyond a snippet)."""

    ok: bool
    status_code: int | None
    error: str | None
    duration_s: float


def encode_body(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for a message body."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


class WebhookSender:
    """One pooled HTTP client for every delivery of a process. ``transport`` is for tests
    that need one; in production httpx's own transport is used."""

    def __init__(
        self,
        *,
        timeout_s: float,
        allow_private: bool,
        allow_http: bool,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.allow_private = allow_private
        self.allow_http = allow_http
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment may see the destinations
            transport=transport,
            # No connection is kept for reuse: the pool is keyed by the pinned address, and a
            # TLS connection verified for one host name must never carry another host's message.
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self,
        *,
        url: str,
        message_id: str,
        body: bytes,
        secrets: Sequence[str],
        timestamp: int | None = None,
    ) -> SendResult:
        started = time.monotonic()
        stamp = int(time.time()) if timestamp is None else timestamp

        def result(status_code: int | None, error: str | None) -> SendResult:
            ok = error is None and status_code is not None and 200 <= status_code < 300
            return SendResult(ok, status_code, error, time.monotonic() - started)

        try:
            destination = parse_destination(url, allow_http=self.allow_http)
            async with asyncio.timeout(self.timeout_s):
                target = await resolve(destination, allow_private=self.allow_private)
                headers = {
                    "host": destination.host_header,
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                    "webhook-id": message_id,
                    "webhook-timestamp": str(stamp),
                    "webhook-signature": signature_header(secrets, message_id, stamp, body),
                }
                extensions: dict[str, Any] = {}
                if destination.scheme == "https":
                    extensions["sni_hostname"] = destination.host
                request = self._client.build_request(
                    "POST", target.connect_url, content=body, headers=headers, extensions=extensions
                )
                response = await self._client.send(request, stream=True)
                try:
                    snippet = await _read_some(response)
                finally:
                    await response.aclose()
        except WebhookUrlRefused as exc:
            return result(None, _clip(f"refused: {exc.detail}"))
        except TimeoutError:
            return result(None, f"timeout after {self.timeout_s:g}s")
        except httpx.TimeoutException:
            return result(None, f"timeout after {self.timeout_s:g}s")
        except httpx.HTTPError as exc:
            return result(None, _clip(f"{type(exc).__name__}: {exc}"))
        except OSError as exc:
            return result(None, _clip(f"{type(exc).__name__}: {exc}"))
        status = response.status_code
        if 200 <= status < 300:
            return result(status, None)
        if 300 <= status < 400:
            return result(status, f"HTTP {status}: redirects are not followed")
        return result(status, _clip(f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"))


async def _read_some(response: httpx.Response) -> str:
    """At most ``MAX_RESPONSE_BYTES`` of the answer, as text for the delivery log."""
    data = bytearray()
    async for chunk in response.aiter_raw():
        data.extend(chunk)
        if len(data) >= MAX_RESPONSE_BYTES:
            break
    return bytes(data[:MAX_RESPONSE_BYTES]).decode("utf-8", errors="replace").strip()
