"""Red-team review: the dead-attempt proof mixes answers from different backends.

``engine/sweeper.py::Sweeper.step`` takes the solidified head's timestamp from whichever
backend answered ``/wallet/getnodeinfo`` + ``/wallet/getblockbynum`` and the "unknown" verdicts
from ``NodeClient.txid_presence`` (``tron/node/_client.py::_presence_on``) without tying them
to the height of the backend that gave them. Behind one configured URL that balances over several
full nodes (TronGrid-style), a backend that is minutes behind answers the three txid lookups
"unknown" while another backend reports a solidified head far past the expiration: the attempt
is declared dead although it is ON CHAIN, the payout is re-queued, re-signed and paid twice.
The follower has the same blind spot: a lagging backend's empty
``gettransactioninfobyblocknum`` is taken as "nothing of ours in this block".

Real parts: two devnets over real HTTP (the chain that includes the transfer, and a backend
that is behind: it never saw it), the real engine on SQLite and PostgreSQL. The routing
transport below only forwards each request over real HTTP to one of the two; it pins the
unlucky distribution a load balancer can produce by path, so the run is deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine.conftest import FAST_CONFIG, Harness, add_payouts, transfers_to, wait_for
from node.support import DEMO_KEY, USDT_HEX, addr, ledger
from tron_devnet.testing import DevnetHandle, run_devnet
from tronpay.engine.context import EngineContext
from tronpay.engine.planner import Planner
from tronpay.engine.worker import Engine
from tronpay.signer.local import LocalSigner
from tronpay.tron.address import to_hex
from tronpay.tron.node import NodeClient

USDT = "USDT"
# What the lagging backend answers: txid lookups and per-block receipts.
LAGGING_PATHS = frozenset(
    {
        "/wallet/gettransactionbyid",
        "/wallet/gettransactioninfobyid",
        "/walletsolidity/gettransactioninfobyid",
        "/wallet/gettransactioninfobyblocknum",
    }
)


class BalancedBackends(httpx.AsyncBaseTransport):
    """One node URL in front of two real backends, forwarding over real HTTP."""

    def __init__(self, current: str, lagging: str) -> None:
        self._current = current
        self._lagging = lagging
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(5.0))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        base = self._lagging if request.url.path in LAGGING_PATHS else self._current
        body = await request.aread()
        upstream = await self._client.post(
            base + request.url.path,
            content=body,
            headers={"Content-Type": "application/json"},
        )
        return httpx.Response(upstream.status_code, content=upstream.content)

    async def aclose(self) -> None:
        await self._client.aclose()


@pytest.fixture
def two_backends() -> Iterator[tuple[DevnetHandle, DevnetHandle]]:
    with (
        run_devnet(block_time_s=0.3, solidify_depth=2, block_interval_ms=300) as current,
        run_devnet(block_time_s=0.0) as lagging,
    ):
        yield current, lagging


async def test_lagging_backend_cannot_prove_an_included_attempt_dead(
    sessionmaker: async_sessionmaker[AsyncSession],
    two_backends: tuple[DevnetHandle, DevnetHandle],
) -> None:
    current, lagging = two_backends
    transport = BalancedBackends(current.url, lagging.url)
    node = NodeClient(
        ["http://tron-lb.internal"],
        timeout=httpx.Timeout(2.0, connect=1.0),
        transport=transport,
        backoff_base_s=0.05,
        cooldown_s=0.5,
    )
    signer = LocalSigner(DEMO_KEY)
    planner = Planner(
        node, hot_wallet=signer.address, token_contract=USDT_HEX, policy=FAST_CONFIG.fee_policy()
    )
    ctx = EngineContext(
        sessionmaker=sessionmaker,
        node=node,
        planner=planner,
        signer=signer,
        token_contract=USDT_HEX,
        config=FAST_CONFIG,
        postgres=sessionmaker.kw["bind"].dialect.name == "postgresql",
    )
    h = Harness(sessionmaker, current.url, ctx, Engine(ctx), asyncio.Event())
    to = addr(172)
    h.start()
    try:
        [pid] = await add_payouts(sessionmaker, [(USDT, to, 2_000_000)])

        async def paid_twice() -> bool:
            moves = transfers_to(await ledger(current.url), to_hex(to))
            return len(moves) >= 2

        # Give the sweeper (expiration 5 s + margin 1 s, solid depth 0.6 s) time to act.
        with contextlib.suppress(AssertionError):
            await wait_for(paid_twice, 20, what="a second transfer")
        await wait_for(
            lambda: _count_transfers(current.url, to, at_least=1), 10, what="first transfer"
        )
    finally:
        await h.halt()
        await node.aclose()
        await transport.aclose()
    moves = transfers_to(await ledger(current.url), to_hex(to))
    attempts = await h.attempts(pid)
    successes = [m for m in moves if m["result"] == "SUCCESS"]
    assert len(successes) == 1, f"{len(successes)} transfers for one payout; attempts: " + str(
        [(a.status, a.txid[:8]) for a in attempts]
    )


async def _count_transfers(url: str, to: str, *, at_least: int) -> bool:
    return len(transfers_to(await ledger(url), to_hex(to))) >= at_least
