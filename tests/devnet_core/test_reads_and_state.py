"""Read endpoints' shapes, node-built transactions, view calls and export/replay."""

from __future__ import annotations

import json

import pytest

from tron_devnet.core import proto
from tron_devnet.core.chain import Chain, ChainConfig, ChainError, GenesisAccount
from tron_devnet.core.crypto import sha256

from .helpers import (
    ENERGY,
    T0,
    TRX,
    USDT_HEX,
    Net,
    Wallet,
    delegate_param,
    f_bytes,
    freeze_param,
    keccak256,
    transfer_data,
)

A, B, C = Wallet(1), Wallet(2), Wallet(3)


@pytest.fixture
def net() -> Net:
    n = Net([(A, 1_000 * TRX, 500 * TRX), (B, 50 * TRX, 0)])
    n.produce()
    return n


def call(net: Net, signature: bytes, arg: bytes = b"") -> dict[str, object]:
    return net.chain.trigger_constant(A.hex, USDT_HEX, keccak256(signature)[:4] + arg)


def test_blocks_link_and_ids_follow_java_tron(net: Net) -> None:
    net.produce(3)
    genesis = net.chain.block_json(0)
    assert genesis is not None
    assert "number" not in genesis["block_header"]["raw_data"]  # proto3 zero omitted
    prev = genesis
    for number in range(1, 5):
        block = net.chain.block_json(number)
        assert block is not None
        raw = block["block_header"]["raw_data"]
        assert raw["number"] == number
        assert raw["parentHash"] == prev["blockID"]
        assert raw["timestamp"] == T0 + 3000 * number
        assert block["blockID"][:16] == number.to_bytes(8, "big").hex()
        header = proto.BlockHeaderRaw()
        header.timestamp = raw["timestamp"]
        header.txTrieRoot = bytes.fromhex(raw["txTrieRoot"])
        header.parentHash = bytes.fromhex(raw["parentHash"])
        header.number = number
        header.witness_address = bytes.fromhex(raw["witness_address"])
        header.version = raw["version"]
        assert sha256(header.SerializeToString())[8:].hex() == block["blockID"][16:]
        assert net.chain.block_json_by_id(block["blockID"]) == block
        prev = block
    assert net.chain.block_json(99) is None
    assert net.chain.block_json_by_id("00" * 32) is None
    assert net.chain.block_json_by_id("zz") is None


def test_block_timestamp_follows_a_clock_that_jumps(net: Net) -> None:
    net.clock.advance(3_600_000)
    net.chain.produce_block()
    assert net.chain.head_timestamp == net.clock.now
    net.chain.produce_block()  # clock did not move: previous + interval
    assert net.chain.head_timestamp == net.clock.now + 3000


def test_detail_false_omits_transactions(net: Net) -> None:
    tx, _ = net.trx(A, B.address, 1)
    net.chain.submit(tx)
    block = net.chain.produce_block()
    assert len(block["transactions"]) == 1
    lean = net.chain.block_json(net.chain.head_number, detail=False)
    assert lean is not None
    assert "transactions" not in lean


def test_node_info_and_state(net: Net) -> None:
    net.produce(25)
    info = net.chain.node_info_json()
    head = net.chain.block_json(26)
    solid = net.chain.block_json(26 - 19)
    assert head is not None
    assert solid is not None
    assert info["block"] == f"Num:26,ID:{head['blockID']}"
    assert info["solidityBlock"] == f"Num:7,ID:{solid['blockID']}"
    state = net.chain.state_json()
    assert (state["head"], state["solidified"]) == (26, 7)
    assert state["token"] == {
        "address": USDT_HEX,
        "name": "Tether USD",
        "symbol": "USDT",
        "decimals": 6,
        "total_supply": 500 * TRX,
    }
    assert state["chain_parameters"]["getEnergyFee"] == 100


def test_chain_parameters_and_prices(net: Net) -> None:
    params = {p["key"]: p["value"] for p in net.chain.chain_parameters_json()["chainParameter"]}
    assert params["getEnergyFee"] == 100
    assert params["getTransactionFee"] == 1000
    assert params["getFreeNetLimit"] == 600
    assert params["getTotalEnergyLimit"] == 180_000_000_000
    assert params["getCreateNewAccountFeeInSystemContract"] == 1_000_000
    assert params["getUnfreezeDelayDays"] == 14
    assert net.chain.energy_prices() == f"0:420,{T0}:100"
    assert net.chain.bandwidth_prices() == f"0:10,{T0}:1000"


def test_view_calls(net: Net) -> None:
    def word(out: dict[str, object]) -> int:
        return int(out["constant_result"][0], 16)  # type: ignore[index]

    assert word(call(net, b"decimals()")) == 6
    assert word(call(net, b"totalSupply()")) == 500 * TRX
    assert word(call(net, b"balanceOf(address)", b"\0" * 12 + A.address[1:])) == 500 * TRX
    assert word(call(net, b"isBlackListed(address)", b"\0" * 12 + A.address[1:])) == 0
    net.chain.blacklist(A.hex)
    assert word(call(net, b"isBlackListed(address)", b"\0" * 12 + A.address[1:])) == 1
    assert word(call(net, b"getBlackListStatus(address)", b"\0" * 12 + A.address[1:])) == 1
    name = bytes.fromhex(call(net, b"name()")["constant_result"][0])  # type: ignore[index]
    assert int.from_bytes(name[32:64], "big") == len(b"Tether USD")
    assert name[64 : 64 + 10] == b"Tether USD"
    out = call(net, b"symbol()")
    assert out["result"] == {"result": True}
    assert out["energy_used"] == 1_000
    assert out["transaction"]["raw_data"]["contract"][0]["type"] == "TriggerSmartContract"  # type: ignore[index]


def test_constant_transfer_simulation_does_not_change_state(net: Net) -> None:
    out = net.chain.trigger_constant(A.hex, USDT_HEX, transfer_data(B.address, 5))
    assert out["constant_result"] == ["0" * 63 + "1"]
    assert out["energy_used"] == 130_285
    assert net.tokens(B) == 0
    bad = net.chain.trigger_constant(B.hex, USDT_HEX, transfer_data(A.address, 5))
    assert bytes.fromhex(bad["result"]["message"]).decode() == "REVERT opcode executed"
    assert bad["transaction"]["ret"] == [{"ret": "FAILED"}]
    missing = net.chain.trigger_constant(A.hex, "41" + "22" * 20, b"\0" * 4)
    assert missing["result"]["code"] == "CONTRACT_VALIDATE_ERROR"


def test_estimate_energy(net: Net) -> None:
    est = net.chain.estimate_energy(A.hex, USDT_HEX, transfer_data(B.address, 5))
    assert est == {"result": {"result": True}, "energy_required": 130_285}
    tx, _ = net.usdt(A, B.address, 1)
    net.chain.submit(tx)
    net.produce()
    est = net.chain.estimate_energy(A.hex, USDT_HEX, transfer_data(B.address, 5))
    assert est["energy_required"] == 64_285
    assert net.chain.estimate_energy(B.hex, USDT_HEX, transfer_data(A.address, 5))["result"][
        "code"
    ] == ("CONTRACT_EXE_ERROR")


def test_contract_json(net: Net) -> None:
    contract = net.chain.contract_json(USDT_HEX)
    assert contract["contract_address"] == USDT_HEX
    names = {e.get("name") for e in contract["abi"]["entrys"]}
    assert {"transfer", "balanceOf", "decimals", "isBlackListed", "Transfer"} <= names
    assert net.chain.contract_json(A.hex) == {}
    assert net.chain.account_json(USDT_HEX)["type"] == "Contract"


def test_account_json_unknown_and_invalid(net: Net) -> None:
    assert net.chain.account_json(C.hex) == {}
    assert net.chain.account_json("nothex") == {}
    assert net.chain.account_resource_json(C.hex) == {}


def test_build_transaction_then_sign_and_broadcast(net: Net) -> None:
    value = {"owner_address": A.hex, "to_address": C.hex, "amount": 3 * TRX}
    tx = net.chain.build_transaction("TransferContract", value, memo_hex="6869")
    assert tx["visible"] is False
    raw = bytes.fromhex(tx["raw_data_hex"])
    assert sha256(raw).hex() == tx["txID"]
    head = net.chain.block_json(net.chain.head_number)
    assert head is not None
    assert tx["raw_data"]["ref_block_hash"] == head["blockID"][16:32]
    assert tx["raw_data"]["ref_block_bytes"] == head["blockID"][12:16]
    assert tx["raw_data"]["expiration"] == net.chain.head_timestamp + 60_000
    assert tx["raw_data"]["data"] == "6869"
    assert tx["raw_data"]["contract"][0]["parameter"]["value"] == value
    sig = A.key.sign_recoverable(bytes.fromhex(tx["txID"]), hasher=None)
    signed = f_bytes(1, raw) + f_bytes(2, sig)
    assert net.chain.submit(signed).ok
    signed_json = {"raw_data": tx["raw_data"], "signature": [sig.hex()]}
    assert net.chain.submit_json(signed_json).txid == tx["txID"]
    net.produce()
    assert net.chain.submit_json(signed_json).code == "DUP_TRANSACTION_ERROR"


def test_build_transaction_validates_like_the_builder_servlets(net: Net) -> None:
    with pytest.raises(ChainError) as exc:
        net.chain.build_transaction(
            "TransferContract", {"owner_address": B.hex, "to_address": C.hex, "amount": 60 * TRX}
        )
    assert exc.value.code == "CONTRACT_VALIDATE_ERROR"
    assert exc.value.message == "Validate TransferContract error, balance is not sufficient."
    with pytest.raises(ChainError):
        net.chain.build_transaction("AccountCreateContract", {"owner_address": A.hex})
    tx = net.chain.build_transaction(
        "TriggerSmartContract",
        {
            "owner_address": A.hex,
            "contract_address": USDT_HEX,
            "data": transfer_data(B.address, 1).hex(),
        },
        fee_limit=30 * TRX,
    )
    assert tx["raw_data"]["fee_limit"] == 30 * TRX
    tx = net.chain.build_transaction(
        "FreezeBalanceV2Contract",
        {"owner_address": A.hex, "frozen_balance": 5 * TRX, "resource": "ENERGY"},
    )
    assert tx["raw_data"]["contract"][0]["parameter"]["value"]["resource"] == "ENERGY"


def test_export_state_round_trip_is_exact(net: Net) -> None:
    tx, _ = net.trx(A, C.address, 2 * TRX)
    net.chain.submit(tx)
    tx, _ = net.usdt(A, B.address, 9, nonce=1)
    net.chain.submit(tx, force_revert=True)
    tx, _ = net.usdt(A, C.address, 11, nonce=2)
    net.chain.submit(tx)
    net.produce()
    net.chain.blacklist(B.hex)
    net.chain.mint(C.hex, trx_sun=5 * TRX, usdt_units=7)
    tx, _ = net.build(A, "FreezeBalanceV2Contract", freeze_param(A.address, 100 * TRX, ENERGY))
    net.chain.submit(tx)
    net.produce(2)
    tx, _ = net.build(
        A, "DelegateResourceContract", delegate_param(A.address, C.address, 10 * TRX, ENERGY)
    )
    net.chain.submit(tx)
    net.produce(20)
    tx, pending_id = net.usdt(A, B.address, 1, nonce=3)
    net.chain.submit(tx, hold_blocks=3)
    net.chain.mint(A.hex, trx_sun=1)

    exported = json.loads(json.dumps(net.chain.export_state()))
    copy = Chain.from_state(exported, now_ms=net.clock)
    for w in (A, B, C):
        for solid in (False, True):
            assert copy.account_json(w.hex, solid=solid) == net.chain.account_json(
                w.hex, solid=solid
            )
            assert copy.account_resource_json(
                w.hex, solid=solid
            ) == net.chain.account_resource_json(w.hex, solid=solid)
    assert copy.ledger() == net.chain.ledger()
    assert copy.state_json() == net.chain.state_json()
    for number in range(net.chain.head_number + 1):
        assert copy.block_json(number) == net.chain.block_json(number)
        assert copy.transaction_infos_in_block(number) == net.chain.transaction_infos_in_block(
            number
        )
    assert copy.pending_count == 1
    net.produce(3)
    copy.produce_block()
    copy.produce_block()
    copy.produce_block()
    assert copy.transaction_info(pending_id) == net.chain.transaction_info(pending_id)


def test_from_state_rejects_unknown_format() -> None:
    with pytest.raises(ChainError):
        Chain.from_state({"format": "other"})


def test_genesis_rejects_bad_address() -> None:
    with pytest.raises(ChainError):
        Chain(ChainConfig(genesis_timestamp_ms=T0), [GenesisAccount("41" + "00" * 5, 1)])


def test_builder_message_for_a_missing_contract(net: Net) -> None:
    with pytest.raises(ChainError) as exc:
        net.chain.build_transaction(
            "TriggerSmartContract",
            {"owner_address": A.hex, "contract_address": C.hex, "data": "00000000"},
            fee_limit=TRX,
        )
    assert exc.value.message == "No contract or not a valid smart contract"


def test_node_built_expiration_follows_the_clock_when_the_head_is_stale(net: Net) -> None:
    net.clock.advance(600_000)  # ten minutes without a block
    value = {"owner_address": A.hex, "to_address": B.hex, "amount": 1}
    tx = net.chain.build_transaction("TransferContract", value)
    assert tx["raw_data"]["expiration"] == net.clock.now + 60_000
    sig = A.key.sign_recoverable(bytes.fromhex(tx["txID"]), hasher=None)
    assert net.chain.submit(f_bytes(1, bytes.fromhex(tx["raw_data_hex"])) + f_bytes(2, sig)).ok
    net.chain.produce_block()
    assert net.chain.transaction_info(tx["txID"]) is not None


def test_block_json_is_stable_and_its_lists_are_fresh(net: Net) -> None:
    for i in range(3):
        net.chain.submit(net.trx(A, B.address, 1, nonce=i)[0])
    produced = net.chain.produce_block()
    first = net.chain.block_json(net.chain.head_number)
    second = net.chain.block_json(net.chain.head_number)
    assert first is not None
    assert second is not None
    assert produced == first == second
    first["transactions"].clear()
    assert len(second["transactions"]) == 3
    assert len(net.chain.block_json(net.chain.head_number)["transactions"]) == 3  # type: ignore[index]
