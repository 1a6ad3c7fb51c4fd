"""The lean HTTP/1.1 keep-alive client the node client uses for plain ``http://`` nodes.

httpx spends about 1.5 ms of CPU per request; the engine makes thousands per batch, so direct
connections to the operator's own full nodes (and the devnet) use this instead, at about a
tenth of that. It speaks plain HTTP only: no TLS, no proxy (``lean_eligible`` says when it
may be used; everything else goes through the httpx adapter in ``_httpx``).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tronpay.tron.node._transport import Response, TransportFailure

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Target:
    """What a request line needs from a node URL (parsed once per URL)."""

    key: tuple[str, str, int]
    path: str
    host: str


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float


_PROXY_ENV = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def lean_eligible(urls: Sequence[str]) -> bool:
    """Only plain http:// URLs and no proxy configured in the environment."""
    if any(os.environ.get(name) for name in _PROXY_ENV):
        return False
    return all(urlsplit(url).scheme == "http" for url in urls)


class LeanHttp:
    """A :class:`Transport`: POST JSON over pooled keep-alive plain HTTP/1.1 connections (no
    TLS, no proxy). Responses may be Content-Length, chunked or close-delimited; header names
    come back in lower case. A request that fails on a reused idle connection before any byte of
    the answer arrived is retried once on a new connection when ``retry_stale`` (reads
    only: a broadcast is never sent twice inside one call, its outcome is just UNKNOWN)."""

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        timeout_s: float,
        connect_timeout_s: float,
        max_connections: int,
        idle_s: float = 4.0,
    ) -> None:
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._idle_s = idle_s
        self._max = max(1, max_connections)
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._targets: dict[str, _Target] = {}  # the node URLs x the client's endpoints
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for c in conns:
                c.writer.close()
        self._idle.clear()

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is not None:
            return target
        parts = urlsplit(url)
        scheme = parts.scheme
        if scheme != "http" or not parts.hostname:
            raise TransportFailure(f"unsupported URL scheme {scheme!r}")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        target = _Target((scheme, parts.hostname, parts.port or 80), path, host)
        if len(self._targets) < 1024:
            self._targets[url] = target
        return target

    async def post_json(self, url: str, body: Mapping[str, Any], *, retry_stale: bool) -> Response:
        target = self._target(url)
        key = target.key
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {target.path} HTTP/1.1\r\nHost: {target.host}\r\n{self._headers}"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode("latin-1")
        slot = self._slots.setdefault(key, asyncio.Semaphore(self._max))
        async with slot:
            try:
                async with asyncio.timeout(self._timeout_s):
                    return await self._exchange(key, head + payload, retry_stale=retry_stale)
            except TimeoutError as exc:
                raise TransportFailure("ReadTimeout") from exc

    async def _exchange(
        self, key: tuple[str, str, int], request: bytes, *, retry_stale: bool
    ) -> Response:
        conn, reused = await self._checkout(key)
        try:
            conn.writer.write(request)
            try:
                status_line = await conn.reader.readuntil(b"\r\n")
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                if not (reused and retry_stale):
                    raise
                conn.writer.close()
                conn, reused = await self._connect(key), False
                conn.writer.write(request)
                status_line = await conn.reader.readuntil(b"\r\n")
            response, keep = await self._read_response(conn.reader, status_line)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            conn.writer.close()
            raise TransportFailure(type(e).__name__) from e
        except BaseException:
            conn.writer.close()
            raise
        if keep and not self._closed:
            conn.last_used = time.monotonic()
            self._idle.setdefault(key, []).append(conn)
        else:
            conn.writer.close()
        return response

    async def _checkout(self, key: tuple[str, str, int]) -> tuple[_Conn, bool]:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.last_used < self._idle_s and not conn.reader.at_eof():
                return conn, True
            conn.writer.close()
        return await self._connect(key), False

    async def _connect(self, key: tuple[str, str, int]) -> _Conn:
        _, hostname, port = key
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                reader, writer = await asyncio.open_connection(
                    hostname, port, limit=_MAX_HEADER_BYTES
                )
        except TimeoutError as exc:
            raise TransportFailure("ConnectTimeout") from exc
        except OSError as exc:
            raise TransportFailure("ConnectError") from exc
        return _Conn(reader, writer, time.monotonic())

    @staticmethod
    async def _read_response(
        reader: asyncio.StreamReader, status_line: bytes
    ) -> tuple[Response, bool]:
        version, _, rest = status_line.decode("latin-1").partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError("not an HTTP/1.x response")
        status = int(rest.split(" ", 1)[0])
        raw = await reader.readuntil(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in raw.decode("latin-1").split("\r\n"):
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if status in (204, 304) or 100 <= status < 200:
            return Response(status, headers, b""), keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    break
                total += size
                if total > _MAX_BODY_BYTES:
                    raise ValueError("response body too large")
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            return Response(status, headers, b"".join(chunks)), keep
        length = headers.get("content-length")
        if length is not None:
            n = int(length)
            if n < 0 or n > _MAX_BODY_BYTES:
                raise ValueError("bad Content-Length")
            return Response(status, headers, await reader.readexactly(n)), keep
        body = await reader.read(_MAX_BODY_BYTES)  # close-delimited
        return Response(status, headers, body), False
