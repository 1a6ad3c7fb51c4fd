"""Recipients that cannot receive (issue 13.2), against a live devnet over HTTP and a real
database: the engine fails such payouts before signing, and a broadcast the chain refuses
for a reason that holds for every attempt fails its payout (reservation released) instead of
being re-signed for ever. Rows are written directly, past the API's own refusals, as an
API-only replica without a node (or a row from an older version) leaves them."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine.conftest import add_payouts, make_harness, transfers_to, wait_for
from node.support import USDT_HEX, addr, ledger, signed_trx
from tron_devnet.testing import DevnetHandle
from tronpay.db.session import read_transaction, write_transaction
from tronpay.engine.repository import ENGINE_ACTOR
from tronpay.kit.clock import utcnow
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.states import PayoutStatus, transition
from tronpay.policy.config import AssetLimits, PolicyConfig
from tronpay.policy.models import PolicyReservation
from tronpay.policy.service import PolicyService
from tronpay.tron.address import ZERO_ADDRESS, from_hex, to_hex
from tronpay.tron.node import NodeClient
from tronpay.tron.transaction import decode_transaction

USDT = "USDT"
TRX = "TRX"
TOKEN = from_hex(USDT_HEX)  # the devnet's token contract, base58


async def test_recipients_that_cannot_receive_fail_before_signing(
    sessionmaker: async_sessionmaker[AsyncSession], live_devnet: DevnetHandle
) -> None:
    refused = {
        (TRX, TOKEN, 1_000_000): "destination_is_contract",  # the chain refuses it
        (USDT, TOKEN, 1_000_000): "destination_is_token_contract",  # accepted and lost
        (TRX, ZERO_ADDRESS, 1_000_000): "destination_is_zero_address",  # burned
        (USDT, ZERO_ADDRESS, 1_000_000): "destination_is_zero_address",
    }
    good = [(USDT, addr(701), 1_000_000), (TRX, addr(702), 2_000_000)]
    bad_ids = await add_payouts(sessionmaker, list(refused))
    good_ids = await add_payouts(sessionmaker, good)
    async with make_harness(sessionmaker, live_devnet.url) as h:
        await h.wait_statuses(good_ids, {"finalized"})
        failed = await h.wait_statuses(bad_ids, {"failed"})
        for pid, reason in zip(bad_ids, refused.values(), strict=True):
            assert failed[pid].failure_reason == reason
            assert await h.attempts(pid) == []
    book = await ledger(live_devnet.url)
    assert transfers_to(book, USDT_HEX) == []
    assert transfers_to(book, to_hex(ZERO_ADDRESS)) == []


async def test_a_deterministic_refusal_fails_the_payout_and_releases_its_reservation(
    sessionmaker: async_sessionmaker[AsyncSession], live_devnet: DevnetHandle
) -> None:
    """A TRX transfer to a contract signed before the engine knew better (an older version,
    or a recipient that became a contract): java-tron refuses it with CONTRACT_VALIDATE_ERROR
    'Cannot transfer TRX to a smartContract'. The payout fails with that reason once the
    attempt is proven dead, is never re-signed, and gives its policy reservation back."""
    amount = 3_000_000
    policy = PolicyService(PolicyConfig(limits={"TRX": AssetLimits(daily_total=5_000_000)}))
    (pid,) = await add_payouts(sessionmaker, [(TRX, TOKEN, amount)])
    async with NodeClient([live_devnet.url], timeout=httpx.Timeout(3.0)) as node:
        ref = await node.now_block()
    now_ms = int(time.time() * 1000)
    tx, txid = signed_trx(ref, TOKEN, amount, ts_ms=now_ms, expiration_ms=now_ms + 3_000)
    signed = decode_transaction(tx)
    now = utcnow()
    async with write_transaction(sessionmaker) as s:
        await policy.check_and_reserve(
            s, payout_id=pid, asset=TRX, destination=TOKEN, amount=amount, now=now
        )
        payout = (await s.scalars(select(Payout).where(Payout.id == pid))).one()
        s.add(
            PayoutAttempt(
                id="pa_to_contract",
                payout_id=pid,
                txid=txid,
                raw_data=signed.raw,
                signature=signed.signatures[0],
                expiration_ms=now_ms + 3_000,
                fee_limit=None,
                status="signed",
                created_at=now,
                updated_at=now,
            )
        )
        await transition(
            s,
            payout,
            PayoutStatus.SUBMITTED,
            actor=ENGINE_ACTOR,
            action="test.submit",
            now=now,
            txid=txid,
            attempt_count=1,
        )
    async with make_harness(sessionmaker, live_devnet.url, policy=policy) as h:
        failed = await h.wait_statuses([pid], {"failed"})
        attempts = await h.attempts(pid)
    reason = failed[pid].failure_reason or ""
    assert reason.startswith("rejected:CONTRACT_VALIDATE_ERROR:"), reason
    assert "Cannot transfer TRX to a smartContract" in reason
    assert [a.txid for a in attempts] == [txid]  # never re-signed
    assert attempts[0].status == "expired"
    async with read_transaction(sessionmaker) as s:
        reservation = await s.scalar(
            select(PolicyReservation).where(PolicyReservation.payout_id == pid)
        )
        assert reservation is not None
        assert reservation.released_at is not None
    # the rolling limit is free again: a payout of the whole amount fits
    async with write_transaction(sessionmaker) as s:
        decision = await policy.check_and_reserve(
            s, payout_id="po_next", asset=TRX, destination=addr(703), amount=5_000_000
        )
    assert decision.needs_approval is False


async def test_the_same_validation_refusal_twice_fails_the_payout(
    sessionmaker: async_sessionmaker[AsyncSession], live_devnet: DevnetHandle
) -> None:
    """A refusal the engine does not know as deterministic ends the payout the second time
    the chain refuses an attempt of it with exactly the same validation error."""
    (pid,) = await add_payouts(sessionmaker, [(TRX, addr(711), 1_000_000)])
    error = "dead:CONTRACT_VALIDATE_ERROR:some rule the chain will keep applying"
    async with NodeClient([live_devnet.url], timeout=httpx.Timeout(3.0)) as node:
        ref = await node.now_block()
    now_ms = int(time.time() * 1000)
    now = utcnow()
    rows = []
    for n, status in enumerate(("expired", "broadcast")):
        tx, txid = signed_trx(
            ref, addr(711), 1_000_000, ts_ms=now_ms - 1_000 + n, expiration_ms=now_ms
        )
        signed = decode_transaction(tx)
        rows.append((txid, status, signed.raw, signed.signatures[0]))
    async with write_transaction(sessionmaker) as s:
        payout = (await s.scalars(select(Payout).where(Payout.id == pid))).one()
        for n, (txid, status, raw, signature) in enumerate(rows):
            s.add(
                PayoutAttempt(
                    id=f"pa_twice_{n}",
                    payout_id=pid,
                    txid=txid,
                    raw_data=raw,
                    signature=signature,
                    expiration_ms=now_ms,
                    status=status,
                    error=error,
                    created_at=now,
                    updated_at=now,
                )
            )
            await s.flush()
        await transition(
            s,
            payout,
            PayoutStatus.SUBMITTED,
            actor=ENGINE_ACTOR,
            action="test.submit",
            now=now,
            txid=rows[1][0],
            attempt_count=2,
        )
    async with make_harness(sessionmaker, live_devnet.url) as h:

        async def settled() -> bool:
            return (await h.payouts())[pid].status != "submitted"

        await wait_for(settled, 40, what="the dead attempt's payout to settle")
        payout_now = (await h.payouts())[pid]
        attempts = await h.attempts(pid)
    assert payout_now.status == "failed"
    assert payout_now.failure_reason == (
        "rejected:CONTRACT_VALIDATE_ERROR:some rule the chain will keep applying"
    )
    assert len(attempts) == 2
