"""Staked energy first, on a live devnet over real HTTP (SQLite and PostgreSQL).

The devnet gives its lone staker the whole ``total_energy_limit``: set to three USDT
transfers to existing holders, a stake of any size pays for exactly three. Every figure a
payout records is compared with the chain's own receipt and the hot wallet's balance on the
chain, never with the planner's arithmetic."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engine.conftest import make_harness, wait_for
from node.support import DEMO_KEY, addr, advance_time, node_built
from tron_devnet.testing import DevnetHandle, mint, run_devnet
from tronpay.engine.fees import BlockReason
from tronpay.engine.quoting import PlannerQuoter
from tronpay.payouts.models import Payout
from tronpay.payouts.quote import QuoteOut
from tronpay.payouts.schemas import PayoutOut
from tronpay.payouts.states import PayoutStatus

TRANSFER_ENERGY = 64_285  # the devnet's USDT transfer to an existing holder
STAKED_TRANSFERS = 3
ENERGY_PRICE = 100  # sun, the devnet's getEnergyFee
DONE = {PayoutStatus.CONFIRMED.value, PayoutStatus.FINALIZED.value}


@pytest.fixture
def staking_devnet() -> Iterator[DevnetHandle]:
    with run_devnet(
        block_time_s=0.3,
        solidify_depth=2,
        block_interval_ms=300,
        total_energy_limit=STAKED_TRANSFERS * TRANSFER_ENERGY,
    ) as handle:
        yield handle


async def _post(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        answer: dict[str, Any] = (await http.post(path, json=body)).json()
        return answer


async def _balance(url: str) -> int:
    account = await _post(url, "/wallet/getaccount", {"address": DEMO_KEY.address, "visible": True})
    return int(account.get("balance", 0))


async def _stake(url: str) -> None:
    """Stake TRX for energy and for bandwidth (so no byte is burned either) and wait until
    the chain gives the hot wallet its energy."""
    for resource in ("ENERGY", "BANDWIDTH"):
        await node_built(
            url,
            DEMO_KEY,
            "/wallet/freezebalancev2",
            {"frozen_balance": 1_000_000_000, "resource": resource},
        )

    async def staked() -> bool:
        res = await _post(
            url, "/wallet/getaccountresource", {"address": DEMO_KEY.address, "visible": True}
        )
        return int(res.get("EnergyLimit", 0)) == STAKED_TRANSFERS * TRANSFER_ENERGY and bool(
            res.get("NetLimit")
        )

    await wait_for(staked, 20, what="stake included")


async def _holders(url: str, first: int, n: int) -> list[str]:
    out = [addr(first + i) for i in range(n)]
    for to in out:
        await mint(url, to, usdt_units=1)  # existing holders: 64,285 energy each
    return out


async def _receipt(url: str, txid: str) -> dict[str, Any]:
    info = await _post(url, "/wallet/gettransactioninfobyid", {"value": txid})
    assert info.get("id") == txid, info
    return info


async def _check_against_the_chain(url: str, payout: Payout) -> dict[str, Any]:
    """The payout's recorded fees are the chain's receipt, field by field."""
    assert payout.txid is not None
    info = await _receipt(url, payout.txid)
    receipt = info.get("receipt", {})
    assert receipt.get("result", "SUCCESS") == "SUCCESS"
    assert payout.attempt_count == 1  # no OUT_OF_ENERGY, no second attempt
    assert payout.fee_paid == info.get("fee", 0)
    assert payout.energy_used == receipt.get("energy_usage_total", 0)
    assert payout.energy_from_stake == receipt.get("energy_usage", 0)
    assert payout.energy_burned is not None
    assert payout.energy_burned * ENERGY_PRICE == receipt.get("energy_fee", 0)
    shown = PayoutOut.from_model(payout)
    assert (shown.energy_from_stake, shown.energy_burned) == (
        payout.energy_from_stake,
        payout.energy_burned,
    )
    return info


async def test_stake_pays_while_it_lasts_then_exactly_what_the_chain_burns(
    sessionmaker: async_sessionmaker[AsyncSession], staking_devnet: DevnetHandle
) -> None:
    url = staking_devnet.url
    await _stake(url)
    recipients = await _holders(url, 700, 6)
    before = await _balance(url)
    async with make_harness(sessionmaker, url) as h:
        ids = await h.add([("USDT", to, 1_000_000) for to in recipients])
        done = await h.wait_statuses(ids, DONE)
    payouts = [done[i] for i in ids]
    for p in payouts:
        await _check_against_the_chain(url, p)
    free = [p for p in payouts if p.fee_paid == 0]
    burned = [p for p in payouts if p.fee_paid]
    # the stake pays for three transfers in full; the other three burn (all but the few
    # energy units the stake recovers in the seconds between blocks)
    assert len(free) == STAKED_TRANSFERS
    assert all(p.energy_burned == 0 for p in free)
    assert all(p.energy_from_stake == TRANSFER_ENERGY for p in free)
    assert len(burned) == 3
    assert all(p.energy_burned and p.energy_burned > TRANSFER_ENERGY - 1_000 for p in burned)
    # what the payouts say they burned is what left the hot wallet on the chain
    assert before - await _balance(url) == sum(p.fee_paid or 0 for p in payouts)


async def test_with_max_fee_the_rest_waits_for_energy_then_goes(
    sessionmaker: async_sessionmaker[AsyncSession], staking_devnet: DevnetHandle
) -> None:
    url = staking_devnet.url
    await _stake(url)
    recipients = await _holders(url, 720, 5)
    before = await _balance(url)
    async with make_harness(sessionmaker, url) as h:
        # the policy file's max_fee_per_payout = "0" for USDT: burn nothing, ever
        planner = h.ctx.planner
        planner.policy = replace(planner.policy, max_fee_sun={"USDT": 0})
        ids = await h.add([("USDT", to, 1_000_000) for to in recipients])

        async def split() -> bool:
            ps = await h.payouts()
            sent = [i for i in ids if ps[i].status in DONE]
            waiting = [
                i for i in ids if ps[i].blocked_reason == BlockReason.INSUFFICIENT_ENERGY.value
            ]
            return len(sent) == STAKED_TRANSFERS and len(waiting) == 2

        await wait_for(split, 40, what="three sent, two waiting for energy")
        ps = await h.payouts()
        waiting = [i for i in ids if ps[i].status == PayoutStatus.QUEUED.value]
        assert len(waiting) == 2
        # the quote shows the same: the stake is spent, the energy would be burned
        quote = QuoteOut.of(await PlannerQuoter(planner).quote("USDT", recipients[0], 1))
        assert quote.energy_burned > TRANSFER_ENERGY - 1_000
        assert quote.energy_from_stake + quote.energy_burned == TRANSFER_ENERGY
        # a day later the stake's energy has recovered: the two go through, burning nothing
        await advance_time(url, 86_400)
        quote = QuoteOut.of(await PlannerQuoter(planner).quote("USDT", recipients[0], 1))
        assert (quote.energy_from_stake, quote.energy_burned) == (TRANSFER_ENERGY, 0)
        assert quote.expected_fee == "0"
        done = await h.wait_statuses(ids, DONE)
    for i in ids:
        await _check_against_the_chain(url, done[i])
        assert done[i].fee_paid == 0
        assert done[i].energy_from_stake == TRANSFER_ENERGY
    assert await _balance(url) == before
