"""Stake 2.0 beyond the basics: CancelAllUnfreezeV2, the 32 pending unstakes limit, time travel
and java-tron's staking reads (delegations, withdrawable amount, unfreeze count, delegable)."""

from __future__ import annotations

import pytest

from tron_devnet.core.chain import Chain, ChainConfig, ChainError

from .helpers import (
    BANDWIDTH,
    ENERGY,
    T0,
    TRX,
    Net,
    Wallet,
    cancel_unfreezes_param,
    delegate_param,
    freeze_param,
    unfreeze_param,
)

A, B, C = Wallet(11), Wallet(12), Wallet(13)
DAY = 86_400_000


@pytest.fixture
def net() -> Net:
    cfg = ChainConfig(genesis_timestamp_ms=T0, total_energy_limit=100_000, total_net_limit=10_000)
    n = Net([(A, 1_000 * TRX, 500 * TRX), (B, 50 * TRX, 1)], cfg)
    n.produce()
    return n


def run(net: Net, wallet: Wallet, name: str, param: bytes, nonce: int = 0) -> str:
    tx, txid = net.build(wallet, name, param, nonce=nonce)
    res = net.chain.submit(tx)
    assert res.ok, res
    net.produce()
    return txid


def rejected(net: Net, wallet: Wallet, name: str, param: bytes) -> str:
    tx, _ = net.build(wallet, name, param, nonce=7)
    res = net.chain.submit(tx)
    assert res.code == "CONTRACT_VALIDATE_ERROR", res
    return res.message.removeprefix("Contract validate error : ")


def freeze(net: Net, wallet: Wallet, amount: int, resource: int = ENERGY) -> None:
    run(net, wallet, "FreezeBalanceV2Contract", freeze_param(wallet.address, amount, resource))


def unfreeze(net: Net, wallet: Wallet, amount: int, resource: int = ENERGY) -> str:
    param = unfreeze_param(wallet.address, amount, resource)
    return run(net, wallet, "UnfreezeBalanceV2Contract", param)


def test_cancel_all_unfreezes_restakes_pending_and_withdraws_expired(net: Net) -> None:
    assert rejected(net, A, "CancelAllUnfreezeV2Contract", cancel_unfreezes_param(A.address)) == (
        "No unfreezeV2 list to cancel"
    )
    freeze(net, A, 100 * TRX)
    freeze(net, A, 20 * TRX, BANDWIDTH)
    unfreeze(net, A, 10 * TRX)
    net.clock.advance(15 * DAY)
    net.produce()
    unfreeze(net, A, 30 * TRX)
    unfreeze(net, A, 5 * TRX, BANDWIDTH)
    acct = net.chain.account_json(A.hex)
    assert acct["frozenV2"][1]["amount"] == 60 * TRX
    assert net.chain.account_resource_json(A.hex)["TotalEnergyWeight"] == 60

    txid = run(net, A, "CancelAllUnfreezeV2Contract", cancel_unfreezes_param(A.address))
    info = net.info(txid)
    # the second unfreeze already withdrew the first, expired entry
    assert "withdraw_expire_amount" not in info
    assert info["cancel_unfreezeV2_amount"] == [
        {"key": "BANDWIDTH", "value": 5 * TRX},
        {"key": "ENERGY", "value": 30 * TRX},
        {"key": "TRON_POWER", "value": 0},
    ]
    acct = net.chain.account_json(A.hex)
    assert "unfrozenV2" not in acct
    assert acct["frozenV2"][0] == {"amount": 20 * TRX}
    assert acct["frozenV2"][1] == {"type": "ENERGY", "amount": 90 * TRX}
    assert acct["balance"] == 890 * TRX
    assert net.chain.account_resource_json(A.hex)["TotalEnergyWeight"] == 90


def test_cancel_all_withdraws_what_has_expired(net: Net) -> None:
    freeze(net, A, 100 * TRX)
    unfreeze(net, A, 10 * TRX)
    net.clock.advance(14 * DAY)
    net.produce()
    txid = run(net, A, "CancelAllUnfreezeV2Contract", cancel_unfreezes_param(A.address))
    info = net.info(txid)
    assert info["withdraw_expire_amount"] == 10 * TRX
    assert {e["key"]: e["value"] for e in info["cancel_unfreezeV2_amount"]}["ENERGY"] == 0
    assert net.balance(A) == 910 * TRX


def test_at_most_32_pending_unstakes(net: Net) -> None:
    freeze(net, A, 100 * TRX)
    assert net.chain.available_unfreeze_count(A.hex) == {"count": 32}
    for n in range(32):
        tx, _ = net.build(
            A, "UnfreezeBalanceV2Contract", unfreeze_param(A.address, TRX, ENERGY), nonce=n
        )
        assert net.chain.submit(tx).ok
    net.produce()
    assert net.chain.available_unfreeze_count(A.hex) == {}
    assert rejected(
        net, A, "UnfreezeBalanceV2Contract", unfreeze_param(A.address, TRX, ENERGY)
    ) == ("Invalid unfreeze operation, unfreezing times is over limit")
    net.chain.seal_block_at(net.chain.head_timestamp + 14 * DAY)
    assert net.chain.available_unfreeze_count(A.hex) == {"count": 32}


def test_can_withdraw_unfreeze_amount_by_timestamp(net: Net) -> None:
    freeze(net, A, 100 * TRX)
    unfreeze(net, A, 7 * TRX)
    first_expiry = net.chain.head_timestamp + 14 * DAY
    unfreeze(net, A, 3 * TRX)
    assert net.chain.can_withdraw_unfreeze_amount(A.hex, net.chain.head_timestamp) == {}
    assert net.chain.can_withdraw_unfreeze_amount(A.hex, first_expiry) == {"amount": 7 * TRX}
    later = first_expiry + DAY
    assert net.chain.can_withdraw_unfreeze_amount(A.hex, later) == {"amount": 10 * TRX}
    with pytest.raises(ChainError):
        net.chain.can_withdraw_unfreeze_amount(A.hex, -1)
    assert net.chain.can_withdraw_unfreeze_amount(C.hex, later) == {}


def test_delegated_resource_v2_lists_unlocked_and_locked_records(net: Net) -> None:
    freeze(net, A, 100 * TRX)
    freeze(net, A, 10 * TRX, BANDWIDTH)
    assert net.chain.delegated_resource_v2(A.hex, B.hex) == {}
    run(net, A, "DelegateResourceContract", delegate_param(A.address, B.address, 20 * TRX, ENERGY))
    param = delegate_param(A.address, B.address, 30 * TRX, ENERGY, lock=True, period=100)
    run(net, A, "DelegateResourceContract", param, nonce=1)
    lock_ts = net.chain.head_timestamp
    param = delegate_param(A.address, B.address, 4 * TRX, BANDWIDTH)
    run(net, A, "DelegateResourceContract", param, nonce=2)
    assert net.chain.delegated_resource_v2(A.hex, B.hex) == {
        "delegatedResource": [
            {
                "from": A.hex,
                "to": B.hex,
                "frozen_balance_for_bandwidth": 4 * TRX,
                "frozen_balance_for_energy": 20 * TRX,
            },
            {
                "from": A.hex,
                "to": B.hex,
                "frozen_balance_for_energy": 30 * TRX,
                "expire_time_for_energy": lock_ts + 100 * 3000,
            },
        ]
    }
    assert net.chain.delegated_index_v2(A.hex) == {"account": A.hex, "toAccounts": [B.hex]}
    assert net.chain.delegated_index_v2(B.hex) == {"account": B.hex, "fromAccounts": [A.hex]}
    assert net.chain.delegated_index_v2(C.hex) == {}


def test_can_delegated_max_size_is_stake_not_backing_usage(net: Net) -> None:
    assert net.chain.can_delegated_max_size(A.hex, ENERGY) == {}
    freeze(net, A, 100 * TRX)
    assert net.chain.can_delegated_max_size(A.hex, ENERGY) == {"max_size": 100 * TRX}
    # a transfer uses 64,285 of the 100,000 energy: 64.285 % of the stake backs it
    tx, _ = net.usdt(A, B.address, 1)
    assert net.chain.submit(tx).ok
    net.produce()
    size = net.chain.can_delegated_max_size(A.hex, ENERGY)["max_size"]
    assert 35 * TRX < size < 36 * TRX
    with pytest.raises(ChainError):
        net.chain.can_delegated_max_size(A.hex, 2)


def test_time_travel_recovers_energy_and_survives_export(net: Net) -> None:
    freeze(net, A, 100 * TRX)
    tx, _ = net.usdt(A, B.address, 1)
    assert net.chain.submit(tx).ok
    net.produce()
    assert net.chain.account_resource_json(A.hex)["EnergyUsed"] == 64_285
    before = net.chain.head_timestamp
    net.chain.advance_time(DAY // 2)
    assert net.chain.head_timestamp == before + DAY // 2
    used = net.chain.account_resource_json(A.hex)["EnergyUsed"]
    assert 32_000 < used < 32_200  # half of the 24 h window has passed
    net.chain.advance_time(DAY)
    assert "EnergyUsed" not in net.chain.account_resource_json(A.hex)
    with pytest.raises(ChainError):
        net.chain.advance_time(0)
    copy = Chain.from_state(net.chain.export_state(), now_ms=net.clock)
    assert copy.head_timestamp == net.chain.head_timestamp
    assert copy.account_resource_json(A.hex) == net.chain.account_resource_json(A.hex)
