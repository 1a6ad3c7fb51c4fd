"""Receipt handling on a real database (SQLite and PostgreSQL): OUT_OF_ENERGY re-attempts
once with the higher margin, then fails; expiry re-queues; nothing is ever overwritten."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine.conftest import add_payouts
from node.support import addr
from tronpay.db.session import write_transaction
from tronpay.engine import repository as repo
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.tron.node import TransactionInfo


def _info(txid: str, result: str, *, failed: bool) -> TransactionInfo:
    return TransactionInfo(
        txid=txid,
        block_number=7,
        block_timestamp=1,
        fee_sun=4_000_000,
        receipt_result=result,
        failed=failed,
        res_message="",
        energy_usage_total=40_000,
        energy_fee_sun=4_000_000,
        net_usage=0,
        net_fee_sun=0,
        energy_penalty_total=0,
    )


async def _submit(sm: async_sessionmaker[AsyncSession], pid: str, txid: str) -> None:
    now = utcnow()
    async with write_transaction(sm) as s:
        p = (await s.scalars(select(Payout).where(Payout.id == pid))).one()
        s.add(
            PayoutAttempt(
                id=new_id("pa"),
                payout_id=pid,
                txid=txid,
                raw_data=b"raw",
                signature=b"s" * 65,
                expiration_ms=1,
                fee_limit=5_000_000,
                status="broadcast",
                created_at=now,
                updated_at=now,
            )
        )
        await repo.transition(
            s,
            p,
            repo.PayoutStatus.SUBMITTED,
            actor=repo.ENGINE_ACTOR,
            action="test.submit",
            now=now,
            txid=txid,
            attempt_count=p.attempt_count + 1,
        )


async def test_out_of_energy_requeues_once_then_fails(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    (pid,) = await add_payouts(sessionmaker, [("USDT", addr(300), 1_000_000)])
    await _submit(sessionmaker, pid, "aa" * 32)
    oue = _info("aa" * 32, "OUT_OF_ENERGY", failed=True)
    async with write_transaction(sessionmaker) as s:
        res = await repo.apply_receipt(s, oue, now=utcnow(), lock=False)
    # provisional (REVIEW-1): recorded on the attempt, the payout stays submitted
    assert res.outcome == "failure_recorded"
    async with write_transaction(sessionmaker) as s:
        assert (await s.get_one(Payout, pid)).status == "submitted"
        assert await repo.failures_up_to(s, 6) == []
        [pending] = await repo.failures_up_to(s, 7)
        assert (pending.payout_id, pending.receipt_result) == (pid, "OUT_OF_ENERGY")
        assert await repo.settle_failure(s, oue, now=utcnow(), lock=False) == "requeued"
    async with write_transaction(sessionmaker) as s:
        claimed = await repo.claim_queued(
            s, limit=10, blocked_before=utcnow() + timedelta(seconds=1), skip_locked=False
        )
    assert [(c.id, c.retry_out_of_energy) for c in claimed] == [(pid, True)]
    await _submit(sessionmaker, pid, "bb" * 32)
    async with write_transaction(sessionmaker) as s:
        res = await repo.apply_receipt(
            s, _info("bb" * 32, "OUT_OF_ENERGY", failed=True), now=utcnow(), lock=False
        )
        # the same receipt again (another engine, a replayed block) changes nothing
        again = await repo.apply_receipt(
            s, _info("bb" * 32, "OUT_OF_ENERGY", failed=True), now=utcnow(), lock=False
        )
        settled = await repo.settle_failure(
            s, _info("bb" * 32, "OUT_OF_ENERGY", failed=True), now=utcnow(), lock=False
        )
        settled_again = await repo.settle_failure(
            s, _info("bb" * 32, "OUT_OF_ENERGY", failed=True), now=utcnow(), lock=False
        )
    assert res.outcome == "failure_recorded"
    assert again.outcome == "ignored"
    assert (settled, settled_again) == ("failed", "ignored")
    async with write_transaction(sessionmaker) as s:
        p = (await s.scalars(select(Payout).where(Payout.id == pid))).one()
        attempts = (
            await s.scalars(select(PayoutAttempt).where(PayoutAttempt.payout_id == pid))
        ).all()
    assert p.status == "failed"
    assert p.failure_reason == "chain:OUT_OF_ENERGY"
    assert sorted(a.status for a in attempts) == ["failed", "failed"]
    assert all(a.fee_paid == 4_000_000 for a in attempts)


async def test_expired_attempt_requeues_and_bug_attempt_fails(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    p1, p2 = await add_payouts(
        sessionmaker, [("TRX", addr(301), 1_000_000), ("TRX", addr(302), 1_000_000)]
    )
    await _submit(sessionmaker, p1, "cc" * 32)
    await _submit(sessionmaker, p2, "dd" * 32)
    async with write_transaction(sessionmaker) as s:
        await repo.note_attempt_errors(s, {"dd" * 32: "bug:SIGERROR:bad"}, now=utcnow())
    async with write_transaction(sessionmaker) as s:
        assert await repo.expire_attempt(s, "cc" * 32, now=utcnow(), lock=False) == "requeued"
        assert await repo.expire_attempt(s, "dd" * 32, now=utcnow(), lock=False) == "failed"
        assert await repo.expire_attempt(s, "cc" * 32, now=utcnow(), lock=False) == "ignored"
    async with write_transaction(sessionmaker) as s:
        rows = {p.id: p for p in (await s.scalars(select(Payout))).all()}
    assert rows[p1].status == "queued"
    assert rows[p2].status == "failed"
    assert rows[p2].failure_reason == "engine:bug:SIGERROR:bad"


async def test_success_confirms_and_reserved_counts_live_attempts(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    (pid,) = await add_payouts(sessionmaker, [("USDT", addr(303), 2_000_000)])
    await _submit(sessionmaker, pid, "ee" * 32)
    async with write_transaction(sessionmaker) as s:
        reserved = await repo.reserved_by_live_attempts(s)
    assert (reserved.token_units, reserved.fee_limit_sun, reserved.tx_count) == (
        2_000_000,
        5_000_000,
        1,
    )
    async with write_transaction(sessionmaker) as s:
        res = await repo.apply_receipt(
            s, _info("ee" * 32, "SUCCESS", failed=False), now=utcnow(), lock=False
        )
        reserved = await repo.reserved_by_live_attempts(s)
    assert res.outcome == "confirmed"
    assert reserved.tx_count == 0
