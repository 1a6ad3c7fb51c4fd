"""Execution paths: TRX, USDT energy, OUT_OF_ENERGY, REVERTs, options, solidification, ledger."""

from __future__ import annotations

import pytest

from tron_devnet.core.chain import ChainConfig

from .helpers import (
    T0,
    TRX,
    USDT_HEX,
    Net,
    Wallet,
    keccak256,
    transfer_data,
    trigger_param,
)

A, B, C = Wallet(1), Wallet(2), Wallet(3)
TRANSFER_TOPIC = keccak256(b"Transfer(address,address,uint256)").hex()


@pytest.fixture
def net() -> Net:
    # genesis timestamps are T0; A and B are holders, C does not exist
    n = Net([(A, 1_000 * TRX, 500 * TRX), (B, 50 * TRX, 1)])
    n.produce()
    return n


def test_trx_to_existing_account_uses_free_bandwidth(net: Net) -> None:
    tx, txid = net.trx(A, B.address, 5 * TRX)
    assert net.chain.submit(tx).ok
    assert net.chain.transaction_info(txid) is None  # pending
    net.produce()
    info = net.info(txid)
    size = len(tx) + 64
    assert info["receipt"] == {"net_usage": size}
    assert "fee" not in info
    assert info["contractResult"] == [""]
    assert info["blockNumber"] == 2
    assert net.balance(A) == 995 * TRX
    assert net.balance(B) == 55 * TRX
    tx_json = net.chain.transaction_json(txid)
    assert tx_json is not None
    assert tx_json["ret"] == [{"contractRet": "SUCCESS"}]
    assert tx_json["raw_data"]["contract"][0]["parameter"]["value"]["amount"] == 5 * TRX


def test_trx_to_new_account_burns_creation_fee(net: Net) -> None:
    tx, txid = net.trx(A, C.address, 2 * TRX)
    assert net.chain.submit(tx).ok
    net.produce()
    info = net.info(txid)
    # 0.1 TRX for the bandwidth of an account creation (never free) + 1 TRX creation fee
    assert info["fee"] == 1_100_000
    assert info["receipt"] == {"net_fee": 100_000}
    assert net.balance(A) == 1_000 * TRX - 2 * TRX - 1_100_000
    acct = net.chain.account_json(C.hex)
    assert acct["balance"] == 2 * TRX
    assert acct["create_time"] == net.chain.head_timestamp


def test_bandwidth_burned_when_free_net_is_used_up(net: Net) -> None:
    first, _ = net.trx(A, B.address, TRX, memo=b"x" * 300)
    second, txid2 = net.trx(A, B.address, TRX, nonce=1)
    cfg_memo_fee = net.chain.config.memo_fee_sun
    assert net.chain.submit(first).ok
    assert net.chain.submit(second).ok
    net.produce()
    info = net.info(txid2)
    assert info["receipt"] == {"net_fee": (len(second) + 64) * 1000}
    assert info["fee"] == (len(second) + 64) * 1000
    assert net.balance(A) == 1_000 * TRX - 2 * TRX - cfg_memo_fee - info["fee"]


def test_usdt_to_existing_holder(net: Net) -> None:
    tx, txid = net.usdt(A, B.address, 7 * TRX)
    assert net.chain.submit(tx).ok
    net.produce()
    info = net.info(txid)
    receipt = info["receipt"]
    assert receipt["energy_usage_total"] == 64_285
    assert receipt["energy_fee"] == 64_285 * 100
    assert receipt["result"] == "SUCCESS"
    assert "energy_usage" not in receipt
    assert info["contract_address"] == USDT_HEX
    assert info["contractResult"] == ["0" * 63 + "1"]
    assert "result" not in info
    log = info["log"][0]
    assert log["address"] == USDT_HEX[2:]
    assert log["topics"] == [TRANSFER_TOPIC, "0" * 24 + A.hex[2:], "0" * 24 + B.hex[2:]]
    assert int(log["data"], 16) == 7 * TRX
    assert net.tokens(A) == 493 * TRX
    assert net.tokens(B) == 7 * TRX + 1
    assert info["fee"] == receipt["energy_fee"] + receipt.get("net_fee", 0)


def test_usdt_to_new_holder_costs_more_energy(net: Net) -> None:
    tx, txid = net.usdt(A, C.address, TRX)
    assert net.chain.submit(tx).ok
    net.produce()
    assert net.info(txid)["receipt"]["energy_usage_total"] == 130_285
    assert net.tokens(C) == TRX
    assert net.chain.account_json(C.hex) == {}  # a token holder is not a TRON account


def test_out_of_energy_burns_fee_limit_and_moves_nothing(net: Net) -> None:
    tx, txid = net.usdt(A, C.address, TRX, fee_limit=10 * TRX)
    assert net.chain.submit(tx).ok
    net.produce()
    info = net.info(txid)
    assert info["result"] == "FAILED"
    assert info["receipt"]["result"] == "OUT_OF_ENERGY"
    assert info["receipt"]["energy_fee"] == 10 * TRX
    assert info["receipt"]["energy_usage_total"] == 100_000
    assert bytes.fromhex(info["resMessage"]).decode().startswith("Not enough energy")
    assert net.tokens(A) == 500 * TRX
    assert net.tokens(C) == 0
    tx_json = net.chain.transaction_json(txid)
    assert tx_json is not None
    assert tx_json["ret"] == [{"contractRet": "OUT_OF_ENERGY"}]
    entry = next(e for e in net.chain.ledger()["transactions"] if e["txid"] == txid)
    assert entry["result"] == "OUT_OF_ENERGY"


def _assert_reverted(net: Net, txid: str, energy: int) -> None:
    info = net.info(txid)
    assert info["result"] == "FAILED"
    assert info["receipt"]["result"] == "REVERT"
    assert info["receipt"]["energy_usage_total"] == energy
    assert info["receipt"]["energy_fee"] == energy * 100
    assert bytes.fromhex(info["resMessage"]).decode() == "REVERT opcode executed"
    assert "log" not in info


def test_revert_blacklisted_sender(net: Net) -> None:
    net.chain.blacklist(A.hex)
    tx, txid = net.usdt(A, B.address, TRX)
    assert net.chain.submit(tx).ok  # a REVERT is on chain, not a broadcast error
    net.produce()
    _assert_reverted(net, txid, 1_600)
    assert net.tokens(A) == 500 * TRX
    net.chain.blacklist(A.hex, listed=False)
    tx, txid = net.usdt(A, B.address, TRX)
    net.chain.submit(tx)
    net.produce()
    assert net.info(txid)["receipt"]["result"] == "SUCCESS"


def test_revert_insufficient_tokens(net: Net) -> None:
    tx, txid = net.usdt(B, A.address, 2)
    assert net.chain.submit(tx).ok
    net.produce()
    _assert_reverted(net, txid, 2_700)
    assert net.tokens(B) == 1


def test_forced_revert_burns_full_energy(net: Net) -> None:
    before = net.balance(A)
    tx, txid = net.usdt(A, B.address, TRX)
    assert net.chain.submit(tx, force_revert=True).ok
    net.produce()
    _assert_reverted(net, txid, 64_285)
    assert net.tokens(B) == 1
    assert before - net.balance(A) == net.info(txid)["fee"]


def test_transfer_to_the_zero_address_reverts(net: Net) -> None:
    """Tether's BasicToken.transfer requires _to != address(0)."""
    zero = b"\x41" + b"\0" * 20
    tx, txid = net.usdt(A, zero, 1)
    assert net.chain.submit(tx).ok
    net.produce()
    assert net.info(txid)["receipt"]["result"] == "REVERT"
    assert net.tokens(zero) == 0


def test_malformed_calldata_reverts(net: Net) -> None:
    usdt = bytes.fromhex(USDT_HEX)
    dirty = bytearray(transfer_data(B.address, 1))
    dirty[15] = 0x41  # address word with a non-zero upper byte
    for data in (transfer_data(B.address, 1)[:-1], bytes(dirty), b"\xde\xad\xbe\xef"):
        tx, txid = net.build(
            A, "TriggerSmartContract", trigger_param(A.address, usdt, data), fee_limit=100 * TRX
        )
        assert net.chain.submit(tx).ok
        net.produce()
        assert net.info(txid)["receipt"]["result"] == "REVERT"


def test_hold_blocks_delays_inclusion(net: Net) -> None:
    tx, txid = net.trx(A, B.address, TRX)
    assert net.chain.submit(tx, hold_blocks=2).ok
    net.produce(2)
    assert net.chain.transaction_info(txid) is None
    assert net.chain.submit(tx).ok  # still pending: java-tron re-executes and answers SUCCESS
    net.produce()
    assert net.info(txid)["blockNumber"] == 4
    assert net.chain.submit(tx).code == "DUP_TRANSACTION_ERROR"


def test_never_include_is_accepted_then_expires(net: Net) -> None:
    tx, txid = net.trx(A, B.address, TRX, expiration_delta=9_000)
    res = net.chain.submit(tx, never_include=True)
    assert res.ok
    net.produce(5)
    assert net.chain.transaction_info(txid) is None
    assert net.balance(A) == 1_000 * TRX
    # expiration is checked before any duplicate rule
    assert net.chain.submit(tx).code == "TRANSACTION_EXPIRATION_ERROR"


def test_never_include_keeps_its_txid_known_while_valid(net: Net) -> None:
    tx, _ = net.trx(A, B.address, TRX)
    assert net.chain.submit(tx, never_include=True).ok
    net.produce()
    assert net.chain.submit(tx).code == "DUP_TRANSACTION_ERROR"


def test_expired_pending_transaction_is_dropped(net: Net) -> None:
    tx, txid = net.trx(A, B.address, TRX, expiration_delta=4_000)
    assert net.chain.submit(tx, hold_blocks=2).ok
    net.produce(3)
    assert net.chain.transaction_json(txid) is None
    assert net.balance(B) == 50 * TRX


def test_pending_revalidated_at_inclusion(net: Net) -> None:
    # A held transfer of B's whole balance: B spends it elsewhere first
    tx_held, held = net.trx(B, A.address, 40 * TRX)
    assert net.chain.submit(tx_held, hold_blocks=1).ok
    # the pending view already counts the held spend
    tx_other, _ = net.trx(B, C.address, 20 * TRX)
    assert net.chain.submit(tx_other).code == "CONTRACT_VALIDATE_ERROR"
    net.produce(2)
    assert net.info(held)["blockNumber"] == 3


def test_arrival_order_within_a_block(net: Net) -> None:
    txids = []
    for i in range(5):
        tx, txid = net.usdt(A, B.address, i + 1, nonce=i)
        assert net.chain.submit(tx).ok
        txids.append(txid)
    net.produce()
    block = net.chain.block_json(net.chain.head_number)
    assert block is not None
    assert [t["txID"] for t in block["transactions"]] == txids
    infos = net.chain.transaction_infos_in_block(net.chain.head_number)
    assert [i["id"] for i in infos] == txids


def test_solidification_lag_for_accounts_infos_and_tokens() -> None:
    cfg = ChainConfig(genesis_timestamp_ms=T0, solidify_depth=3)
    net = Net([(A, 100 * TRX, 10 * TRX)], cfg)
    tx, txid = net.usdt(A, B.address, TRX)
    assert net.chain.submit(tx).ok
    tx2, txid2 = net.trx(A, B.address, TRX, nonce=1)
    assert net.chain.submit(tx2).ok
    net.produce()  # block 1 holds both
    for _ in range(3):
        assert net.chain.transaction_info(txid, solid=True) is None
        assert net.chain.transaction_json(txid2, solid=True) is None
        assert net.chain.transaction_infos_in_block(1, solid=True) == []
        assert net.chain.account_json(B.hex, solid=True) == {}
        assert net.tokens(B, solid=True) == 0
        assert net.balance(A, solid=True) == 100 * TRX
        assert net.chain.solid_number < 1
        net.produce()
    assert net.chain.solid_number == 1
    assert net.chain.transaction_info(txid, solid=True) == net.info(txid)
    assert net.chain.transaction_json(txid2, solid=True) is not None
    assert net.tokens(B, solid=True) == TRX
    assert net.chain.account_json(B.hex, solid=True) == net.chain.account_json(B.hex)
    assert net.chain.account_json(A.hex, solid=True) == net.chain.account_json(A.hex)


def test_mint_reaches_solid_state_with_the_next_block() -> None:
    cfg = ChainConfig(genesis_timestamp_ms=T0, solidify_depth=2)
    net = Net([], cfg)
    net.chain.mint(C.hex, trx_sun=3 * TRX, usdt_units=4)
    assert net.balance(C) == 3 * TRX
    assert net.tokens(C) == 4
    assert net.balance(C, solid=True) == 0
    net.produce(3)
    assert net.balance(C, solid=True) == 3 * TRX
    assert net.tokens(C, solid=True) == 4


def test_ledger_lists_accounts_and_every_executed_transfer(net: Net) -> None:
    t1, id1 = net.trx(A, C.address, 2 * TRX)
    t2, id2 = net.usdt(A, B.address, 3)
    t3, id3 = net.usdt(B, A.address, 100)  # reverts: B holds 4 units after t2
    for tx in (t1, t2, t3):
        assert net.chain.submit(tx).ok
    net.produce()
    ledger = net.chain.ledger()
    rows = {e["txid"]: e for e in ledger["transactions"]}
    assert rows[id1] == {
        "txid": id1,
        "block": 2,
        "asset": "TRX",
        "type": "TransferContract",
        "from": A.hex,
        "to": C.hex,
        "amount": 2 * TRX,
        "fee": 1_100_000,
        "result": "SUCCESS",
    }
    assert (rows[id2]["asset"], rows[id2]["amount"], rows[id2]["to"]) == ("USDT", 3, B.hex)
    assert rows[id3]["result"] == "REVERT"
    accounts = {a["address"]: a for a in ledger["accounts"]}
    assert accounts[B.hex]["usdt_units"] == 4
    assert accounts[C.hex]["trx_sun"] == 2 * TRX


def test_inclusion_checks_expiration_against_the_parent_block_like_java_tron(net: Net) -> None:
    tx, txid = net.trx(A, B.address, TRX, expiration_delta=60_000)
    assert net.chain.submit(tx).ok
    net.clock.advance(600_000)  # the next block is stamped ten minutes later
    net.chain.produce_block()
    assert net.info(txid)["blockNumber"] == 2


def test_dynamic_energy_factor_charges_a_penalty() -> None:
    """trc20_energy_factor_permille models mainnet's dynamic energy model: the transfer costs
    more, the receipt shows energy_penalty_total, estimates include it, and a fee_limit sized
    for the base figure runs out of energy."""
    config = ChainConfig(genesis_timestamp_ms=T0, trc20_energy_factor_permille=500)
    net = Net([(A, 1_000 * TRX, 500 * TRX), (B, 50 * TRX, 1)], config=config)
    net.produce()
    est = net.chain.estimate_energy(A.hex, USDT_HEX, transfer_data(B.address, 1))
    assert est["energy_required"] == 64_285 + 32_142
    tx, txid = net.usdt(A, B.address, 1)
    assert net.chain.submit(tx).ok
    tight, tight_id = net.usdt(C, B.address, 1, fee_limit=64_285 * 100)  # base figure only
    net.chain.mint(C.hex, trx_sun=100 * TRX, usdt_units=5)
    assert net.chain.submit(tight).ok
    net.produce()
    receipt = net.info(txid)["receipt"]
    assert receipt["energy_usage_total"] == 96_427
    assert receipt["energy_penalty_total"] == 32_142
    assert net.info(tight_id)["receipt"]["result"] == "OUT_OF_ENERGY"
    params = {p["key"]: p["value"] for p in net.chain.chain_parameters_json()["chainParameter"]}
    assert params["getAllowDynamicEnergy"] == 1
