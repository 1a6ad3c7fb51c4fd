"""Confirmation progress of a confirmed payout (``GET /v1/payouts/{id}``'s
``confirmations``/``confirmations_required``) on a real database and a real devnet."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine.conftest import add_payouts
from node.support import addr, free_port_url
from tron_devnet.testing import produce_blocks, run_devnet
from tronpay.db.session import write_transaction
from tronpay.engine import repository as repo
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.service import Confirmations, confirmation_progress
from tronpay.tron.node import NodeClient, TransactionInfo

TXID = "cd" * 32
BLOCK = 7
FAST = httpx.Timeout(2.0, connect=1.0)


async def _confirmed_in_block(sm: async_sessionmaker[AsyncSession], pid: str) -> None:
    now = utcnow()
    async with write_transaction(sm) as s:
        p = (await s.scalars(select(Payout).where(Payout.id == pid))).one()
        s.add(
            PayoutAttempt(
                id=new_id("pa"), payout_id=pid, txid=TXID, raw_data=b"raw",
                signature=b"s" * 65, expiration_ms=1, fee_limit=5_000_000,
                status="broadcast", created_at=now, updated_at=now,
            )
        )  # fmt: skip
        await repo.transition(
            s, p, repo.PayoutStatus.SUBMITTED, actor=repo.ENGINE_ACTOR, action="test.submit",
            now=now, txid=TXID, attempt_count=1,
        )  # fmt: skip
    info = TransactionInfo(
        txid=TXID, block_number=BLOCK, block_timestamp=1, fee_sun=1, receipt_result="SUCCESS",
        failed=False, res_message="", energy_usage_total=1, energy_fee_sun=1, net_usage=0,
        net_fee_sun=0, energy_penalty_total=0,
    )  # fmt: skip
    async with write_transaction(sm) as s:
        result = await repo.apply_receipt(s, info, now=utcnow(), lock=False)
    assert result.outcome == "confirmed"


async def _progress(sm: async_sessionmaker[AsyncSession], node: NodeClient, pid: str) -> object:
    async with write_transaction(sm) as s:
        payout = (await s.scalars(select(Payout).where(Payout.id == pid))).one()
        return await confirmation_progress(s, node, payout)


async def test_counts_blocks_from_the_payouts_block_to_the_head(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    (pid,) = await add_payouts(sessionmaker, [("USDT", addr(301), 1_000_000)])
    with run_devnet(block_time_s=0, solidify_depth=3) as devnet:
        async with NodeClient([devnet.url], timeout=FAST) as node:
            assert await _progress(sessionmaker, node, pid) is None  # queued: nothing to count
            await _confirmed_in_block(sessionmaker, pid)
            # A chain younger than its solidification lag tells nothing about the lag.
            assert await produce_blocks(devnet.url, 2) == 2
            assert await _progress(sessionmaker, node, pid) is None
            assert await produce_blocks(devnet.url, 6) == 8  # head 8, solidified 5
            assert await _progress(sessionmaker, node, pid) == Confirmations(count=2, required=4)
            await produce_blocks(devnet.url, 1)
            assert await _progress(sessionmaker, node, pid) == Confirmations(count=3, required=4)
            await produce_blocks(devnet.url, 10)  # solidified past it: never above required
            assert await _progress(sessionmaker, node, pid) == Confirmations(count=4, required=4)
    async with NodeClient([free_port_url()], timeout=FAST, backoff_base_s=0.01) as down:
        assert await _progress(sessionmaker, down, pid) is None  # no node answer: unknown
