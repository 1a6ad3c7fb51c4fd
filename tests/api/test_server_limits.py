"""Server limits of ``tronpay serve`` on loopback: a bounded slowloris (connections that never
finish their headers) is cut off after the header timeout while ``/health`` keeps answering;
connections over the cap get a quick 503; ``/ready`` reuses its node result."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from tronpay.api.readiness import ReadinessRegistry
from tronpay.api.server import effective_connection_cap, uvicorn_config
from tronpay.app import create_app
from tronpay.config import Settings

SLOW_CONNECTIONS = 200
HEADER_TIMEOUT_S = 1.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _serve(tmp_path: Path, **limits: float) -> AsyncIterator[str]:
    settings = Settings(
        data_dir=tmp_path / "data",
        port=_free_port(),
        hot_wallet_address="TJRabPrwbZy45sbavfcjinPJC18kjpRTv8",
        log_level="warning",
        **limits,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[str]:
    async for url in _serve(tmp_path, http_header_timeout_s=HEADER_TIMEOUT_S):
        yield url


@pytest.fixture
async def capped(tmp_path: Path) -> AsyncIterator[str]:
    async for url in _serve(tmp_path, http_header_timeout_s=30.0, http_max_connections=20):
        yield url


async def _half_request(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: tronpay\r\nX-Slow: ")  # never finished
    await writer.drain()
    return reader, writer


async def _closed_by_server(reader: asyncio.StreamReader, timeout_s: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1024), timeout=timeout_s) == b""
    except (TimeoutError, ConnectionError):
        return False


async def test_slowloris_is_cut_off_and_health_keeps_answering(guarded: str) -> None:
    port = int(guarded.rsplit(":", 1)[1])
    started = time.monotonic()
    slow = [await _half_request(port) for _ in range(SLOW_CONNECTIONS)]
    try:
        async with httpx.AsyncClient(base_url=guarded, timeout=5) as http:
            for _ in range(3):
                began = time.monotonic()
                response = await http.get("/health")
                assert response.status_code == 200
                assert time.monotonic() - began < 1.0
        # Every half-sent request is closed by the server soon after the header timeout.
        closed = await asyncio.gather(
            *(_closed_by_server(r, HEADER_TIMEOUT_S + 4) for r, _ in slow)
        )
        assert all(closed)
        assert time.monotonic() - started < HEADER_TIMEOUT_S + 10
    finally:
        for _, writer in slow:
            writer.close()


async def test_keep_alive_requests_are_not_cut_off(guarded: str) -> None:
    """The timeout is per request: a connection that keeps sending whole requests lives on."""
    async with httpx.AsyncClient(base_url=guarded, timeout=5) as http:
        for _ in range(4):
            assert (await http.get("/health")).status_code == 200
            await asyncio.sleep(HEADER_TIMEOUT_S / 2)


async def test_over_the_cap_the_longest_waiting_slow_sender_makes_room(capped: str) -> None:
    port = int(capped.rsplit(":", 1)[1])
    slow = [await _half_request(port) for _ in range(40)]  # twice the cap
    try:
        async with httpx.AsyncClient(base_url=capped, timeout=5) as http:
            for _ in range(3):
                began = time.monotonic()
                assert (await http.get("/health")).status_code == 200
                assert time.monotonic() - began < 1.0
        closed = await asyncio.gather(*(_closed_by_server(r, 2.0) for r, _ in slow[:20]))
        assert all(closed)  # the oldest ones went first
    finally:
        for _, writer in slow:
            writer.close()


async def _busy_request(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Headers complete, body still coming: the server is answering this request."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /v1/payouts/quote HTTP/1.1\r\nHost: tronpay\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    await writer.drain()
    return reader, writer


async def test_when_every_connection_is_busy_a_new_one_gets_a_quick_503(capped: str) -> None:
    port = int(capped.rsplit(":", 1)[1])
    busy = [await _busy_request(port) for _ in range(20)]
    try:
        await asyncio.sleep(0.2)
        began = time.monotonic()
        async with httpx.AsyncClient(base_url=capped, timeout=5) as http:
            refused = await http.get("/health")
        assert refused.status_code == 503
        assert refused.headers["connection"] == "close"
        assert time.monotonic() - began < 1.0
    finally:
        for _, writer in busy:
            writer.close()
            await writer.wait_closed()
    await asyncio.sleep(0.2)
    async with httpx.AsyncClient(base_url=capped, timeout=5) as http:
        assert (await http.get("/health")).status_code == 200


async def test_endless_headers_get_a_431(guarded: str) -> None:
    port = int(guarded.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: tronpay\r\n")
        for index in range(100):  # 100 x 1 KiB headers, never a blank line
            writer.write(b"X-Pad-%d: %s\r\n" % (index, b"a" * 1000))
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=5)
        assert answer.startswith(b"HTTP/1.1 431 ")
    finally:
        writer.close()
    async with httpx.AsyncClient(base_url=guarded, timeout=5) as http:
        big_but_fine = {"X-Pad": "a" * 8000}
        assert (await http.get("/health", headers=big_but_fine)).status_code == 200
        body = "x" * 200_000  # a large body in the first packets is not header bytes
        response = await http.post("/v1/payouts/quote", content=body)
        assert response.status_code != 431


def test_the_cap_stays_below_the_descriptor_limit() -> None:
    resource = pytest.importorskip("resource")
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = effective_connection_cap(10**6)
    if soft != resource.RLIM_INFINITY:
        assert cap <= soft - 256
    assert effective_connection_cap(20) == 20


# -- /ready reuses the node part of its answer -----------------------------------------------


async def test_a_cached_check_runs_once_per_period_and_once_for_concurrent_calls() -> None:
    calls = 0
    gate = asyncio.Event()

    async def node() -> None:
        nonlocal calls
        calls += 1
        await gate.wait()

    registry = ReadinessRegistry(timeout_s=5)
    registry.register("node", node, cache_s=60)
    waiting = asyncio.gather(*(registry.run() for _ in range(10)))
    await asyncio.sleep(0.05)
    gate.set()
    results = await waiting
    assert calls == 1
    assert all(r[0].ok for r in results)
    await registry.run()
    assert calls == 1


async def test_a_hung_node_costs_one_timeout_per_period() -> None:
    calls = 0

    async def hung() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(3600)

    registry = ReadinessRegistry(timeout_s=0.2)
    registry.register("node", hung, cache_s=0.5)
    began = time.monotonic()
    first = await asyncio.gather(*(registry.run() for _ in range(5)))
    again = await registry.run()
    assert time.monotonic() - began < 1.0
    assert calls == 1
    assert {r[0].error for r in [*first, again]} == {"timeout"}
    await asyncio.sleep(0.6)
    await registry.run()
    assert calls == 2
