"""Stake 2.0: freeze, energy instead of burn, 24 h regeneration, unfreeze/withdraw, delegation."""

from __future__ import annotations

import pytest

from tron_devnet.core.chain import ChainConfig

from .helpers import (
    BANDWIDTH,
    ENERGY,
    T0,
    TRX,
    Net,
    Wallet,
    delegate_param,
    freeze_param,
    undelegate_param,
    unfreeze_param,
    withdraw_param,
)

A, B, C = Wallet(1), Wallet(2), Wallet(3)
DAY = 86_400_000


@pytest.fixture
def net() -> Net:
    # 100 TRX staked alone => the whole (small) energy limit of 100,000
    cfg = ChainConfig(genesis_timestamp_ms=T0, total_energy_limit=100_000, total_net_limit=10_000)
    n = Net([(A, 1_000 * TRX, 500 * TRX), (B, 50 * TRX, 1)], cfg)
    n.produce()
    return n


def run(net: Net, wallet: Wallet, name: str, param: bytes, **kw: object) -> str:
    tx, txid = net.build(wallet, name, param, **kw)  # type: ignore[arg-type]
    res = net.chain.submit(tx)
    assert res.ok, res
    net.produce()
    return txid


def rejected(net: Net, wallet: Wallet, name: str, param: bytes) -> str:
    tx, _ = net.build(wallet, name, param, nonce=7)
    res = net.chain.submit(tx)
    assert res.code == "CONTRACT_VALIDATE_ERROR", res
    return res.message.removeprefix("Contract validate error : ")


def freeze_energy(net: Net, wallet: Wallet, amount: int) -> None:
    run(net, wallet, "FreezeBalanceV2Contract", freeze_param(wallet.address, amount, ENERGY))


def test_freeze_shows_in_account_and_resources(net: Net) -> None:
    freeze_energy(net, A, 100 * TRX)
    acct = net.chain.account_json(A.hex)
    assert acct["frozenV2"] == [{}, {"type": "ENERGY", "amount": 100 * TRX}, {"type": "TRON_POWER"}]
    assert acct["balance"] == 900 * TRX
    res = net.chain.account_resource_json(A.hex)
    assert res["EnergyLimit"] == 100_000
    assert res["TotalEnergyWeight"] == 100
    assert "EnergyUsed" not in res
    # a second staker halves A's share
    net.chain.mint(B.hex, trx_sun=100 * TRX)
    freeze_energy(net, B, 100 * TRX)
    assert net.chain.account_resource_json(A.hex)["EnergyLimit"] == 50_000


def test_freeze_rules(net: Net) -> None:
    assert rejected(
        net, A, "FreezeBalanceV2Contract", freeze_param(A.address, TRX - 1, ENERGY)
    ) == ("frozenBalance must be more than 1TRX")
    assert rejected(
        net, A, "FreezeBalanceV2Contract", freeze_param(A.address, 2_000 * TRX, ENERGY)
    ) == ("frozenBalance must be less than accountBalance")
    assert "not supported by the devnet" in rejected(
        net, A, "FreezeBalanceV2Contract", freeze_param(A.address, TRX, 2)
    )
    assert "ResourceCode error" in rejected(
        net, A, "FreezeBalanceV2Contract", freeze_param(A.address, TRX, 5)
    )


def test_staked_energy_replaces_burn_and_regenerates_over_24h(net: Net) -> None:
    freeze_energy(net, A, 100 * TRX)
    tx, txid = net.usdt(A, B.address, 1)
    assert net.chain.submit(tx).ok
    net.produce()
    receipt = net.info(txid)["receipt"]
    assert receipt["energy_usage"] == 64_285
    assert receipt["energy_usage_total"] == 64_285
    assert "energy_fee" not in receipt
    assert net.chain.account_resource_json(A.hex)["EnergyUsed"] == 64_285

    # second transfer: what is left from stake (a little recovered in 3 s), the rest burned
    tx, txid = net.usdt(A, B.address, 1)
    assert net.chain.submit(tx).ok
    net.produce()
    left = 100_000 - 64_285 * (86_400_000 - 3_000) // 86_400_000
    receipt = net.info(txid)["receipt"]
    assert receipt["energy_usage"] == left
    assert receipt["energy_fee"] == (64_285 - left) * 100

    # half a day later about half the usage has recovered
    net.clock.advance(DAY // 2)
    net.produce()
    used = net.chain.account_resource_json(A.hex)["EnergyUsed"]
    assert 49_000 <= used <= 51_000

    # a full day later it is all back: a transfer is free of energy fees again
    net.clock.advance(DAY)
    net.produce()
    assert "EnergyUsed" not in net.chain.account_resource_json(A.hex)
    tx, txid = net.usdt(A, B.address, 1)
    assert net.chain.submit(tx).ok
    net.produce()
    assert net.info(txid)["receipt"]["energy_usage"] == 64_285


def test_fee_limit_caps_staked_energy_too(net: Net) -> None:
    freeze_energy(net, A, 100 * TRX)
    tx, txid = net.usdt(A, B.address, 1, fee_limit=TRX)
    assert net.chain.submit(tx).ok
    net.produce()
    info = net.info(txid)
    assert info["receipt"]["result"] == "OUT_OF_ENERGY"
    assert info["receipt"]["energy_usage"] == 10_000
    assert "energy_fee" not in info["receipt"]


def test_unfreeze_waits_then_withdraw(net: Net) -> None:
    freeze_energy(net, A, 100 * TRX)
    assert rejected(
        net, A, "UnfreezeBalanceV2Contract", unfreeze_param(A.address, 101 * TRX, ENERGY)
    ) == (f"Invalid unfreeze_balance, [{101 * TRX}] is error")
    assert rejected(
        net, A, "UnfreezeBalanceV2Contract", unfreeze_param(A.address, TRX, BANDWIDTH)
    ) == ("no frozenBalance(BANDWIDTH)")
    run(net, A, "UnfreezeBalanceV2Contract", unfreeze_param(A.address, 40 * TRX, ENERGY))
    unfreeze_ts = net.chain.head_timestamp
    acct = net.chain.account_json(A.hex)
    assert acct["unfrozenV2"] == [
        {
            "type": "ENERGY",
            "unfreeze_amount": 40 * TRX,
            "unfreeze_expire_time": unfreeze_ts + 14 * DAY,
        }
    ]
    assert acct["frozenV2"][1] == {"type": "ENERGY", "amount": 60 * TRX}
    assert net.chain.account_resource_json(A.hex)["TotalEnergyWeight"] == 60
    assert acct["balance"] == 900 * TRX

    assert rejected(net, A, "WithdrawExpireUnfreezeContract", withdraw_param(A.address)) == (
        "no unFreeze balance to withdraw "
    )
    net.clock.advance(14 * DAY)
    net.produce()
    txid = run(net, A, "WithdrawExpireUnfreezeContract", withdraw_param(A.address))
    assert net.info(txid)["withdraw_expire_amount"] == 40 * TRX
    acct = net.chain.account_json(A.hex)
    assert acct["balance"] == 940 * TRX
    assert "unfrozenV2" not in acct


def test_unfreeze_withdraws_expired_entries_automatically(net: Net) -> None:
    freeze_energy(net, A, 100 * TRX)
    run(net, A, "UnfreezeBalanceV2Contract", unfreeze_param(A.address, 10 * TRX, ENERGY))
    net.clock.advance(15 * DAY)
    net.produce()
    txid = run(net, A, "UnfreezeBalanceV2Contract", unfreeze_param(A.address, 5 * TRX, ENERGY))
    info = net.info(txid)
    assert info["withdraw_expire_amount"] == 10 * TRX
    acct = net.chain.account_json(A.hex)
    assert acct["balance"] == 910 * TRX
    assert [u["unfreeze_amount"] for u in acct["unfrozenV2"]] == [5 * TRX]


def test_delegate_and_undelegate_energy(net: Net) -> None:
    freeze_energy(net, A, 100 * TRX)
    assert rejected(
        net, A, "DelegateResourceContract", delegate_param(A.address, A.address, TRX, ENERGY)
    ) == ("receiverAddress must not be the same as ownerAddress")
    assert f"Account[{C.hex}] not exists" == rejected(
        net, A, "DelegateResourceContract", delegate_param(A.address, C.address, TRX, ENERGY)
    )
    assert (
        rejected(
            net,
            A,
            "DelegateResourceContract",
            delegate_param(A.address, B.address, 101 * TRX, ENERGY),
        )
        == "delegateBalance must be less than available FreezeEnergyV2 balance"
    )
    run(net, A, "DelegateResourceContract", delegate_param(A.address, B.address, 100 * TRX, ENERGY))
    a_acct = net.chain.account_json(A.hex)
    assert a_acct["account_resource"]["delegated_frozenV2_balance_for_energy"] == 100 * TRX
    b_acct = net.chain.account_json(B.hex)
    assert b_acct["account_resource"]["acquired_delegated_frozenV2_balance_for_energy"] == 100 * TRX
    assert net.chain.account_resource_json(B.hex)["EnergyLimit"] == 100_000
    assert "EnergyLimit" not in net.chain.account_resource_json(A.hex)

    # B pays its transfer with A's energy
    tx, txid = net.usdt(B, A.address, 1)
    assert net.chain.submit(tx).ok
    net.produce()
    assert net.info(txid)["receipt"]["energy_usage"] == 64_285

    assert "insufficient delegateFrozenBalance(Energy)" in rejected(
        net,
        A,
        "UnDelegateResourceContract",
        undelegate_param(A.address, B.address, 101 * TRX, ENERGY),
    )
    run(
        net,
        A,
        "UnDelegateResourceContract",
        undelegate_param(A.address, B.address, 100 * TRX, ENERGY),
    )
    assert net.chain.account_resource_json(A.hex)["EnergyLimit"] == 100_000
    assert "EnergyLimit" not in net.chain.account_resource_json(B.hex)
    assert rejected(
        net, A, "UnDelegateResourceContract", undelegate_param(A.address, B.address, TRX, ENERGY)
    ) == ("delegated Resource does not exist")


def test_locked_delegation_cannot_be_undelegated_until_expiry(net: Net) -> None:
    freeze_energy(net, A, 10 * TRX)
    param = delegate_param(A.address, B.address, 10 * TRX, ENERGY, lock=True, period=10)
    run(net, A, "DelegateResourceContract", param)
    msg = rejected(
        net, A, "UnDelegateResourceContract", undelegate_param(A.address, B.address, TRX, ENERGY)
    )
    assert msg == f"insufficient delegateFrozenBalance(Energy), request={TRX}, unlock_balance=0"
    net.clock.advance(31_000)
    net.produce()
    run(net, A, "UnDelegateResourceContract", undelegate_param(A.address, B.address, TRX, ENERGY))


def test_staked_bandwidth_is_used_before_free_net(net: Net) -> None:
    run(net, A, "FreezeBalanceV2Contract", freeze_param(A.address, 10 * TRX, BANDWIDTH))
    before = net.chain.account_resource_json(A.hex)
    assert before["NetLimit"] == 10_000
    tx, txid = net.trx(A, B.address, 1)
    assert net.chain.submit(tx).ok
    net.produce()
    after = net.chain.account_resource_json(A.hex)
    assert after["NetUsed"] == len(tx) + 64
    assert after.get("freeNetUsed", 0) <= before.get("freeNetUsed", 0)
    assert net.info(txid)["receipt"] == {"net_usage": len(tx) + 64}


def test_delegable_amount_excludes_stake_backing_used_energy(net: Net) -> None:
    freeze_energy(net, A, 100 * TRX)
    tx, _ = net.usdt(A, B.address, 1)
    assert net.chain.submit(tx).ok
    net.produce()
    # 64,285 of 100,000 energy used: about 64.3 TRX of the stake backs it
    assert "less than available FreezeEnergyV2" in rejected(
        net, A, "DelegateResourceContract", delegate_param(A.address, B.address, 40 * TRX, ENERGY)
    )
    run(net, A, "DelegateResourceContract", delegate_param(A.address, B.address, 35 * TRX, ENERGY))


def test_new_lock_cannot_be_shorter_than_the_remaining_lock(net: Net) -> None:
    freeze_energy(net, A, 10 * TRX)
    long_lock = delegate_param(A.address, B.address, 2 * TRX, ENERGY, lock=True, period=100)
    run(net, A, "DelegateResourceContract", long_lock)
    short_lock = delegate_param(A.address, B.address, 2 * TRX, ENERGY, lock=True, period=10)
    msg = rejected(net, A, "DelegateResourceContract", short_lock)
    assert msg.startswith("The lock period for ENERGY this time cannot be less than the remaining")
    too_long = delegate_param(A.address, B.address, 2 * TRX, ENERGY, lock=True, period=864_001)
    assert "cannot exceed 864000" in rejected(net, A, "DelegateResourceContract", too_long)
