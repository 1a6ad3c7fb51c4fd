"""Double-payment safety (REVIEW-1/2) on real devnets over real HTTP and a real database:
the dead-attempt proof reads the whole inclusion window as one chain, the follower does not
pass a block a lagging backend answered empty, receipts of expired attempts raise the alarm,
failure receipts wait for solidification, and an unexpected step error never ends the engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from engine.conftest import FAST_CONFIG, add_payouts, wait_for
from engine.test_lagging_backend_expiry import BalancedBackends
from node.support import DEMO_KEY, USDT_HEX, addr
from tron_devnet.testing import DevnetHandle, produce_blocks, run_devnet
from tronpay.db.session import read_transaction, write_transaction
from tronpay.engine import repository as repo
from tronpay.engine.context import EngineContext
from tronpay.engine.follower import BlockFollower
from tronpay.engine.planner import Planner
from tronpay.engine.proof import (
    BlockWindow,
    Candidate,
    Verdict,
    is_actual_block,
    latest_with_low_bits,
    ref_point,
)
from tronpay.engine.reconcile import recheck_expired
from tronpay.engine.worker import Engine
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.states import ATTEMPT_TRANSITIONS, AttemptStatus, PayoutStatus
from tronpay.signer.local import LocalSigner
from tronpay.tron.builders import RefBlock, build_trx_transfer
from tronpay.tron.codec import encode_raw_data, encode_transaction, txid
from tronpay.tron.node import BlockRef, NodeClient, TransactionInfo

MARGIN_MS = 3_000


@pytest.fixture
def chain() -> Iterator[DevnetHandle]:
    """Blocks on demand, 3 s apart in chain time; solid = head - 2."""
    with run_devnet(solidify_depth=2) as handle:
        yield handle


@pytest.fixture
def behind() -> Iterator[DevnetHandle]:
    """Another chain that is far behind (a lagging backend that never saw our blocks)."""
    with run_devnet() as handle:
        yield handle


def _node(url: str, transport: httpx.AsyncBaseTransport | None = None) -> NodeClient:
    return NodeClient(
        [url],
        timeout=httpx.Timeout(2.0, connect=1.0),
        transport=transport,
        backoff_base_s=0.05,
        cooldown_s=0.5,
    )


def _signed(ref: BlockRef, to: str, amount: int, expiration_ms: int) -> tuple[bytes, bytes, str]:
    """(raw_data, transaction bytes, txid) of a TRX transfer from the demo wallet."""
    raw = encode_raw_data(
        build_trx_transfer(
            DEMO_KEY.address,
            to,
            amount,
            ref=RefBlock.from_block(ref.number, ref.id),
            timestamp_ms=ref.timestamp,
            expiration_ms=expiration_ms,
        )
    )
    tid = txid(raw)
    return raw, encode_transaction(raw, [DEMO_KEY.sign_txid(tid)]), tid.hex()


def _counter(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_reference_helpers() -> None:
    assert latest_with_low_bits(70_000, 70_000 & 0xFFFF) == 70_000
    assert latest_with_low_bits(70_000, 70_001 & 0xFFFF) == 70_001 - 65_536
    assert latest_with_low_bits(10, 11) < 0
    good = BlockRef(7, (7).to_bytes(8, "big").hex() + "ab" * 24, 1)
    assert is_actual_block(good, 7)
    assert not is_actual_block(good, 8)
    assert not is_actual_block(None, 7)
    assert not is_actual_block(BlockRef(8, good.id, 1), 8)  # id of block 7 under number 8
    raw, _, _ = _signed(good, addr(400), 1, 10_000)
    point = ref_point(raw)
    assert (point.low16, point.hash_hex) == (7, "ab" * 8)


async def test_window_proves_included_dead_and_waits_for_solid(chain: DevnetHandle) -> None:
    await produce_blocks(chain.url, 3)
    async with _node(chain.url) as node:
        ref = await node.now_block()
        expiration = ref.timestamp + 10_000
        _, tx_in, id_in = _signed(ref, addr(401), 1_000, expiration)
        raw_in = _raw_of(ref, addr(401), 1_000, expiration)
        raw_out, _, id_out = _signed(ref, addr(402), 2_000, expiration)  # never broadcast
        # signed against a block 'ref' that is not on this chain: can never be included
        forked = BlockRef(ref.number, ref.id[:16] + "ab" * 24, ref.timestamp)
        raw_fork, _, id_fork = _signed(forked, addr(402), 2_000, expiration)
        assert (await node.broadcast_hex(tx_in, id_in)).kind.value == "accepted"
        await produce_blocks(chain.url, 12)  # 36 s of chain time: past expiry + margin
        info = await node.node_info()
        calls: list[int] = []

        async def fetch(n: int) -> BlockRef | None:
            calls.append(n)
            return await node.block_by_number(n)

        window = BlockWindow(
            fetch,
            solid_number=info.solid_number,
            solid_id=info.solid_id,
            margin_ms=MARGIN_MS,
            concurrency=4,
        )
        found, dead, fork_dead = await window.prove(
            [
                Candidate(id_in, raw_in, expiration),
                Candidate(id_out, raw_out, expiration),
                Candidate(id_fork, raw_fork, expiration),
            ]
        )
        assert fork_dead.verdict is Verdict.DEAD
        assert found.verdict is Verdict.INCLUDED
        assert found.block_number == ref.number + 1
        assert dead.verdict is Verdict.DEAD, dead.reason
        assert dead.ref_number == ref.number
        assert dead.last_number is not None
        last = await node.block_by_number(dead.last_number)
        before = await node.block_by_number(dead.last_number - 1)
        assert last is not None
        assert before is not None
        assert last.timestamp > expiration + MARGIN_MS >= before.timestamp
        assert len(calls) == len(set(calls))  # every block read once for both attempts
        # The same window with the solidified head just before its last block: undecided.
        early = BlockWindow(
            node.block_by_number,
            solid_number=dead.last_number - 1,
            solid_id=before.id,
            margin_ms=MARGIN_MS,
            concurrency=4,
        )
        [waiting] = await early.prove([Candidate(id_out, raw_out, expiration)])
        assert waiting.verdict is Verdict.UNDECIDED
        assert waiting.reason == "window not solidified yet"


async def test_window_from_mixed_backends_proves_nothing(
    chain: DevnetHandle, behind: DevnetHandle
) -> None:
    """Blocks answered by a backend that lacks them ({}) or that is on another chain never
    complete the proof, even though the current backend's solid head is far past expiry."""
    await produce_blocks(chain.url, 3)
    await produce_blocks(behind.url, 8)  # has some of the numbers, with other ids
    async with _node(chain.url) as current, _node(behind.url) as lagging:
        ref = await current.now_block()
        expiration = ref.timestamp + 10_000
        raw, _, tid = _signed(ref, addr(403), 3_000, expiration)
        await produce_blocks(chain.url, 12)
        info = await current.node_info()
        solid = info.solid_number

        async def odd_from_lagging(n: int) -> BlockRef | None:
            return await (lagging if n % 2 else current).block_by_number(n)

        async def tail_from_lagging(n: int) -> BlockRef | None:
            return await (lagging if n > ref.number + 3 else current).block_by_number(n)

        for fetch in (odd_from_lagging, tail_from_lagging, lagging.block_by_number):
            window = BlockWindow(
                fetch,
                solid_number=solid,
                solid_id=info.solid_id,
                margin_ms=MARGIN_MS,
                concurrency=4,
            )
            [proof] = await window.prove([Candidate(tid, raw, expiration)])
            assert proof.verdict is Verdict.UNDECIDED, (fetch, proof)


def _raw_of(ref: BlockRef, to: str, amount: int, expiration_ms: int) -> bytes:
    return _signed(ref, to, amount, expiration_ms)[0]


async def _submitted(
    sm: async_sessionmaker[AsyncSession], *, to: str, amount: int, raw: bytes, tid: str, exp: int
) -> str:
    """A TRX payout in ``submitted`` whose live attempt is ``tid``."""
    (pid,) = await add_payouts(sm, [("TRX", to, amount)])
    now = utcnow()
    async with write_transaction(sm) as s:
        p = (await s.scalars(select(Payout).where(Payout.id == pid))).one()
        s.add(
            PayoutAttempt(
                id=new_id("pa"),
                payout_id=pid,
                txid=tid,
                raw_data=raw,
                signature=b"s" * 65,
                expiration_ms=exp,
                fee_limit=0,
                status=AttemptStatus.BROADCAST.value,
                created_at=now,
                updated_at=now,
            )
        )
        await repo.transition(
            s,
            p,
            PayoutStatus.SUBMITTED,
            actor=repo.ENGINE_ACTOR,
            action="test.submit",
            now=now,
            txid=tid,
            attempt_count=p.attempt_count + 1,
        )
    return pid


def _ctx(sm: async_sessionmaker[AsyncSession], node: NodeClient) -> EngineContext:
    signer = LocalSigner(DEMO_KEY)
    planner = Planner(
        node, hot_wallet=signer.address, token_contract=USDT_HEX, policy=FAST_CONFIG.fee_policy()
    )
    return EngineContext(
        sessionmaker=sm,
        node=node,
        planner=planner,
        signer=signer,
        token_contract=USDT_HEX,
        config=FAST_CONFIG,
        postgres=sm.kw["bind"].dialect.name == "postgresql",
    )


async def test_follower_waits_at_a_block_a_lagging_backend_answered_empty(
    sessionmaker: async_sessionmaker[AsyncSession], chain: DevnetHandle, behind: DevnetHandle
) -> None:
    await produce_blocks(chain.url, 3)
    transport = BalancedBackends(chain.url, behind.url)
    try:
        async with (
            _node("http://tron-lb.internal", transport) as balanced,
            _node(chain.url) as direct,
        ):
            ref = await direct.now_block()
            exp = ref.timestamp + 60_000
            _, tx_foreign, id_foreign = _signed(ref, addr(404), 1_000, exp)
            raw_ours, tx_ours, id_ours = _signed(ref, addr(405), 2_000, exp)
            pid = await _submitted(
                sessionmaker, to=addr(405), amount=2_000, raw=raw_ours, tid=id_ours, exp=exp
            )
            await direct.broadcast_hex(tx_foreign, id_foreign)
            await produce_blocks(chain.url, 1)  # ref+1: someone else's transfer only
            await direct.broadcast_hex(tx_ours, id_ours)
            await produce_blocks(chain.url, 2)  # ref+2: ours; ref+3: empty

            follower = BlockFollower(_ctx(sessionmaker, balanced))
            follower.cursor = ref.number
            assert await follower.step() == 1
            assert await follower.step() == 0
            assert follower.cursor == ref.number + 1  # waits at the block that holds ours
            async with read_transaction(sessionmaker) as s:
                assert (await s.get_one(Payout, pid)).status == "submitted"

            honest = BlockFollower(_ctx(sessionmaker, direct))
            honest.cursor = follower.cursor
            assert await honest.step() == 2
            async with read_transaction(sessionmaker) as s:
                assert (await s.get_one(Payout, pid)).status == "confirmed"
    finally:
        await transport.aclose()


def _info(tid: str, result: str, *, block: int = 9) -> TransactionInfo:
    return TransactionInfo(
        txid=tid,
        block_number=block,
        block_timestamp=1,
        fee_sun=1_000,
        receipt_result=result,
        failed=result != "SUCCESS",
        res_message="",
        energy_usage_total=0,
        energy_fee_sun=0,
        net_usage=0,
        net_fee_sun=0,
        energy_penalty_total=0,
    )


async def test_receipt_of_an_expired_attempt_raises_the_alarm(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ref = BlockRef(5, (5).to_bytes(8, "big").hex() + "cd" * 24, 1)
    raw, _, tid = _signed(ref, addr(406), 1_000, 10_000)
    pid = await _submitted(sessionmaker, to=addr(406), amount=1_000, raw=raw, tid=tid, exp=10_000)
    async with write_transaction(sessionmaker) as s:
        assert await repo.expire_attempt(s, tid, now=utcnow(), lock=False) == "requeued"
    name = "tronpay_engine_expired_attempt_included_total"
    before = _counter(name)
    with capture_logs() as logs:
        async with write_transaction(sessionmaker) as s:
            [bulk] = await repo.apply_receipts_bulk(
                s, [_info(tid, "SUCCESS")], now=utcnow(), lock=False
            )
            one = await repo.apply_receipt(s, _info(tid, "SUCCESS"), now=utcnow(), lock=False)
    assert (bulk.outcome, one.outcome) == ("expired_included", "expired_included")
    assert _counter(name) == before + 2
    alarms = [e for e in logs if e["event"] == "engine.receipt.expired_attempt_included"]
    assert [(e["log_level"], e["payout_id"]) for e in alarms] == [("error", pid)] * 2
    async with read_transaction(sessionmaker) as s:
        assert (await s.get_one(Payout, pid)).status == "queued"  # never changed silently


async def test_failure_stays_provisional_and_orphaned_failure_keeps_payout_submitted(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ref = BlockRef(5, (5).to_bytes(8, "big").hex() + "ef" * 24, 1)
    raw, _, tid = _signed(ref, addr(407), 1_000, 10_000)
    pid = await _submitted(sessionmaker, to=addr(407), amount=1_000, raw=raw, tid=tid, exp=10_000)
    async with write_transaction(sessionmaker) as s:
        [res] = await repo.apply_receipts_bulk(s, [_info(tid, "REVERT")], now=utcnow(), lock=False)
    assert res.outcome == "failure_recorded"
    async with write_transaction(sessionmaker) as s:
        assert (await s.get_one(Payout, pid)).status == "submitted"
        assert await repo.failures_up_to(s, 8) == []
        recovered = await repo.unfail_orphaned(s, tid, now=utcnow(), lock=False)
        assert recovered is (AttemptStatus.BROADCAST in ATTEMPT_TRANSITIONS[AttemptStatus.FAILED])
    async with read_transaction(sessionmaker) as s:
        assert (await s.get_one(Payout, pid)).status == "submitted"  # never re-signed
        attempt = (await s.scalars(select(PayoutAttempt).where(PayoutAttempt.txid == tid))).one()
        assert attempt.status == ("broadcast" if recovered else "failed")


async def test_reconcile_finds_an_expired_attempt_on_chain(
    sessionmaker: async_sessionmaker[AsyncSession], chain: DevnetHandle
) -> None:
    await produce_blocks(chain.url, 3)
    async with _node(chain.url) as node:
        ref = await node.now_block()
        exp = ref.timestamp + 60_000
        raw, tx, tid = _signed(ref, addr(408), 1_000, exp)
        pid = await _submitted(sessionmaker, to=addr(408), amount=1_000, raw=raw, tid=tid, exp=exp)
        raw_other, _, other = _signed(ref, addr(409), 1_000, exp)  # never sent
        other_pid = await _submitted(
            sessionmaker, to=addr(409), amount=1_000, raw=raw_other, tid=other, exp=exp
        )
        await node.broadcast_hex(tx, tid)
        await produce_blocks(chain.url, 1)
        async with write_transaction(sessionmaker) as s:  # as a wrong proof would have done
            for t in (tid, other):
                assert await repo.expire_attempt(s, t, now=utcnow(), lock=False) == "requeued"
        with capture_logs() as logs:
            found = await recheck_expired(_ctx(sessionmaker, node))
    assert found == (tid,)
    assert [e["payout_id"] for e in logs if e["log_level"] == "error"] == [pid]
    assert other_pid != pid


class _Boom(RuntimeError):
    pass


async def test_unexpected_step_error_is_counted_and_the_engine_goes_on(
    sessionmaker: async_sessionmaker[AsyncSession], chain: DevnetHandle
) -> None:
    async with _node(chain.url) as node:
        engine = Engine(_ctx(sessionmaker, node))
        labels = {"step": "test"}
        before = REGISTRY.get_sample_value("tronpay_engine_step_errors_total", labels) or 0.0

        async def boom() -> int:
            raise _Boom("postgresql://user:hunter2@db/tronpay")

        async def fine() -> int:
            return 7

        t0 = time.monotonic()
        with capture_logs() as logs:
            assert await engine._guard("test", boom) is None
            assert await engine._guard("test", boom) is None
        assert time.monotonic() - t0 >= FAST_CONFIG.tick_s * 6  # backed off: 0.2 s, 0.4 s
        assert await engine._guard("test", fine) == 7
        assert engine.stats.step_errors == 2
        after = REGISTRY.get_sample_value("tronpay_engine_step_errors_total", labels)
        assert after == before + 2
        assert [(e["event"], e["error"], e["streak"]) for e in logs] == [
            ("engine.step.unexpected_error", "_Boom", 1),
            ("engine.step.unexpected_error", "_Boom", 2),
        ]
        assert "hunter2" not in repr(logs)


async def test_engine_survives_an_unexpected_error_in_a_loop(
    sessionmaker: async_sessionmaker[AsyncSession], chain: DevnetHandle
) -> None:
    """A step that raises something unexpected does not end ``Engine.run``."""
    async with _node(chain.url) as node:
        ctx = _ctx(sessionmaker, node)
        engine = Engine(ctx)
        calls = 0

        async def flaky() -> int:
            nonlocal calls
            calls += 1
            raise _Boom("bad")

        engine.sweeper.step = flaky  # type: ignore[method-assign]
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        try:

            async def failed_twice() -> bool:
                return calls >= 2

            await wait_for(failed_twice, 20, what="two failing sweeps")
            assert not task.done()
            ticks = engine.stats.step_errors
            await asyncio.sleep(0.5)
            assert not task.done()
            assert engine.stats.step_errors >= ticks >= 2
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
