"""What the engine burns in TRX, against the chain's minimum for the same transfers (prints JSON).

    .venv/bin/python bench/cost.py --n 1000

``--n`` USDT payouts, half to new holders (no USDT yet: ~130,000 energy each on the devnet)
and half to existing holders (~64,000), in three scenarios, each on a fresh in-process devnet
(blocks every 0.3 s; chain time moves 1 ms per block whatever the wall clock, so staked
energy barely recovers during the run) and a fresh SQLite database, with the engine running
in this process:

* ``no_stake``: every unit of energy is burned;
* ``enough_stake``: the hot wallet stakes TRX for energy; the devnet gives its lone staker
  the whole ``total_energy_limit``, set to the energy the payouts need;
* ``half_stake``: the same with half that energy.

Per scenario: TRX burned (the sum of the payouts' ``fee_paid``, checked against the hot
wallet's balance on the chain), the energy paid by stake and by burning, the chain's
theoretical minimum for the same transfers (energy the stake available at the start cannot
cover x the chain's energy price, plus the bytes the free bandwidth cannot cover x the
bandwidth price), OUT_OF_ENERGY receipts and attempts, and what a tool that writes a constant
40 TRX fee_limit into every transfer would have spent. fee_limit is a cap: the chain burns
only the energy a transfer uses (stake first), so such a tool BURNS the same TRX for the same
transfers; what differs is the TRX it must keep at hand (40 TRX per transfer in flight) and
that it has no plan for a wallet that cannot pay: a transfer executed when the balance no
longer covers its energy fails with OUT_OF_ENERGY and still burns what it used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import structlog
from sqlalchemy import func, select

from tron_devnet.genesis import demo_private_key
from tron_devnet.testing import DevnetHandle, mint, run_devnet
from tronpay.db.models import Base
from tronpay.db.session import (
    create_engine,
    create_sessionmaker,
    read_transaction,
    write_transaction,
)
from tronpay.engine.config import EngineConfig
from tronpay.engine.context import EngineContext
from tronpay.engine.planner import Planner
from tronpay.engine.worker import Engine
from tronpay.kit.clock import utcnow
from tronpay.kit.ids import new_id
from tronpay.kit.money import format_amount
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.signer.local import LocalSigner
from tronpay.tron import abi
from tronpay.tron.codec import encode_transaction, txid
from tronpay.tron.keys import PrivateKey
from tronpay.tron.node import NodeClient

USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"  # the devnet's token
CONSTANT_FEE_LIMIT_SUN = 40_000_000  # the "40 TRX fee limit" tools
STAKE_SUN = 10_000_000_000  # 10,000 TRX: any stake gets the devnet's whole energy limit
DONE = ("confirmed", "finalized")
ENGINE = EngineConfig(
    batch_size=200,
    tick_s=0.1,
    tx_expiration_s=120,
    rebroadcast_interval_s=2.0,
    blocked_retry_s=0.5,
)


def recipient(i: int, salt: int) -> str:
    return PrivateKey((salt * 1_000_000 + 11 + i).to_bytes(32, "big")).address


async def post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = (await http.post(path, json=body)).json()
    return answer


async def resources(http: httpx.AsyncClient, address: str) -> dict[str, Any]:
    return await post(http, "/wallet/getaccountresource", {"address": address, "visible": True})


async def balance(http: httpx.AsyncClient, address: str) -> int:
    account = await post(http, "/wallet/getaccount", {"address": address, "visible": True})
    return int(account.get("balance", 0))


async def stake_energy(http: httpx.AsyncClient, key: PrivateKey, energy_limit: int) -> None:
    """FreezeBalanceV2 for ENERGY, built by the node, signed here, then wait until the chain
    gives the wallet ``energy_limit``."""
    tx = await post(
        http,
        "/wallet/freezebalancev2",
        {
            "owner_address": key.address,
            "frozen_balance": STAKE_SUN,
            "resource": "ENERGY",
            "visible": True,
        },
    )
    raw = bytes.fromhex(tx["raw_data_hex"])
    tid = txid(raw)
    signed = encode_transaction(raw, [key.sign_txid(tid)])
    result = await post(http, "/wallet/broadcasthex", {"transaction": signed.hex()})
    if result.get("result") is not True:
        raise RuntimeError(f"stake refused: {result}")
    for _ in range(200):
        if int((await resources(http, key.address)).get("EnergyLimit", 0)) == energy_limit:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the stake was not included")


def tx_bytes(attempt: PayoutAttempt) -> int:
    """The bandwidth a transaction uses: its signed bytes plus java-tron's 64-byte allowance
    for the result (as the chain counts it)."""
    return len(encode_transaction(attempt.raw_data, [attempt.signature])) + 64


async def add_payouts(sm: Any, recipients: Sequence[str]) -> None:
    now = utcnow()
    async with write_transaction(sm) as s:
        for to in recipients:
            s.add(
                Payout(
                    id=new_id("po"),
                    client="bench",
                    to_address=to,
                    asset="USDT",
                    amount=1_000_000,
                    status="queued",
                    created_by="bench",
                    created_at=now,
                    updated_at=now,
                    attempt_count=0,
                )
            )


def covered_by_free(sizes: Sequence[int], free_bytes: int) -> int:
    """How many of the transactions (whole, in order) ``free_bytes`` of bandwidth pay for."""
    covered = 0
    for size in sizes:
        if size > free_bytes:
            break
        free_bytes -= size
        covered += 1
    return covered


async def scenario(name: str, n: int, stake_share: tuple[int, int], work: Path) -> dict[str, Any]:
    key = PrivateKey(demo_private_key())
    new_holders = [recipient(i, 1) for i in range(n // 2)]
    existing = [recipient(i, 2) for i in range(n - n // 2)]
    with run_devnet(block_time_s=0.3, solidify_depth=2, block_interval_ms=1) as probe:
        async with NodeClient([probe.url], timeout=httpx.Timeout(5.0)) as node:
            energy_new = await node.estimate_energy(
                key.address, USDT_HEX, abi.transfer_call(new_holders[0], 1)
            )
            await mint(probe.url, existing[0], usdt_units=1)
            energy_existing = await node.estimate_energy(
                key.address, USDT_HEX, abi.transfer_call(existing[0], 1)
            )
    energy_needed = len(new_holders) * energy_new + len(existing) * energy_existing
    num, den = stake_share
    staked_limit = energy_needed * num // den
    overrides: dict[str, Any] = {}
    if staked_limit:
        overrides["total_energy_limit"] = staked_limit
    frozen = int(time.time() * 1000)
    with run_devnet(
        block_time_s=0.3,
        solidify_depth=2,
        block_interval_ms=1,
        now_ms=lambda: frozen,
        **overrides,
    ) as dev:
        return await run_scenario(
            name,
            dev,
            key,
            new_holders,
            existing,
            energy_new=energy_new,
            energy_existing=energy_existing,
            staked_limit=staked_limit,
            db_path=work / f"{name}.db",
        )


async def run_scenario(
    name: str,
    dev: DevnetHandle,
    key: PrivateKey,
    new_holders: Sequence[str],
    existing: Sequence[str],
    *,
    energy_new: int,
    energy_existing: int,
    staked_limit: int,
    db_path: Path,
) -> dict[str, Any]:
    n = len(new_holders) + len(existing)
    async with httpx.AsyncClient(base_url=dev.url, timeout=10.0) as http:
        for to in existing:
            await mint(dev.url, to, usdt_units=1)
        if staked_limit:
            await stake_energy(http, key, staked_limit)
        res = await resources(http, key.address)
        used_at_start = int(res.get("EnergyUsed", 0))
        stake_at_start = max(0, int(res.get("EnergyLimit", 0)) - used_at_start)
        free_bw = max(0, int(res.get("freeNetLimit", 0)) - int(res.get("freeNetUsed", 0)))
        staked_bw = max(0, int(res.get("NetLimit", 0)) - int(res.get("NetUsed", 0)))
        balance_before = await balance(http, key.address)

        db = create_engine(f"sqlite+aiosqlite:///{db_path}")
        async with db.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        sm = create_sessionmaker(db)
        node = NodeClient([dev.url], timeout=httpx.Timeout(5.0, connect=2.0))
        params = await node.chain_parameters()
        energy_price, bandwidth_price = params.energy_fee_sun, params.transaction_fee_sun
        signer = LocalSigner(key)
        planner = Planner(
            node, hot_wallet=signer.address, token_contract=USDT_HEX, policy=ENGINE.fee_policy()
        )
        ctx = EngineContext(
            sessionmaker=sm,
            node=node,
            planner=planner,
            signer=signer,
            token_contract=USDT_HEX,
            config=ENGINE,
            postgres=False,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(Engine(ctx).run(stop))
        t0 = time.monotonic()
        recipients = [to for pair in zip(new_holders, existing, strict=False) for to in pair]
        recipients += list(new_holders[len(existing) :]) + list(existing[len(new_holders) :])
        await add_payouts(sm, recipients)
        while time.monotonic() - t0 < 900:
            async with read_transaction(sm) as s:
                done = await s.scalar(
                    select(func.count()).where(
                        Payout.status.in_(DONE), Payout.fee_paid.is_not(None)
                    )
                )
            if done == n:
                break
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - t0
        stop.set()
        await asyncio.wait_for(task, 60)
        await node.aclose()
        balance_after = await balance(http, key.address)
        used_at_end = int((await resources(http, key.address)).get("EnergyUsed", 0))

    async with read_transaction(sm) as s:
        payouts = list((await s.scalars(select(Payout))).all())
        attempts = list((await s.scalars(select(PayoutAttempt))).all())
        s.expunge_all()  # keep the loaded values after the read transaction ends
    await db.dispose()
    fee_paid = sum(p.fee_paid or 0 for p in payouts)
    from_stake = sum(p.energy_from_stake or 0 for p in payouts)
    burned_energy = sum(p.energy_burned or 0 for p in payouts)
    energy_fee = sum(a.energy_fee or 0 for a in attempts)
    net_fee = sum(a.net_fee or 0 for a in attempts)
    # the same transfers at the chain's prices: energy the stake at the start cannot cover,
    # and the bytes of every transaction (one per payout) but those the free and staked
    # bandwidth at the start can take whole (smallest first)
    sizes = sorted(tx_bytes(a) for a in attempts if a.receipt_result == "SUCCESS")
    energy_needed = len(new_holders) * energy_new + len(existing) * energy_existing
    min_energy_burn = max(0, energy_needed - stake_at_start) * energy_price
    covered = covered_by_free(sizes, free_bw + staked_bw)
    min_bandwidth_burn = sum(sizes[covered:]) * bandwidth_price
    minimum = min_energy_burn + min_bandwidth_burn
    our_fee_limits = sum(a.fee_limit or 0 for a in attempts)
    by_txid = {p.txid: p for p in payouts}
    # what the engine held back for the fee_limits: the part of each cap stake does not cover
    held = sum(
        max(0, (a.fee_limit or 0) - (by_txid[a.txid].energy_from_stake or 0) * energy_price)
        for a in attempts
        if a.txid in by_txid
    )
    return {
        "scenario": name,
        "payouts": n,
        "new_holders": len(new_holders),
        "confirmed": sum(1 for p in payouts if p.status in DONE),
        "elapsed_s": round(elapsed, 1),
        "energy_per_transfer": {"new_holder": energy_new, "existing_holder": energy_existing},
        "energy_needed": energy_needed,
        "stake_energy_at_start": stake_at_start,
        "energy_from_stake": from_stake,
        "energy_burned": burned_energy,
        # usage recovers over 24 h of chain time (here 1 ms per block): the stake used beyond
        # what it held at the start
        "stake_energy_recovered_during_run": used_at_start + from_stake - used_at_end,
        "trx_burned": format_amount(fee_paid),
        "trx_burned_per_payout": format_amount(fee_paid // n) if n else "0",
        "trx_burned_energy": format_amount(energy_fee),
        "trx_burned_bandwidth": format_amount(net_fee),
        "wallet_balance_drop_trx": format_amount(balance_before - balance_after),
        "chain_minimum_trx": format_amount(minimum),
        "chain_minimum_per_payout_trx": format_amount(minimum // n) if n else "0",
        "burned_minus_minimum_trx": _signed(fee_paid - minimum),
        "attempts": len(attempts),
        "out_of_energy": sum(1 for a in attempts if a.receipt_result == "OUT_OF_ENERGY"),
        "fee_limit_total_trx": format_amount(our_fee_limits),
        "trx_held_for_fee_limits": format_amount(held),
        "constant_40_trx_fee_limit_tool": {
            "fee_limit_total_trx": format_amount(CONSTANT_FEE_LIMIT_SUN * n),
            "trx_held_for_fee_limits": format_amount(
                max(0, CONSTANT_FEE_LIMIT_SUN * n - from_stake * energy_price)
            ),
            "trx_burned": format_amount(fee_paid),
            "note": "the chain burns the energy used, stake first, whatever the fee_limit: "
            "the same transfers burn the same TRX; the 40 TRX is a cap the wallet must "
            "hold per transfer in flight, not a charge",
        },
    }


def _signed(sun: int) -> str:
    return ("-" if sun < 0 else "") + format_amount(abs(sun))


SCENARIOS = {"no_stake": (0, 1), "enough_stake": (1, 1), "half_stake": (1, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="USDT payouts per scenario")
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="run only these"
    )
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    load_before = os.getloadavg()
    out: dict[str, Any] = {"payouts_per_scenario": args.n, "scenarios": []}
    with tempfile.TemporaryDirectory(prefix="tronpay-cost-") as tmp:
        for name in args.scenario or list(SCENARIOS):
            out["scenarios"].append(await scenario(name, args.n, SCENARIOS[name], Path(tmp)))
    out["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "end": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
