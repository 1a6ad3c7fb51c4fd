"""Cross-check with tronpay's own TRON encoder and signer (tests only: src never imports tronpay).

Two independent implementations must agree byte for byte: tronpay builds and signs, the devnet
decodes, verifies, executes and prints the same raw_data JSON back.
"""

from __future__ import annotations

from typing import Any

from tronpay.tron import builders, codec
from tronpay.tron.keys import PrivateKey

from .helpers import TRX, USDT_HEX, Net, Wallet

KEY = PrivateKey((7).to_bytes(32, "big"))
OWNER = Wallet(7)
DEST = Wallet(8)


def _signed(raw_data: dict[str, Any]) -> tuple[bytes, str]:
    raw = codec.encode_raw_data(raw_data)
    txid = codec.txid(raw)
    return codec.encode_transaction(raw, [KEY.sign_txid(txid)]), txid.hex()


def _ref(net: Net) -> dict[str, Any]:
    block = net.chain.block_json(net.chain.head_number)
    assert block is not None
    ts = block["block_header"]["raw_data"]["timestamp"]
    return {
        "ref": builders.RefBlock.from_block(net.chain.head_number, block["blockID"]),
        "timestamp_ms": ts,
        "expiration_ms": ts + 60_000,
    }


def test_tronpay_built_transfers_execute_and_print_back_identically() -> None:
    assert KEY.address_bytes == OWNER.address
    net = Net([(OWNER, 500 * TRX, 100 * TRX)])
    net.produce()
    trx_raw = builders.build_trx_transfer(OWNER.hex, DEST.hex, 3 * TRX, memo=b"hello", **_ref(net))
    usdt_raw = builders.build_trc20_transfer(
        OWNER.hex, USDT_HEX, DEST.hex, 5 * TRX, fee_limit=50 * TRX, **_ref(net)
    )
    freeze_raw = builders.build_freeze_v2(OWNER.hex, 10 * TRX, "ENERGY", **_ref(net))
    sent = []
    for raw_data in (trx_raw, usdt_raw, freeze_raw):
        tx, txid = _signed(raw_data)
        res = net.chain.submit(tx)
        assert res.ok, res
        assert res.txid == txid
        sent.append((txid, raw_data))
    net.produce()
    for txid, raw_data in sent:
        on_chain = net.chain.transaction_json(txid)
        assert on_chain is not None
        assert on_chain["raw_data"] == raw_data
        assert on_chain["ret"] == [{"contractRet": "SUCCESS"}]
    assert net.tokens(DEST) == 5 * TRX
    assert net.balance(DEST) == 3 * TRX
    assert net.chain.account_json(OWNER.hex)["frozenV2"][1]["amount"] == 10 * TRX


def test_devnet_built_transaction_decodes_in_tronpay() -> None:
    net = Net([(OWNER, 500 * TRX, 0)])
    tx = net.chain.build_transaction(
        "TransferContract", {"owner_address": OWNER.hex, "to_address": DEST.hex, "amount": 7}
    )
    decoded = codec.decode_raw_data(bytes.fromhex(tx["raw_data_hex"]))
    assert decoded == tx["raw_data"]
    assert codec.txid(bytes.fromhex(tx["raw_data_hex"])).hex() == tx["txID"]
