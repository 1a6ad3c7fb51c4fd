"""The node client's direct HTTP/1.1 path against a raw socket server: Content-Length, chunked
and close-delimited answers, keep-alive reuse, a reused connection the server closed (a read is
retried once on a new connection, a broadcast is not: its outcome is UNKNOWN), a hang; and the
same answers read alike through the lean client and the httpx adapter."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tronpay.tron.node import BroadcastKind, NodeClient, NodeRejected, NodeUnavailable
from tronpay.tron.node._http import LeanHttp
from tronpay.tron.node._httpx import HttpxTransport

FAST = httpx.Timeout(1.0, connect=1.0)


@dataclass
class RawServer:
    """Answers each request with ``reply(path, body)`` (raw bytes). ``close_after`` closes a
    connection after that many answers on it, without telling the client."""

    reply: Callable[[str, bytes], bytes]
    close_after: int | None = None
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                body = await reader.readexactly(length)
                self.requests.append(path)
                answer = self.reply(path, body)
                if not answer:
                    return  # hang up without answering
                writer.write(answer)
                await writer.drain()
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    return
                if b"Connection: close" in answer.split(b"\r\n\r\n", 1)[0]:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


MakeServer = Callable[..., Awaitable[RawServer]]


@pytest.fixture
async def raw_server() -> AsyncIterator[MakeServer]:
    servers: list[asyncio.Server] = []

    async def make(
        reply: Callable[[str, bytes], bytes], close_after: int | None = None
    ) -> RawServer:
        state = RawServer(reply, close_after=close_after)
        server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        state.url = f"http://127.0.0.1:{port}"
        return state

    yield make
    for server in servers:
        server.close()
        await server.wait_closed()


def _json(status: int, data: object, *, chunked: bool = False, close: bool = False) -> bytes:
    body = json.dumps(data).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
    if close:
        head += "Connection: close\r\n"
    if chunked:
        mid = len(body) // 2
        parts = [body[:mid], body[mid:]]
        payload = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + payload
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


BLOCK = {
    "blockID": "00" * 8 + "11" * 24,
    "block_header": {"raw_data": {"number": 7, "timestamp": 1_000}},
}


async def test_content_length_chunked_and_keep_alive(raw_server: MakeServer) -> None:
    calls = 0

    def reply(path: str, body: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return _json(200, BLOCK, chunked=calls % 2 == 0)

    server = await raw_server(reply)
    async with NodeClient([server.url], timeout=FAST) as node:
        for _ in range(6):
            assert (await node.now_block()).number == 7
    assert server.requests == ["/wallet/getnowblock"] * 6
    assert server.connections == 1  # one kept-alive connection served every request


async def test_close_delimited_and_connection_close(raw_server: MakeServer) -> None:
    def reply(path: str, body: bytes) -> bytes:
        data = json.dumps(BLOCK).encode()
        return b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + data

    server = await raw_server(reply)
    async with NodeClient([server.url], timeout=FAST) as node:
        assert (await node.now_block()).number == 7
        assert (await node.now_block()).number == 7
    assert server.connections == 2  # HTTP/1.0 without length: never reused


async def test_stale_connection_retries_a_read_but_not_a_broadcast(
    raw_server: MakeServer,
) -> None:
    seen = 0

    def reply(path: str, body: bytes) -> bytes:
        nonlocal seen
        seen += 1
        if seen in (2, 4):
            return b""  # the kept-alive connection dies as the request arrives
        if path.endswith("broadcasthex"):
            return _json(200, {"result": True, "txid": "ab" * 32})
        return _json(200, BLOCK)

    server = await raw_server(reply)
    async with NodeClient([server.url], timeout=FAST, read_rounds=1) as node:
        assert (await node.now_block()).number == 7  # request 1, connection 1
        # request 2 dies on the reused connection; the read is retried on a new one (3)
        assert (await node.now_block()).number == 7
        assert server.connections == 2
        # request 4: a broadcast on the reused connection dies: UNKNOWN, never sent again
        out = await node.broadcast_hex(b"\x01\x02", "ab" * 32)
        assert out.kind is BroadcastKind.UNKNOWN
    assert server.requests == ["/wallet/getnowblock"] * 3 + ["/wallet/broadcasthex"]


async def test_hang_is_a_timeout_and_5xx_is_unavailable(
    raw_server: MakeServer,
) -> None:
    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()  # until the client gives up and closes
        finally:
            writer.close()

    hang = await asyncio.start_server(never, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{hang.sockets[0].getsockname()[1]}"
    try:
        async with NodeClient(
            [url], timeout=httpx.Timeout(0.3, connect=0.3), read_rounds=1
        ) as node:
            with pytest.raises(NodeUnavailable):
                await node.now_block()
            out = await node.broadcast_hex(b"\x01", "cd" * 32)
            assert out.kind is BroadcastKind.UNKNOWN
    finally:
        hang.close()
        await hang.wait_closed()
    server = await raw_server(lambda p, b: _json(503, {"Error": "busy"}))
    async with NodeClient([server.url], timeout=FAST, read_rounds=1) as node:
        with pytest.raises(NodeUnavailable):
            await node.now_block()


async def test_tls_urls_and_proxies_from_the_environment_stay_on_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timeout = httpx.Timeout(2.0)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with NodeClient(["http://127.0.0.1:1"], timeout=timeout) as plain:
        assert isinstance(plain._transport, LeanHttp)
    async with NodeClient(["https://node.example:443"], timeout=timeout) as tls:
        # certificate checks and routing are httpx's
        assert isinstance(tls._transport, HttpxTransport)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    async with NodeClient(["http://127.0.0.1:1"], timeout=timeout) as proxied:
        assert isinstance(proxied._transport, HttpxTransport)


@pytest.mark.parametrize("via", ["lean", "httpx"])
async def test_both_transports_share_status_retry_after_and_json_handling(
    raw_server: MakeServer, via: str
) -> None:
    """The lean client and the httpx adapter only move bytes: 429 + ``Retry-After``, an empty
    body, invalid JSON and a 404 mean the same through either."""
    answers = [
        b"HTTP/1.1 429 Too Many\r\nRetry-After: 0.4\r\nContent-Length: 0\r\n\r\n",
        _json(200, BLOCK),
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n \n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{nope",
        _json(404, {"Error": "no such path"}),
    ]

    def reply(path: str, body: bytes) -> bytes:
        return answers.pop(0)

    server = await raw_server(reply)
    inject = httpx.AsyncHTTPTransport() if via == "httpx" else None
    async with NodeClient(
        [server.url], timeout=FAST, transport=inject, read_rounds=2, backoff_base_s=0.01
    ) as node:
        assert isinstance(node._transport, HttpxTransport if via == "httpx" else LeanHttp)
        started = time.monotonic()
        assert (await node.now_block()).number == 7
        assert time.monotonic() - started >= 0.4  # waited as long as the node asked
        assert await node.block_by_number(3) is None  # empty body: {}
        out = await node.broadcast_hex(b"\x01", "ab" * 32)  # invalid JSON: unclear
        assert (out.kind, out.code) == (BroadcastKind.UNKNOWN, "invalid_json")
        with pytest.raises(NodeRejected, match="HTTP 404"):
            await node.now_block()
    assert answers == []
