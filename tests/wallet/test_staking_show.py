"""Stake 2.0 end to end through the HTTP API on a devnet (issue 11): unstake, a withdrawal the
chain refuses before the 14-day wait and accepts after it (time moved with ``/admin/time``),
delegation with and without a lock, and an undelegation refused while the lock holds. The
operations are queued with ``POST /v1/wallet/...``, carried out by the engine's operations
step and read back with ``GET /v1/wallet/operations/{id}`` and ``GET /v1/wallet``, whose
figures must match the chain's own ``getaccount``."""

from __future__ import annotations

from typing import Any

import httpx

from node.support import addr, advance_time
from tron_devnet.testing import DevnetHandle, mint, produce_blocks
from tronpay.kit.money import format_amount, parse_amount
from tronpay.wallet.executor import OperationsRunner

from .support import TRX, chain_account, frozen, get_op, queue_op, settle

UNSTAKE_WAIT_S = 14 * 86_400


async def _wallet(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/v1/wallet")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _refused_then_failed(
    runner: OperationsRunner, devnet: DevnetHandle, admin: httpx.AsyncClient, op_id: str
) -> dict[str, Any]:
    """The node refuses the operation's transaction at broadcast: it stays ``signed`` with the
    refusal, and once its expiry is proven it is ``failed`` with that reason."""
    await runner.step()
    refused = await get_op(admin, op_id)
    assert refused["status"] == "signed", refused
    assert refused["error"].startswith("CONTRACT_VALIDATE_ERROR"), refused
    await advance_time(devnet.url, 30)  # past expiration + margin, far below any lock or wait
    await produce_blocks(devnet.url, 3)
    done = await settle(runner, devnet, admin, op_id)
    assert done["status"] == "failed", done
    assert done["error"] == refused["error"]
    assert done["block_number"] is None
    return done


async def test_unstake_then_withdraw_after_the_wait(
    admin: httpx.AsyncClient, runner: OperationsRunner, devnet: DevnetHandle
) -> None:
    stake = await queue_op(admin, "/v1/wallet/stake", {"amount": "1000", "resource": "ENERGY"})
    assert (await settle(runner, devnet, admin, stake))["status"] == "finalized"
    unstake = await queue_op(admin, "/v1/wallet/unstake", {"amount": "300"})
    assert (await settle(runner, devnet, admin, unstake))["status"] == "finalized"

    wallet = await _wallet(admin)
    assert wallet["staked"]["energy"] == "700"
    [pending] = wallet["unstaking"]["pending"]
    assert (pending["resource"], pending["amount"]) == ("ENERGY", "300")
    assert wallet["unstaking"]["withdrawable"] == "0"

    # before the wait: nothing to withdraw, the chain refuses it, the operation fails
    early = await queue_op(admin, "/v1/wallet/withdraw-unstaked", {})
    failed = await _refused_then_failed(runner, devnet, admin, early)
    assert "no unFreeze balance to withdraw" in failed["error"]
    before = await chain_account(devnet)
    assert before["unfrozenV2"][0]["unfreeze_amount"] == 300 * TRX

    await advance_time(devnet.url, UNSTAKE_WAIT_S + 60)
    assert (await _wallet(admin))["unstaking"]["withdrawable"] == "300"
    withdraw = await queue_op(admin, "/v1/wallet/withdraw-unstaked", {})
    done = await settle(runner, devnet, admin, withdraw)
    assert done["status"] == "finalized", done
    fee = parse_amount(done["fee_paid"], allow_zero=True)

    after = await chain_account(devnet)
    assert "unfrozenV2" not in after
    assert after["balance"] == before["balance"] + 300 * TRX - fee
    assert frozen(after, "ENERGY") == 700 * TRX
    wallet = await _wallet(admin)
    assert wallet["trx"] == format_amount(after["balance"])
    assert wallet["staked"]["energy"] == format_amount(frozen(after, "ENERGY"))
    assert wallet["unstaking"] == {
        "pending": [],
        "withdrawable": "0",
        "unstakes_left": wallet["unstaking"]["unstakes_left"],
    }


async def test_delegate_and_undelegate_with_and_without_a_lock(
    admin: httpx.AsyncClient, runner: OperationsRunner, devnet: DevnetHandle
) -> None:
    receiver = addr(81)
    await mint(devnet.url, receiver, trx_sun=TRX)
    stake = await queue_op(admin, "/v1/wallet/stake", {"amount": "1000", "resource": "ENERGY"})
    assert (await settle(runner, devnet, admin, stake))["status"] == "finalized"

    # without a lock: delegate, then take it back at once
    free = await queue_op(
        admin, "/v1/wallet/delegate", {"receiver": receiver, "amount": "200", "resource": "ENERGY"}
    )
    assert (await settle(runner, devnet, admin, free))["status"] == "finalized"
    wallet = await _wallet(admin)
    assert wallet["staked"]["energy"] == "800"
    assert wallet["staked"]["energy_delegated_out"] == "200"
    assert wallet["delegations"] == [
        {"to": receiver, "resource": "ENERGY", "amount": "200", "locked_until": None}
    ]
    got = (await chain_account(devnet, receiver))["account_resource"]
    assert got["acquired_delegated_frozenV2_balance_for_energy"] == 200 * TRX
    back = await queue_op(admin, "/v1/wallet/undelegate", {"receiver": receiver, "amount": "200"})
    assert (await settle(runner, devnet, admin, back))["status"] == "finalized"
    wallet = await _wallet(admin)
    assert wallet["delegations"] == []
    assert wallet["staked"]["energy"] == "1000"

    # with a lock of 100 blocks (300 s): the chain refuses to undelegate until it ends
    locked = await queue_op(
        admin,
        "/v1/wallet/delegate",
        {"receiver": receiver, "amount": "100", "lock": True, "lock_period": 100},
    )
    assert (await settle(runner, devnet, admin, locked))["status"] == "finalized"
    [record] = (await _wallet(admin))["delegations"]
    assert record["amount"] == "100"
    assert record["locked_until"] is not None
    early = await queue_op(admin, "/v1/wallet/undelegate", {"receiver": receiver, "amount": "100"})
    failed = await _refused_then_failed(runner, devnet, admin, early)
    assert "insufficient" in failed["error"]
    assert "unlock_balance=0" in failed["error"]
    assert (await _wallet(admin))["staked"]["energy_delegated_out"] == "100"

    await advance_time(devnet.url, 400)
    late = await queue_op(admin, "/v1/wallet/undelegate", {"receiver": receiver, "amount": "100"})
    assert (await settle(runner, devnet, admin, late))["status"] == "finalized"
    account = await chain_account(devnet)
    wallet = await _wallet(admin)
    assert wallet["delegations"] == []
    assert wallet["staked"]["energy_delegated_out"] == "0"
    assert wallet["staked"]["energy"] == format_amount(frozen(account, "ENERGY")) == "1000"
    assert wallet["trx"] == format_amount(account["balance"])
    got = (await chain_account(devnet, receiver)).get("account_resource", {})
    assert got.get("acquired_delegated_frozenV2_balance_for_energy", 0) == 0
