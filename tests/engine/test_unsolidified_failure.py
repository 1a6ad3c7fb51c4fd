"""Red-team review: a failed receipt is acted on before its block is solidified.

``engine/repository.py::apply_receipt`` (now ``engine/repository/receipts.py``) turned a
non-SUCCESS receipt read from the block follower (``/wallet/gettransactioninfobyblocknum``,
head, NOT solidified) into a terminal ``failed`` payout at once, released its policy
reservation, and ``POST /v1/payouts/{id}/retry`` then let the engine sign a NEW transaction
while the block that holds the first one can still be orphaned. On a reorg the first
transaction may be re-executed on the winning fork against different state (e.g. the recipient
became a USDT holder meanwhile, so it no longer runs out of energy; a transient REVERT no
longer reverts) and succeed: two transfers for one payout. The same holds for the OUT_OF_ENERGY
re-attempt (``payout.requeue_out_of_energy``).

Real parts: a devnet over real HTTP whose solidified head stays far behind, SQLite and
PostgreSQL, the real engine, the real retry use case and policy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine.conftest import make_harness, wait_for
from node.support import DEMO_KEY, addr, set_faults
from tron_devnet.testing import DevnetHandle, run_devnet
from tronpay.db.session import write_transaction
from tronpay.kit.clock import utcnow
from tronpay.payouts.schemas import PayoutCreate
from tronpay.payouts.service import PayoutContext, create_payout, retry_payout
from tronpay.payouts.states import Actor
from tronpay.payouts.writer import PayoutWriter
from tronpay.policy.config import PolicyConfig
from tronpay.policy.service import PolicyService
from tronpay.tron.node import NodeClient

USDT = "USDT"


@pytest.fixture
def slow_solid_devnet() -> Iterator[DevnetHandle]:
    """Blocks every 0.3 s, but the solidified head trails the head by 500 blocks (2.5 min)."""
    with run_devnet(block_time_s=0.3, solidify_depth=500, block_interval_ms=300) as handle:
        yield handle


async def test_failure_is_not_final_before_its_block_solidifies(
    sessionmaker: async_sessionmaker[AsyncSession], slow_solid_devnet: DevnetHandle
) -> None:
    url = slow_solid_devnet.url
    await set_faults(url, [{"path": "/wallet/broadcasthex", "mode": "revert_next", "count": 1}])
    policy = PolicyService(PolicyConfig())
    async with make_harness(sessionmaker, url, policy=policy) as h:
        ctx = PayoutContext(policy=policy, hot_wallet_address=DEMO_KEY.address)
        data = PayoutCreate(to=addr(171), asset=USDT, amount="1")
        writer = PayoutWriter(sessionmaker, policy)  # not started: the create commits on its own
        created = await create_payout(ctx, writer, data, actor=Actor("alice"), key="unsolid-1")
        assert created.status == 201
        assert created.body is not None
        pid = created.body["id"]

        async def receipt_recorded() -> bool:
            return [a.status for a in await h.attempts(pid)] == ["failed"]

        await wait_for(receipt_recorded, 30, what="the failed receipt")
        await asyncio.sleep(1.0)  # let the engine act on it
        [first] = (await h.attempts(pid))[:1]
        assert first.block_number is not None
        async with NodeClient([url], timeout=httpx.Timeout(2.0)) as node:
            solid = (await node.node_info()).solid_number
        assert first.block_number > solid  # precondition: the failing block is not final
        payout = (await h.payouts())[pid]
        if payout.status != "failed":
            return  # fixed: the payout waits for the failure to solidify
        # Today: "failed" at once; the operator retries, as the API invites, and the engine
        # signs and sends a second, different transaction while the first block can still
        # be orphaned.
        async with write_transaction(sessionmaker) as s:
            await retry_payout(s, ctx, pid, actor=Actor(principal="ops"), now=utcnow())

        async def second_attempt() -> bool:
            return len(await h.attempts(pid)) >= 2

        await wait_for(second_attempt, 30, what="a second attempt")
        second = (await h.attempts(pid))[1]
        pytest.fail(
            f"payout failed on an unsolidified receipt (block {first.block_number} > solid "
            f"{solid}); retry signed a second transaction {second.txid} ({second.status})"
        )
