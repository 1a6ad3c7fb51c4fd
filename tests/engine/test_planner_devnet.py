"""Planner quotes against the devnet over real HTTP: prices and energy come from the node."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from node.support import DEMO_HEX, USDT_HEX, addr
from tron_devnet.testing import DevnetHandle, mint, run_devnet
from tronpay.engine.planner import (
    BlockReason,
    Decision,
    FeePolicy,
    PayoutRequest,
    Planner,
    Reserved,
    percent,
)
from tronpay.tron.node import NodeClient


@pytest.fixture
async def planner() -> AsyncIterator[tuple[Planner, DevnetHandle]]:
    with run_devnet(block_time_s=0, solidify_depth=2) as devnet:
        async with NodeClient([devnet.url], timeout=httpx.Timeout(3.0)) as node:
            yield Planner(node, hot_wallet=DEMO_HEX, token_contract=USDT_HEX), devnet


async def test_quote_new_and_existing_holder(planner: tuple[Planner, DevnetHandle]) -> None:
    p, devnet = planner
    await mint(devnet.url, addr(401), usdt_units=1)
    new = await p.quote("USDT", addr(400), 5_000_000)
    old = await p.quote("USDT", addr(401), 5_000_000)
    assert new.new_token_holder
    assert not old.new_token_holder
    # recipient_exists is the chain's answer (getaccount): addr(400) was never touched,
    # addr(403) holds TRX.
    assert not new.recipient_exists
    await mint(devnet.url, addr(403), trx_sun=1_000_000)
    assert (await p.quote("USDT", addr(403), 5_000_000)).recipient_exists
    assert (new.energy_needed, old.energy_needed) == (130_285, 64_285)
    assert new.fee_limit_sun == percent(130_285 * 100, 120)
    assert new.expected_fee_sun == 130_285 * 100  # free bandwidth covers the bytes
    assert new.trx_required_sun == new.fee_limit_sun
    trx_new = await p.quote("TRX", addr(402), 1_000_000)
    assert not trx_new.recipient_exists
    assert trx_new.activation_fee_sun > 0
    assert trx_new.trx_required_sun == 1_000_000 + trx_new.activation_fee_sun
    assert trx_new.fee_limit_sun == 0


async def test_plan_spends_a_running_wallet_and_caps_fees(
    planner: tuple[Planner, DevnetHandle],
) -> None:
    p, devnet = planner
    await mint(devnet.url, addr(401), usdt_units=1)
    wallet = await p.wallet_state()
    # Reserve everything but 20 TRX: one new-holder USDT payout (15.6 TRX) fits, two do not.
    reserved = Reserved(trx_sun=wallet.trx_sun - 20_000_000)
    reqs = [PayoutRequest(f"p{i}", "USDT", addr(410 + i), 1_000_000) for i in range(2)]
    plan = await p.plan(reqs, reserved)
    assert [i.decision for i in plan.items] == [Decision.SEND, Decision.BLOCK]
    assert plan.items[1].reason == BlockReason.INSUFFICIENT_TRX
    capped = Planner(
        p._node,
        hot_wallet=DEMO_HEX,
        token_contract=USDT_HEX,
        policy=FeePolicy(max_fee_limit_sun=7_000_000),
    )
    plan = await capped.plan(
        [PayoutRequest("n", "USDT", addr(420), 1), PayoutRequest("o", "USDT", addr(401), 1)], None
    )
    assert plan.items[0].decision is Decision.BLOCK
    assert plan.items[0].reason == BlockReason.FEE_LIMIT_CAP
    assert plan.items[1].decision is Decision.SEND  # 64,285 energy fits under the cap
    assert plan.items[1].quote is not None
    assert plan.items[1].quote.capped
    assert plan.items[1].quote.fee_limit_sun == 7_000_000
