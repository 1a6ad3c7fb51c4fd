"""Run a devnet inside a test process, over real HTTP.

    with run_devnet(block_time_s=0) as devnet:
        httpx.get(f"{devnet.url}/wallet/getnodeinfo")
        await produce_blocks(devnet.url, 20)
        devnet.inspect(lambda chain: chain.head_number)

The server runs uvicorn (httptools, uvloop) on a free 127.0.0.1 port in a background thread
with its own event loop. ``handle.chain`` is the live chain object (for quick reads);
``handle.inspect(fn)`` runs ``fn(chain)`` on the server's loop, which is the safe way to read
or change the chain while requests are being served.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import uvicorn
import uvloop
from starlette.applications import Starlette

from tron_devnet.admin import DevnetRuntime
from tron_devnet.core.chain import Chain, ChainConfig, GenesisAccount
from tron_devnet.faults import FaultPlan
from tron_devnet.genesis import Genesis, default_genesis
from tron_devnet.server import create_app, runtime_of

T = TypeVar("T")

START_TIMEOUT_S = 15.0


class DevnetHandle:
    """A running in-process devnet."""

    def __init__(self, app: Starlette, server: uvicorn.Server, sock: socket.socket) -> None:
        self.app = app
        self._server = server
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._serve, name="tron-devnet", daemon=True)
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return f"DevnetHandle(url={self.url!r})"

    @property
    def runtime(self) -> DevnetRuntime:
        return runtime_of(self.app)

    @property
    def chain(self) -> Chain:
        return self.runtime.chain

    def _serve(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            await self._server.serve(sockets=[self._sock])

        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(main())
        except BaseException as exc:  # surfaced by start()/stop()
            self._error = exc

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"devnet failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("devnet did not start in time")
            time.sleep(0.01)

    def inspect(self, fn: Callable[[Chain], T], timeout: float = 10.0) -> T:
        """Run ``fn(chain)`` on the server's event loop, holding the chain lock."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("devnet is not running")
        runtime = self.runtime

        async def job() -> T:
            async with runtime.lock:
                return fn(runtime.chain)

        return asyncio.run_coroutine_threadsafe(job(), loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def run_devnet(
    *,
    block_time_s: float = 0.0,
    genesis: Genesis | None = None,
    accounts: list[GenesisAccount] | None = None,
    config: ChainConfig | None = None,
    faults: FaultPlan | None = None,
    chain: Chain | None = None,
    now_ms: Callable[[], int] | None = None,
    **config_overrides: Any,
) -> Iterator[DevnetHandle]:
    """Start a devnet on a free 127.0.0.1 port; stop it on exit.

    ``accounts`` replaces the default genesis (the demo hot wallet); ``config`` and
    ``config_overrides`` (any ChainConfig field, e.g. ``solidify_depth=2``) tune the chain.
    With ``block_time_s > 0`` the block timestamp step defaults to the timer period. Blocks
    produced on demand advance chain time by ``block_interval_ms`` each (3 s by default), so a
    burst of blocks runs ahead of the wall clock: clients that set ``expiration`` from the wall
    clock may want a small ``block_interval_ms``.
    """
    base = genesis or default_genesis(config)
    if block_time_s > 0 and config is None and "block_interval_ms" not in config_overrides:
        # block timestamps follow the timer, as with the CLI's --block-time
        config_overrides["block_interval_ms"] = max(1, round(block_time_s * 1000))
    cfg = dataclasses.replace(config or base.config, **config_overrides)
    genesis_accounts = list(accounts) if accounts is not None else list(base.accounts)

    def make_chain() -> Chain:
        if now_ms is not None:
            return Chain(cfg, genesis_accounts, now_ms=now_ms)
        return Chain(cfg, genesis_accounts)

    app = create_app(
        chain if chain is not None else make_chain(),
        block_time_s=block_time_s,
        faults=faults,
        reset_factory=make_chain,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            access_log=False,
            log_level="warning",
            lifespan="on",
            http="httptools",
            timeout_graceful_shutdown=2,
        )
    )
    handle = DevnetHandle(app, server, _free_socket())
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


async def produce_blocks(url: str, n: int = 1, *, client: httpx.AsyncClient | None = None) -> int:
    """Produce ``n`` blocks now through ``POST /admin/blocks``; returns the new head number."""
    if client is None:
        async with httpx.AsyncClient(timeout=30.0) as own:
            return await produce_blocks(url, n, client=own)
    response = await client.post(f"{url.rstrip('/')}/admin/blocks", json={"count": n})
    response.raise_for_status()
    head: int = response.json()["head"]
    return head


def produce_blocks_sync(url: str, n: int = 1) -> int:
    response = httpx.post(f"{url.rstrip('/')}/admin/blocks", json={"count": n}, timeout=30.0)
    response.raise_for_status()
    head: int = response.json()["head"]
    return head


async def mint(url: str, address: str, *, trx_sun: int = 0, usdt_units: int = 0) -> None:
    """Credit an address through ``POST /admin/mint``."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        response = await client.post(
            f"{url.rstrip('/')}/admin/mint",
            json={"address": address, "trx_sun": trx_sun, "usdt_units": usdt_units},
        )
        response.raise_for_status()
