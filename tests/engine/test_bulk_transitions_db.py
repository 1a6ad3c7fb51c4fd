"""``payouts.states.transition_many`` on a real database (SQLite and PostgreSQL): the table is
enforced, a stale version is skipped, and every moved payout gets exactly one audit entry and
one outbox event with the same snapshots ``transition`` would write."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine.conftest import add_payouts
from node.support import addr
from tronpay.audit import verify_chain
from tronpay.audit.models import AuditEntry
from tronpay.db.session import read_transaction, write_transaction
from tronpay.engine import repository as repo
from tronpay.kit.clock import utcnow
from tronpay.payouts.events import payout_snapshot, row_snapshot
from tronpay.payouts.models import Payout
from tronpay.payouts.states import (
    BulkChange,
    InvalidTransition,
    PayoutStatus,
    transition_many,
)
from tronpay.webhooks.models import OutboxEvent

USDT = "USDT"


async def _payouts(sm: async_sessionmaker[AsyncSession], ids: list[str]) -> dict[str, Payout]:
    async with read_transaction(sm) as s:
        rows = (await s.scalars(select(Payout).where(Payout.id.in_(ids)))).all()
        s.expunge_all()
        return {p.id: p for p in rows}


async def test_bulk_transition_writes_one_audit_entry_and_event_per_payout(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await add_payouts(sessionmaker, [(USDT, addr(700 + i), 1_000 + i) for i in range(5)])
    before = await _payouts(sessionmaker, ids)
    stale = ids[4]
    now = utcnow()
    async with write_transaction(sessionmaker) as s:
        result = await transition_many(
            s,
            [
                BulkChange(
                    pid,
                    before[pid].version + (1 if pid == stale else 0),  # stale: skipped
                    {"txid": f"{i:064x}", "fee_limit": 7_000 + i, "attempt_count": 1},
                )
                for i, pid in enumerate(ids)
            ],
            PayoutStatus.SUBMITTED,
            actor=repo.ENGINE_ACTOR,
            action="payout.submit",
            now=now,
            lock=s.get_bind().dialect.name == "postgresql",
            only_from=frozenset({PayoutStatus.QUEUED}),
        )
    assert set(result.changed) == set(ids[:4])
    assert result.skipped == (stale,)
    after = await _payouts(sessionmaker, ids)
    for i, pid in enumerate(ids[:4]):
        p = after[pid]
        assert p.status == "submitted"
        assert p.txid == f"{i:064x}"
        assert p.fee_limit == 7_000 + i
        assert p.attempt_count == 1
        assert p.version == before[pid].version + 1
    assert after[stale].status == "queued"
    assert after[stale].version == before[stale].version
    async with read_transaction(sessionmaker) as s:
        entries = {
            e.entity_id: (e.before, e.after)
            for e in (
                await s.scalars(select(AuditEntry).where(AuditEntry.action == "payout.submit"))
            ).all()
        }
        events = {
            e.entity_id: e.payload["data"]
            for e in (
                await s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "payout.submitted"))
            ).all()
        }
        n_entries = await s.scalar(select(func.count()).where(AuditEntry.action == "payout.submit"))
        n_events = await s.scalar(
            select(func.count()).where(OutboxEvent.topic == "payout.submitted")
        )
        assert (await verify_chain(s)).ok
    assert (n_entries, n_events) == (4, 4)
    assert sorted(entries) == sorted(events) == sorted(ids[:4])
    for pid in ids[:4]:
        # the same snapshots the one-by-one ``transition`` writes
        assert entries[pid] == (payout_snapshot(before[pid]), payout_snapshot(after[pid]))
        assert events[pid] == payout_snapshot(after[pid])


async def test_bulk_transition_refuses_an_invalid_move_and_writes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await add_payouts(sessionmaker, [(USDT, addr(720 + i), 5_000) for i in range(2)])
    now = utcnow()
    with pytest.raises(InvalidTransition):
        async with write_transaction(sessionmaker) as s:
            await transition_many(
                s,
                [BulkChange(pid) for pid in ids],
                PayoutStatus.FINALIZED,  # queued -> finalized is not in the table
                actor=repo.ENGINE_ACTOR,
                action="payout.finalize",
                now=now,
                lock=False,
            )
    after = await _payouts(sessionmaker, ids)
    assert {p.status for p in after.values()} == {"queued"}
    async with read_transaction(sessionmaker) as s:
        n = await s.scalar(select(func.count()).where(AuditEntry.action == "payout.finalize"))
    assert n == 0
    with pytest.raises(AttributeError):
        async with write_transaction(sessionmaker) as s:
            await transition_many(
                s,
                [BulkChange(ids[0], changes={"no_such_column": 1})],
                PayoutStatus.CANCELLED,
                actor=repo.ENGINE_ACTOR,
                action="payout.cancel",
                now=now,
                lock=False,
            )


async def test_row_snapshot_matches_payout_snapshot(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    (pid,) = await add_payouts(sessionmaker, [(USDT, addr(730), 123_456_789)])
    async with read_transaction(sessionmaker) as s:
        p = (await s.scalars(select(Payout).where(Payout.id == pid))).one()
        row = (
            (await s.execute(select(Payout.__table__).where(Payout.__table__.c.id == pid)))
            .mappings()
            .one()
        )
        assert row_snapshot(row) == payout_snapshot(p)


async def test_bulk_finalize_moves_only_confirmed(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await add_payouts(sessionmaker, [(USDT, addr(740 + i), 9_000) for i in range(3)])
    now = utcnow()
    async with write_transaction(sessionmaker) as s:
        n = await repo.finalize_many(s, ids, now=now, lock=False)  # all queued: none moves
    assert n == 0
    assert {p.status for p in (await _payouts(sessionmaker, ids)).values()} == {"queued"}
