"""Auto-stake (``[auto_stake]`` of the policy file): the arithmetic, the section's parsing, and
the engine's step on a devnet over HTTP, on SQLite and PostgreSQL: it stakes once up to the
target, leaves the reserve and the TRX payouts need alone, does nothing when disabled, and two
engines deciding at the same moment queue one operation."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlalchemy import select

from node.support import DEMO_HEX, DEMO_KEY, addr, key, ledger
from tron_devnet.testing import DevnetHandle, mint, produce_blocks
from tronpay.audit.models import AuditEntry
from tronpay.db.session import read_transaction, write_transaction
from tronpay.engine.context import EngineContext
from tronpay.engine.worker import Engine
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.policy.auto_stake import AutoStakeConfig
from tronpay.policy.config import PolicyConfig, apply_env_overrides, policy_from_mapping
from tronpay.policy.errors import PolicyConfigError
from tronpay.policy.service import PolicyService
from tronpay.tron.node import NodeClient
from tronpay.tron.transaction import (
    RefBlock,
    build_freeze_v2,
    encode_raw_data,
    encode_transaction,
    txid,
)
from tronpay.wallet.auto_stake import AUTO_STAKE_ACTOR, AutoStaker, stake_needed
from tronpay.wallet.executor import OperationsRunner
from tronpay.wallet.models import WalletOperation

from .support import TRX, queue_op

ENERGY_LIMIT = 2_000_000  # the wallet fixtures' devnet: total_energy_limit
OTHERS_STAKE_TRX = 9_000
TARGET = 500_000  # 3,000 TRX next to the others' 9,000: 3000 * 2e6 // 12000 = 500,000


class FixedClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- arithmetic and configuration ------------------------------------------------------------


def test_stake_needed_is_the_smallest_whole_trx_that_reaches_the_target() -> None:
    for own, limit, weight, target in [
        (0, ENERGY_LIMIT, OTHERS_STAKE_TRX, TARGET),
        (1_000 * TRX, ENERGY_LIMIT, 10_000, 400_000),
        (0, 180_000_000_000, 19_000_000_000, 1_000_000),
        (0, 90_000_000_000, 0, 10),  # nobody stakes yet: 1 TRX gets it all
        (0, 1_000, 3, 999),
    ]:
        got = stake_needed(
            own_stake_sun=own, target_energy=target, total_limit=limit, total_weight_trx=weight
        )
        x = got.trx_needed
        assert x is not None
        assert x >= 1
        s = own // TRX
        # the new stake adds to the total weight too
        assert (s + x) * limit // (weight + x) >= target
        assert x == 1 or (s + x - 1) * limit // (weight + x - 1) < target  # the smallest
    assert (
        stake_needed(
            own_stake_sun=3_000 * TRX,
            target_energy=TARGET,
            total_limit=ENERGY_LIMIT,
            total_weight_trx=12_000,
        ).trx_needed
        == 0
    )
    unreachable = stake_needed(
        own_stake_sun=0, target_energy=ENERGY_LIMIT, total_limit=ENERGY_LIMIT, total_weight_trx=1
    )
    assert unreachable.trx_needed is None


def test_the_policy_section_is_parsed_exactly_and_off_by_default() -> None:
    assert PolicyConfig().auto_stake == AutoStakeConfig(enabled=False)
    config = policy_from_mapping(
        {"auto_stake": {"enabled": True, "min_energy": 1_000_000, "reserve": "500.5"}}
    )
    assert config.auto_stake == AutoStakeConfig(
        enabled=True, min_energy=1_000_000, reserve_sun=500_500_000, interval_s=300
    )
    assert apply_env_overrides(config, {}).auto_stake == config.auto_stake
    assert policy_from_mapping({"auto_stake": {"reserve": 7}}).auto_stake.reserve_sun == 7
    for bad in (
        {"enabled": "yes"},
        {"enabled": True},  # no target
        {"min_energy": 1.5},
        {"reserve": 1.5},
        {"reserve": "-1"},
        {"interval_s": 0},
        {"unstake": True},
    ):
        with pytest.raises(PolicyConfigError):
            policy_from_mapping({"auto_stake": bad})


# -- on the devnet ---------------------------------------------------------------------------


async def _others_stake(devnet: DevnetHandle, node: NodeClient) -> None:
    """Another account stakes 9,000 TRX for energy, so one TRX is worth a finite share."""
    other = key(90)
    await mint(devnet.url, other.address, trx_sun=(OTHERS_STAKE_TRX + 10) * TRX)
    head = await node.now_block()
    async with httpx.AsyncClient(base_url=devnet.url) as http:
        now = int(time.time() * 1000)
        raw = encode_raw_data(
            build_freeze_v2(
                other.address,
                OTHERS_STAKE_TRX * TRX,
                "ENERGY",
                ref=RefBlock.from_block(head.number, head.id),
                timestamp_ms=now,
                expiration_ms=now + 60_000,
            )
        )
        tid = txid(raw)
        sent = await http.post(
            "/wallet/broadcasthex",
            json={"transaction": encode_transaction(raw, [other.sign_txid(tid)]).hex()},
        )
        assert sent.json()["result"] is True, sent.text
    await produce_blocks(devnet.url, 1)


def _with_policy(ctx: EngineContext, policy: PolicyService) -> EngineContext:
    return EngineContext(
        sessionmaker=ctx.sessionmaker,
        node=ctx.node,
        planner=ctx.planner,
        signer=ctx.signer,
        token_contract=ctx.token_contract,
        config=ctx.config,
        postgres=ctx.postgres,
        policy=policy,
    )


def _staker(ctx: EngineContext, clock: FixedClock, **overrides: object) -> AutoStaker:
    values: dict[str, object] = {"enabled": True, "min_energy": TARGET, "reserve_sun": 500 * TRX}
    values.update(overrides)
    return AutoStaker(ctx, AutoStakeConfig(**values), clock=clock)  # type: ignore[arg-type]


async def _auto_ops(ctx: EngineContext) -> list[WalletOperation]:
    async with read_transaction(ctx.sessionmaker) as session:
        ops = list(
            (
                await session.scalars(
                    select(WalletOperation).where(WalletOperation.created_by == AUTO_STAKE_ACTOR)
                )
            ).all()
        )
        session.expunge_all()  # keep the loaded values after the read transaction ends
    return ops


async def _finish(runner: OperationsRunner, devnet: DevnetHandle, op_id: str) -> WalletOperation:
    for _ in range(12):
        await runner.step()
        async with read_transaction(runner.ctx.sessionmaker) as session:
            op = await session.get(WalletOperation, op_id)
            session.expunge_all()
        assert op is not None
        if op.status in ("finalized", "failed", "expired"):
            return op
        await produce_blocks(devnet.url, 1)
    raise AssertionError(f"{op_id} did not finish")


async def _freezes(devnet: DevnetHandle) -> list[dict[str, object]]:
    book = await ledger(devnet.url)
    return [
        t
        for t in book["transactions"]
        if t["from"] == DEMO_HEX and t["type"] == "FreezeBalanceV2Contract"
    ]


async def test_enabled_stakes_once_up_to_the_target(
    engine_ctx: EngineContext, runner: OperationsRunner, devnet: DevnetHandle
) -> None:
    await _others_stake(devnet, engine_ctx.node)
    clock = FixedClock()
    staker = _staker(engine_ctx, clock)
    op_id = await staker.step()
    assert op_id is not None
    assert await staker.step() is None  # same window: no second decision
    [op] = await _auto_ops(engine_ctx)
    assert (op.kind, op.resource, op.amount) == ("stake", "ENERGY", 3_000 * TRX)
    clock.now += 300
    assert await staker.step() is None  # the first one is not finished yet
    done = await _finish(runner, devnet, op_id)
    assert done.status == "finalized"
    resource = await engine_ctx.node.account_resource(DEMO_KEY.address)
    assert resource.energy_limit >= TARGET
    assert resource.total_energy_weight == OTHERS_STAKE_TRX + 3_000

    for _ in range(3):  # later windows, and a restarted engine: the target holds, no more
        clock.now += 300
        assert await staker.step() is None
        assert await _staker(engine_ctx, clock).step() is None
    assert len(await _auto_ops(engine_ctx)) == 1
    assert len(await _freezes(devnet)) == 1
    async with read_transaction(engine_ctx.sessionmaker) as session:
        entries = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.principal).where(AuditEntry.entity_id == op_id)
            )
        ).all()
    assert (  # requested by the automation, carried out by the engine
        "wallet.stake.requested",
        AUTO_STAKE_ACTOR,
    ) in [tuple(e) for e in entries]


async def test_the_reserve_and_trx_held_for_payouts_are_never_staked(
    engine_ctx: EngineContext, runner: OperationsRunner, devnet: DevnetHandle
) -> None:
    await _others_stake(devnet, engine_ctx.node)
    balance = (await engine_ctx.node.account(DEMO_KEY.address)).balance_sun
    params = await engine_ctx.node.chain_parameters()
    now = utcnow()
    async with write_transaction(engine_ctx.sessionmaker) as session:
        live = Payout(
            id=new_id("po"),
            client="test",
            to_address=addr(91),
            asset="TRX",
            amount=300 * TRX,
            status="submitted",
            created_by="tester",
            created_at=now,
            updated_at=now,
            attempt_count=1,
        )
        session.add(live)
        for n, asset, amount in ((92, "TRX", 500 * TRX), (93, "USDT", 10 * TRX)):
            session.add(
                Payout(
                    id=new_id("po"),
                    client="test",
                    to_address=addr(n),
                    asset=asset,
                    amount=amount,
                    status="queued",
                    created_by="tester",
                    created_at=now,
                    updated_at=now,
                )
            )
        await session.flush()
        session.add(
            PayoutAttempt(
                id=new_id("at"),
                payout_id=live.id,
                txid="cd" * 32,
                raw_data=b"\x00",
                signature=b"\x00",
                expiration_ms=0,
                fee_limit=2 * TRX,
                status="broadcast",
                created_at=now,
                updated_at=now,
            )
        )
    # 2,500 TRX above the reserve; the target would take 3,000
    reserve = balance - 2_500 * TRX
    clock = FixedClock()
    staker = _staker(engine_ctx, clock, reserve_sun=reserve)
    op_id = await staker.step()
    assert op_id is not None
    # held: the live attempt (300 + 2 fee_limit), the queued TRX payout (500, its bandwidth and
    # a new account's activation) and the queued USDT payout (a new holder's whole energy burn)
    trx_fee = 300 * params.transaction_fee_sun + (
        params.create_new_account_fee_in_system_contract_sun + params.create_account_fee_sun
    )
    usdt_fee = 130_285 * params.energy_fee_sun + 420 * params.transaction_fee_sun
    idle = 2_500 * TRX - 302 * TRX - 500 * TRX - trx_fee - usdt_fee
    [op] = await _auto_ops(engine_ctx)
    assert op.amount == idle // TRX * TRX
    assert 1_600 * TRX < op.amount < 1_700 * TRX
    assert (await _finish(runner, devnet, op_id)).status == "finalized"
    clock.now += 300
    # the target is not reached, but nothing idle is left: no second stake
    assert await staker.step() is None
    assert len(await _auto_ops(engine_ctx)) == 1
    assert len(await _freezes(devnet)) == 1


async def test_disabled_does_nothing(engine_ctx: EngineContext, devnet: DevnetHandle) -> None:
    await _others_stake(devnet, engine_ctx.node)
    assert await AutoStaker(engine_ctx, AutoStakeConfig()).step() is None
    off = policy_from_mapping({"auto_stake": {"enabled": False, "min_energy": TARGET}})
    engine = Engine(_with_policy(engine_ctx, PolicyService(off)))
    for _ in range(3):
        await engine.upkeep_tick()
    assert await _auto_ops(engine_ctx) == []
    assert await _freezes(devnet) == []


async def test_the_engine_upkeep_queues_and_sends_it(
    engine_ctx: EngineContext, devnet: DevnetHandle
) -> None:
    await _others_stake(devnet, engine_ctx.node)
    on = policy_from_mapping({"auto_stake": {"enabled": True, "min_energy": TARGET}})
    await Engine(_with_policy(engine_ctx, PolicyService(on))).upkeep_tick()
    [op] = await _auto_ops(engine_ctx)
    assert op.status == "broadcast"  # queued, signed and sent in one upkeep pass
    assert op.amount == 3_000 * TRX


async def test_two_engines_deciding_at_once_queue_one_operation(
    engine_ctx: EngineContext, devnet: DevnetHandle
) -> None:
    await _others_stake(devnet, engine_ctx.node)
    clock = FixedClock()
    stakers = [_staker(engine_ctx, clock) for _ in range(4)]
    queued = await asyncio.gather(*(s.step() for s in stakers))
    assert len([q for q in queued if q is not None]) == 1
    clock.now += 300  # the next window, while the first is unfinished: still one
    queued = await asyncio.gather(*(_staker(engine_ctx, clock).step() for _ in range(3)))
    assert queued == [None, None, None]
    [op] = await _auto_ops(engine_ctx)
    assert op.status == "queued"


async def test_an_energy_stake_an_operator_queued_counts_toward_the_target(
    engine_ctx: EngineContext, admin: httpx.AsyncClient, devnet: DevnetHandle
) -> None:
    await _others_stake(devnet, engine_ctx.node)
    manual = await queue_op(admin, "/v1/wallet/stake", {"amount": "2000", "resource": "ENERGY"})
    clock = FixedClock()
    op_id = await _staker(engine_ctx, clock).step()
    assert op_id is not None
    [op] = await _auto_ops(engine_ctx)
    # (2000 + x) * 2e6 // (9000 + 2000 + x) >= 500,000: x = 1,000, not 3,000
    assert op.amount == 1_000 * TRX
    assert manual != op_id


async def test_two_engines_upkeep_at_once_one_stake_on_chain(
    engine_ctx: EngineContext, devnet: DevnetHandle
) -> None:
    await _others_stake(devnet, engine_ctx.node)
    on = policy_from_mapping({"auto_stake": {"enabled": True, "min_energy": TARGET}})
    engines = [Engine(_with_policy(engine_ctx, PolicyService(on))) for _ in range(2)]
    await asyncio.gather(*(e.upkeep_tick() for e in engines))  # decide, sign, send
    [op] = await _auto_ops(engine_ctx)
    done = await _finish(OperationsRunner(engine_ctx), devnet, op.id)
    assert done.status == "finalized"
    assert [t["txid"] for t in await _freezes(devnet)] == [op.txid]
