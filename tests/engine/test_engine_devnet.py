"""The engine end to end against a live devnet over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine.conftest import Harness, add_payouts, make_harness, transfers_to, wait_for
from node.support import (
    DEMO_HEX,
    DEMO_KEY,
    addr,
    blacklist,
    clear_faults,
    free_port_url,
    ledger,
    set_faults,
    signed_usdt,
)
from tron_devnet.core.chain import GenesisAccount
from tron_devnet.testing import DevnetHandle, mint, run_devnet
from tronpay.db.session import read_transaction, write_transaction
from tronpay.engine.planner import percent
from tronpay.engine.reconcile import check_transfer, reconcile
from tronpay.engine.repository import ENGINE_ACTOR, apply_receipt
from tronpay.engine.repository.finality import finalized_since
from tronpay.kit.clock import utcnow
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.schemas import PayoutCreate
from tronpay.payouts.service import PayoutContext, create_payout
from tronpay.payouts.states import (
    ATTEMPT_TRANSITIONS,
    Actor,
    AttemptStatus,
    PayoutStatus,
    transition,
)
from tronpay.payouts.writer import PayoutWriter
from tronpay.policy.config import PolicyConfig
from tronpay.policy.service import PolicyService
from tronpay.signer.local import LocalSigner
from tronpay.tron.address import to_hex
from tronpay.tron.node import NodeClient, TransactionInfo
from tronpay.tron.transaction import decode_transaction
from tronpay.webhooks.models import OutboxEvent

USDT = "USDT"
TRX = "TRX"


async def test_happy_path_usdt_and_trx(harness: Harness, live_devnet: DevnetHandle) -> None:
    existing = addr(101)
    await mint(live_devnet.url, existing, usdt_units=1)
    plan = [
        (USDT, addr(100), 10_000_000),  # new holder
        (USDT, existing, 2_500_001),  # existing holder
        (TRX, addr(102), 3_000_000),  # new account
        (TRX, DEMO_HEX and addr(103), 1_000_000),
    ]
    await mint(live_devnet.url, addr(103), trx_sun=1)  # existing account
    ids = await harness.add(plan)
    done = await harness.wait_statuses(ids, {"finalized"})
    book = await ledger(live_devnet.url)
    for pid, (asset, to, amount) in zip(ids, plan, strict=True):
        p = done[pid]
        moves = [t for t in transfers_to(book, to_hex(to)) if t["result"] == "SUCCESS"]
        if to == existing:
            moves = [t for t in moves if t["from"] == DEMO_HEX]
        assert len(moves) == 1, (asset, moves)
        assert moves[0]["amount"] == amount
        assert moves[0]["asset"] == asset
        assert moves[0]["txid"] == p.txid
        attempts = await harness.attempts(pid)
        assert [a.status for a in attempts] == ["included"]
        assert attempts[0].receipt_result == "SUCCESS"
        assert p.fee_paid == moves[0]["fee"]
    new_usdt = (await harness.attempts(ids[0]))[0]
    old_usdt = (await harness.attempts(ids[1]))[0]
    assert new_usdt.energy_used == 130_285
    assert old_usdt.energy_used == 64_285
    # fee_limit = new-holder estimate (the dearer class, covering every recipient) * price
    # * 1.2 while the wallet can afford it; the burn is exactly the energy used
    assert new_usdt.fee_limit == percent(130_285 * 100, 120)
    assert old_usdt.fee_limit == percent(130_285 * 100, 120)
    assert new_usdt.energy_fee == 130_285 * 100
    assert old_usdt.energy_fee == 64_285 * 100
    # every state change wrote an outbox event
    async with read_transaction(harness.sessionmaker) as s:
        finalized_events = await s.scalar(
            select(func.count()).where(OutboxEvent.topic == "payout.finalized")
        )
    assert finalized_events == len(ids)
    report = await reconcile(harness.ctx, None)
    assert report.checked == len(ids)
    assert report.mismatches == ()


async def test_reconcile_after_a_hot_wallet_key_rotation(
    harness: Harness, live_devnet: DevnetHandle
) -> None:
    """Payouts the old key paid still reconcile once the engine runs with a new key: the
    sender is checked against the wallet that signed them (our stored bytes), not the current
    one. Without those bytes the check still refuses a sender that is not the hot wallet."""
    ids = await harness.add([(TRX, addr(105), 1_000_000)])
    await harness.wait_statuses(ids, {"finalized"})
    rotated = dataclasses.replace(harness.ctx, signer=LocalSigner.generate())
    report = await reconcile(rotated, None)
    assert (report.checked, report.mismatches) == (1, ())
    async with read_transaction(harness.ctx.sessionmaker) as session:
        [fp] = await finalized_since(session, None, 10)
    tx = await harness.ctx.node.transaction_by_id(fp.txid)
    info = await harness.ctx.node.transaction_info(fp.txid, solid=True)
    unknown = dataclasses.replace(fp, raw_data=None)
    problem = check_transfer(
        unknown,
        tx,
        info,
        hot_wallet=rotated.signer.address,
        token_contract=harness.ctx.token_contract,
    )
    assert problem == "not sent by the hot wallet that signed it"


async def test_insufficient_trx_holds_until_mint(sessionmaker: object) -> None:
    poor = [GenesisAccount(DEMO_HEX, trx_sun=2_000_000, usdt_units=100_000_000)]
    with run_devnet(
        block_time_s=0.3, solidify_depth=2, block_interval_ms=300, accounts=poor
    ) as devnet:
        async with make_harness(sessionmaker, devnet.url) as h:  # type: ignore[arg-type]
            ids = await h.add([(USDT, addr(110), 5_000_000), (USDT, addr(111), 500_000_000)])
            await _wait_reason(h, ids[0], "insufficient_trx")
            await _wait_reason(h, ids[1], "insufficient_token")
            assert await h.attempts(ids[0]) == []
            await mint(devnet.url, DEMO_HEX, trx_sun=100_000_000)
            done = await h.wait_statuses([ids[0]], {"finalized"})
            assert done[ids[0]].blocked_reason is None
            assert done[ids[1]].status == "queued"
            book = await ledger(devnet.url)
            assert len(transfers_to(book, to_hex(addr(110)))) == 1
            assert transfers_to(book, to_hex(addr(111))) == []
            receipts = [a.receipt_result for a in await h.attempts(ids[0])]
            assert receipts == ["SUCCESS"]


async def _wait_reason(h: Harness, pid: str, reason: str) -> None:
    async def blocked() -> bool:
        p = (await h.payouts())[pid]
        return p.status == "queued" and p.blocked_reason == reason

    await wait_for(blocked, 20, what=f"{pid} blocked by {reason}")


async def test_blacklisted_destination_is_refused(
    harness: Harness, live_devnet: DevnetHandle
) -> None:
    bad = addr(120)
    await blacklist(live_devnet.url, bad)
    ids = await harness.add([(USDT, bad, 1_000_000), (USDT, addr(121), 1_000_000)])
    done = await harness.wait_statuses(ids, {"failed", "finalized"})
    assert done[ids[0]].status == "failed"
    assert done[ids[0]].failure_reason == "destination_blacklisted"
    assert await harness.attempts(ids[0]) == []
    assert done[ids[1]].status == "finalized"
    assert transfers_to(await ledger(live_devnet.url), to_hex(bad)) == []


async def test_never_include_leads_to_exactly_one_reattempt(
    harness: Harness, live_devnet: DevnetHandle
) -> None:
    await set_faults(
        live_devnet.url, [{"path": "/wallet/broadcasthex", "mode": "never_include", "count": 1}]
    )
    to = addr(130)
    ids = await harness.add([(USDT, to, 3_000_000)])
    done = await harness.wait_statuses(ids, {"finalized"}, timeout=60)
    attempts = await harness.attempts(ids[0])
    assert [a.status for a in attempts] == ["expired", "included"]
    assert attempts[0].txid != attempts[1].txid
    assert done[ids[0]].txid == attempts[1].txid
    assert done[ids[0]].attempt_count == 2
    moves = transfers_to(await ledger(live_devnet.url), to_hex(to))
    assert [(m["amount"], m["result"]) for m in moves] == [(3_000_000, "SUCCESS")]


async def test_revert_fails_the_payout_with_the_chain_reason(
    harness: Harness, live_devnet: DevnetHandle
) -> None:
    await set_faults(
        live_devnet.url, [{"path": "/wallet/broadcasthex", "mode": "revert_next", "count": 1}]
    )
    ids = await harness.add([(USDT, addr(140), 1_000_000)])
    done = await harness.wait_statuses(ids, {"failed"})
    assert done[ids[0]].failure_reason is not None
    assert done[ids[0]].failure_reason.startswith("chain:REVERT")
    attempts = await harness.attempts(ids[0])
    assert [a.status for a in attempts] == ["failed"]
    assert attempts[0].fee_paid is not None
    assert attempts[0].fee_paid > 0  # a reverted call still burns its fee
    assert done[ids[0]].fee_paid == attempts[0].fee_paid


async def test_every_fault_mode_still_pays_each_payout_once(
    harness: Harness, live_devnet: DevnetHandle
) -> None:
    await set_faults(
        live_devnet.url,
        [
            {"path": "/wallet/broadcasthex", "mode": "server_busy", "probability": 0.25},
            {"path": "/wallet/broadcasthex", "mode": "lose_response", "probability": 0.25},
            {"path": "/wallet/broadcasthex", "mode": "http_502", "probability": 0.15},
            {
                "path": "/wallet/broadcasthex",
                "mode": "delay_blocks",
                "blocks": 3,
                "probability": 0.3,
            },
            {
                "path": "/wallet/broadcasthex",
                "mode": "never_include",
                "count": 2,
                "probability": 0.3,
            },
            {
                "path": "/wallet/broadcasthex",
                "mode": "hang",
                "seconds": 2.5,
                "count": 2,
                "probability": 0.2,
            },
            {
                "path": "/wallet/gettransactioninfobyblocknum",
                "mode": "http_500",
                "probability": 0.2,
            },
            {"path": "/wallet/getnowblock", "mode": "http_500", "probability": 0.15},
            {"path": "/wallet/triggerconstantcontract", "mode": "http_502", "probability": 0.1},
            {"path": "/walletsolidity/*", "mode": "hang", "seconds": 2.5, "count": 2},
        ],
        seed=7,
    )
    plan = [(USDT if i % 3 else TRX, addr(150 + i), 1_000_000 + i) for i in range(12)]
    ids = await harness.add(plan)
    await harness.wait_statuses(ids, {"finalized"}, timeout=90)
    await clear_faults(live_devnet.url)
    book = await ledger(live_devnet.url)
    for asset, to, amount in plan:
        moves = [t for t in transfers_to(book, to_hex(to)) if t["result"] == "SUCCESS"]
        assert [(m["asset"], m["amount"]) for m in moves] == [(asset, amount)]
    assert all(t["result"] == "SUCCESS" for t in book["transactions"])
    report = await reconcile(harness.ctx, None)
    assert report.mismatches == ()


async def test_engine_resumes_after_stop_without_resigning(
    harness: Harness, live_devnet: DevnetHandle
) -> None:
    async with httpx.AsyncClient() as http:
        await http.post(
            f"{live_devnet.url}/admin/faults",
            json={"rules": [{"path": "/wallet/broadcasthex", "mode": "http_500"}]},
        )
    ids = await harness.add([(TRX, addr(170), 2_000_000)])
    await harness.wait_statuses(ids, {"submitted"})
    first = await harness.attempts(ids[0])
    await harness.halt()
    await clear_faults(live_devnet.url)
    harness.start()
    await harness.wait_statuses(ids, {"finalized"})
    after = await harness.attempts(ids[0])
    assert [a.txid for a in after] == [first[0].txid]
    moves = transfers_to(await ledger(live_devnet.url), to_hex(addr(170)))
    assert len(moves) == 1


async def test_unreachable_node_postpones_the_expiry_decision(
    sessionmaker: object, live_devnet: DevnetHandle
) -> None:
    await set_faults(
        live_devnet.url, [{"path": "/wallet/broadcasthex", "mode": "never_include", "count": 1}]
    )
    to = addr(180)
    urls = [live_devnet.url, free_port_url()]
    async with make_harness(sessionmaker, urls) as h:  # type: ignore[arg-type]
        (pid,) = await h.add([(USDT, to, 4_000_000)])
        await h.wait_statuses([pid], {"submitted"})
        first = await h.attempts(pid)
        # well past expiration (5 s) + margin (1 s) + solidification
        await asyncio.sleep(10)
        assert (await h.payouts())[pid].status == "submitted"
        assert [a.status for a in await h.attempts(pid)] == ["broadcast"]
    async with make_harness(sessionmaker, live_devnet.url) as h:  # type: ignore[arg-type]
        done = await h.wait_statuses([pid], {"finalized"}, timeout=60)
        attempts = await h.attempts(pid)
    assert [a.status for a in attempts] == ["expired", "included"]
    assert attempts[0].txid == first[0].txid
    assert done[pid].attempt_count == 2
    moves = transfers_to(await ledger(live_devnet.url), to_hex(to))
    assert [(m["amount"], m["result"]) for m in moves] == [(4_000_000, "SUCCESS")]


async def test_policy_recheck_before_signing_blocks_a_now_denied_destination(
    sessionmaker: async_sessionmaker[AsyncSession], live_devnet: DevnetHandle
) -> None:
    denied, fine = addr(190), addr(191)
    policy = PolicyService(PolicyConfig())
    ctx = PayoutContext(policy=policy, hot_wallet_address=DEMO_KEY.address)
    writer = PayoutWriter(sessionmaker, policy)  # not started: each create commits on its own
    ids = []
    for to in (denied, fine):
        data = PayoutCreate(to=to, asset=USDT, amount="1.5")
        created = await create_payout(ctx, writer, data, actor=Actor("tester"), key=f"deny-{to}")
        assert created.status == 201
        assert created.body is not None
        ids.append(created.body["id"])
    # the operator denies the destination after the payout was accepted
    stricter = PolicyService(PolicyConfig(deny_list=frozenset({denied})))
    async with make_harness(sessionmaker, live_devnet.url, policy=stricter) as h:
        done = await h.wait_statuses([ids[1]], {"finalized"})
        await wait_for(
            lambda: _blocked_as(h, ids[0], "policy:policy_denied_destination"),
            20,
            what="policy block",
        )
    assert done[ids[1]].status == "finalized"
    assert await h.attempts(ids[0]) == []
    assert transfers_to(await ledger(live_devnet.url), to_hex(denied)) == []


async def _blocked_as(h: Harness, pid: str, reason: str) -> bool:
    p = (await h.payouts())[pid]
    return p.status == "queued" and p.blocked_reason == reason


async def _confirm_in_a_block_without_the_tx(
    sessionmaker: async_sessionmaker[AsyncSession], url: str, n: int, *, fail: bool = False
) -> tuple[str, str, str]:
    """A payout whose receipt (success, or a failure with ``fail``) a (lying or forked) node
    reported in block 1, while block 1 on the chain does not hold the transaction. The
    signed bytes were never broadcast."""
    to = addr(n)
    (pid,) = await add_payouts(sessionmaker, [(USDT, to, 2_000_000)])
    async with NodeClient([url], timeout=httpx.Timeout(3.0)) as node:
        await wait_for(_head_at_least(node, 3), 10, what="a few blocks")
        tx, txid = signed_usdt(await node.now_block(), to, 2_000_000)
    signed = decode_transaction(tx)
    now = utcnow()
    async with write_transaction(sessionmaker) as s:
        payout = (await s.scalars(select(Payout).where(Payout.id == pid))).one()
        s.add(
            PayoutAttempt(
                id=f"pa_orphan_{n}",
                payout_id=pid,
                txid=txid,
                raw_data=signed.raw,
                signature=signed.signatures[0],
                expiration_ms=int(time.time() * 1000) + 60_000,
                fee_limit=30_000_000,
                status="broadcast",
                created_at=now,
                updated_at=now,
            )
        )
        await transition(
            s, payout, PayoutStatus.SUBMITTED, actor=ENGINE_ACTOR, action="t", now=now, txid=txid
        )
        result, outcome = ("REVERT", "failure_recorded") if fail else ("SUCCESS", "confirmed")
        fake = TransactionInfo(txid, 1, 1, 1, result, fail, "", 1, 1, 0, 0, 0)
        assert (await apply_receipt(s, fake, now=now, lock=False)).outcome == outcome
    return pid, txid, to


def _alarms(event: str) -> float:
    value = REGISTRY.get_sample_value("tronpay_engine_payout_events_total", {"event": event})
    return value or 0.0


# (a receipt of a success or of a failure, the attempt state it leaves, the alarm's event)
_ORPHANS = [
    pytest.param(False, AttemptStatus.INCLUDED, "orphaned", id="confirmation"),
    pytest.param(True, AttemptStatus.FAILED, "failure_orphaned", id="provisional-failure"),
]


@pytest.mark.parametrize(("fail", "state", "event"), _ORPHANS)
async def test_orphaned_receipt_without_recovery_never_resigns(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    live_devnet: DevnetHandle,
    monkeypatch: pytest.MonkeyPatch,
    fail: bool,
    state: AttemptStatus,
    event: str,
) -> None:
    """Should the attempt table make ``included`` (or ``failed``) terminal again, the engine
    still never acts on an orphaned receipt: it raises the alarm, leaves the payout where it
    was (``confirmed``, never finalized; or ``submitted``) and re-signs nothing."""
    monkeypatch.setitem(ATTEMPT_TRANSITIONS, state, frozenset())
    pid, txid, _to = await _confirm_in_a_block_without_the_tx(
        sessionmaker, live_devnet.url, 199 if fail else 197, fail=fail
    )
    before = _alarms(event)
    async with make_harness(sessionmaker, live_devnet.url) as h:

        async def alarmed() -> bool:
            return _alarms(event) > before

        await wait_for(alarmed, 20, what=f"the {event} alarm")
        payout = (await h.payouts())[pid]
        attempts = await h.attempts(pid)
    assert payout.status == ("submitted" if fail else "confirmed")
    assert [(a.txid, a.status) for a in attempts] == [(txid, state.value)]


@pytest.mark.parametrize(("fail", "state", "event"), _ORPHANS)
async def test_orphaned_receipt_is_undone_and_the_same_bytes_resent(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    live_devnet: DevnetHandle,
    fail: bool,
    state: AttemptStatus,
    event: str,
) -> None:
    """The attempt goes ``included -> broadcast`` (the payout ``confirmed -> submitted``) or
    ``failed -> broadcast`` (the payout never left ``submitted``); the same bytes are sent
    again and confirmed where they really land; one transfer, no second signature."""
    pid, txid, to = await _confirm_in_a_block_without_the_tx(
        sessionmaker, live_devnet.url, 198 if fail else 196, fail=fail
    )
    before = _alarms(event)
    async with make_harness(sessionmaker, live_devnet.url) as h:
        done = await h.wait_statuses([pid], {"finalized"}, timeout=60)
        attempts = await h.attempts(pid)
    assert _alarms(event) > before
    assert [(a.txid, a.status) for a in attempts] == [(txid, "included")]
    assert attempts[0].block_number is not None
    assert attempts[0].block_number > 1
    assert done[pid].txid == txid
    moves = transfers_to(await ledger(live_devnet.url), to_hex(to))
    assert [(m["amount"], m["txid"]) for m in moves] == [(2_000_000, txid)]
    async with read_transaction(sessionmaker) as s:
        topics = (
            await s.scalars(
                select(OutboxEvent.topic)
                .where(OutboxEvent.entity_id == pid)
                .order_by(OutboxEvent.id)
            )
        ).all()
    undone = [] if fail else ["payout.confirmed"]  # a provisional failure emits nothing
    assert topics[-(len(undone) + 3) :] == [
        *undone,
        "payout.submitted",
        "payout.confirmed",
        "payout.finalized",
    ]


def _head_at_least(node: NodeClient, n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await node.now_block()).number >= n

    return check
