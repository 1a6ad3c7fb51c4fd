"""Failure isolation (issue 13.1): an error that belongs to one payout fails or blocks that
payout with a reason and every other payout of the round is still paid; an error the engine
cannot get past is reported once (``engine.stalled``) and by ``EngineHealth``, not retried
in silence. Real devnet over HTTP, real SQLite and PostgreSQL; the bad rows are written
directly with the repository, past the API's validation, as a stored row from an older
version or a bug elsewhere would be."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from engine.conftest import Harness, add_payouts, make_harness, transfers_to
from node.support import addr, ledger
from tron_devnet.testing import DevnetHandle
from tronpay.engine.config import EngineConfig
from tronpay.engine.health import EngineHealth
from tronpay.tron.address import to_hex

USDT = "USDT"
TRX = "TRX"
# 257 two-byte characters: 257 characters, 514 UTF-8 bytes (the builder takes 512 bytes)
LONG_MEMO = "é" * 257


async def test_an_unencodable_memo_fails_its_payout_and_the_rest_finalize(
    harness: Harness, live_devnet: DevnetHandle
) -> None:
    good = [(USDT, addr(601), 1_000_000), (TRX, addr(602), 2_000_000), (USDT, addr(603), 3)]
    bad = [(USDT, addr(604), 4_000_000), (TRX, addr(605), 5_000_000)]
    sessionmaker = harness.sessionmaker
    # the bad ones first: they are claimed (oldest first) in the same round as the good ones
    bad_ids = await add_payouts(sessionmaker, bad, memo=LONG_MEMO)
    good_ids = await add_payouts(sessionmaker, good, memo="fine")
    done = await harness.wait_statuses(good_ids, {"finalized"})
    failed = await harness.wait_statuses(bad_ids, {"failed"})
    for pid in bad_ids:
        reason = failed[pid].failure_reason or ""
        assert reason.startswith("unbuildable:EncodeError"), reason
        assert "512 bytes" in reason
        assert failed[pid].blocked_reason is None
        assert await harness.attempts(pid) == []
    book = await ledger(live_devnet.url)
    for pid, (_, to, amount) in zip(good_ids, good, strict=True):
        moves = [t for t in transfers_to(book, to_hex(to)) if t["result"] == "SUCCESS"]
        assert [m["amount"] for m in moves] == [amount]
        assert moves[0]["txid"] == done[pid].txid
    for _, to, _ in bad:
        assert transfers_to(book, to_hex(to)) == []
    assert harness.engine.health.stalled() is None


async def test_a_payout_that_breaks_planning_is_isolated(
    harness: Harness, live_devnet: DevnetHandle
) -> None:
    """A destination no builder can encode (stored past validation) makes planning the
    round raise; the round is planned one payout at a time and only that payout fails."""
    good = [(USDT, addr(611), 1_500_000), (TRX, addr(612), 2_500_000)]
    bad_ids = await add_payouts(harness.sessionmaker, [(USDT, "Tnot-an-address", 1_000_000)])
    good_ids = await add_payouts(harness.sessionmaker, good)
    await harness.wait_statuses(good_ids, {"finalized"})
    failed = await harness.wait_statuses(bad_ids, {"failed"})
    reason = failed[bad_ids[0]].failure_reason or ""
    assert reason.startswith("invalid_payout:"), reason
    book = await ledger(live_devnet.url)
    for _, to, amount in good:
        moves = [t for t in transfers_to(book, to_hex(to)) if t["result"] == "SUCCESS"]
        assert [m["amount"] for m in moves] == [amount]


@pytest.mark.parametrize("batch_size", [1, 50])
async def test_an_engine_wide_error_is_reported_once_as_a_stall(
    sessionmaker: async_sessionmaker[AsyncSession], live_devnet: DevnetHandle, batch_size: int
) -> None:
    """When every payout of a round makes planning fail (here: the hot wallet's address is
    not one the node client accepts, the engine's fault and not theirs), nothing is failed,
    also when a round holds a single payout: the error reaches the step guard, which logs
    ``engine.stalled`` once."""
    config = EngineConfig(
        batch_size=batch_size,
        tick_s=0.05,
        stall_after_s=0.5,
        node_timeout_s=2.0,
        blocked_retry_s=0.1,
    )
    async with make_harness(sessionmaker, live_devnet.url, config=config) as h:
        await h.halt()
        h.ctx.planner.hot_wallet = "Tbroken"  # every plan now raises
        ids = await add_payouts(
            sessionmaker, [(USDT, addr(621), 1), (USDT, addr(622), 2), (TRX, addr(623), 3)]
        )
        with capture_logs() as logs:
            h.start()
            for _ in range(200):
                if any(e["event"] == "engine.stalled" for e in logs):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # more failures: still one line
            await h.halt()
        stall = h.engine.health.stalled()
        assert stall is not None
        assert stall.step == "submit"
        stalls = [e for e in logs if e["event"] == "engine.stalled"]
        assert len(stalls) == 1
        assert stalls[0]["step"] == "submit"
        payouts = await h.payouts()
        assert {payouts[i].status for i in ids} == {"queued"}
        assert {payouts[i].failure_reason for i in ids} == {None}
        assert {payouts[i].blocked_reason for i in ids} == {None}


def test_health_reports_a_stall_once_and_a_recovery() -> None:
    now = [0.0]
    health = EngineHealth(stall_after_s=10.0, clock=lambda: now[0])
    health.started("submit")
    assert health.failed("submit", "EncodeError") is None  # failing, not yet stalled
    now[0] = 5.0
    assert health.failed("submit", "EncodeError") is None
    assert health.stalled() is None
    now[0] = 11.0
    stall = health.failed("submit", "EncodeError")
    assert stall is not None
    assert (stall.step, stall.error, stall.failures) == ("submit", "EncodeError", 3)
    assert "submit" in stall.describe()
    now[0] = 12.0
    assert health.failed("submit", "EncodeError") is None  # reported once
    assert health.stalled() is not None
    assert health.succeeded("submit") is True  # it was reported: log the recovery
    assert health.stalled() is None
    assert health.succeeded("submit") is False
    # a run that does not return is a stall too
    health.started("follow")
    now[0] = 30.0
    hung = health.stalled()
    assert hung is not None
    assert (hung.step, hung.error) == ("follow", "running")
    assert [s.step for s in health.newly_hung()] == ["follow"]
    assert health.newly_hung() == []  # once
