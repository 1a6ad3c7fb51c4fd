"""Every broadcast validation rule, with java-tron's codes and messages."""

from __future__ import annotations

import pytest

from tron_devnet.core import proto
from tron_devnet.core.chain import ChainConfig
from tron_devnet.core.crypto import to_base58

from .helpers import (
    T0,
    TRX,
    USDT_HEX,
    Net,
    Wallet,
    contract_bytes,
    f_bytes,
    raw_bytes,
    sign,
    transfer_param,
    trigger_param,
)

A, B, C = Wallet(1), Wallet(2), Wallet(3)
B_B58 = to_base58(B.address)


@pytest.fixture
def net() -> Net:
    n = Net([(A, 1_000 * TRX, 500 * TRX), (B, 10 * TRX, 0)])
    n.produce()
    return n


def test_too_big_transaction(net: Net) -> None:
    tx, txid = net.trx(A, B.address, TRX, memo=b"x" * (500 * 1024))
    res = net.chain.submit(tx)
    assert (res.ok, res.code, res.txid) == (False, "TOO_BIG_TRANSACTION_ERROR", txid)
    # Manager.validateCommon: serialized size without ret + 2 x 64 result bytes > 500 KiB
    assert res.message.startswith(f"Too big transaction with result, TxId {txid}, the size is ")
    assert res.message.endswith(" bytes, maxTxSize 512000")


def test_size_limit_counts_two_result_allowances(net: Net) -> None:
    """java-tron refuses a transaction whose own size is under 500 KiB when it plus 128 bytes
    of result allowance is over (a lenient check on the bare size would accept it)."""
    probe, _ = net.trx(A, B.address, TRX, memo=b"x" * 1000)
    overhead = len(probe) - 1000 - 3  # everything but the memo (its length prefix grows by 1)
    memo_len = 500 * 1024 - overhead - 64  # tx itself < 512,000 bytes, + 128 > 512,000
    tx, _ = net.trx(A, B.address, TRX, memo=b"x" * memo_len)
    assert len(tx) <= 500 * 1024
    assert len(tx) + 128 > 500 * 1024
    assert net.chain.submit(tx).code == "TOO_BIG_TRANSACTION_ERROR"


def test_malformed_bytes_are_other_error(net: Net) -> None:
    res = net.chain.submit(b"\x0a\xff\xff\xff")
    assert (res.ok, res.code) == (False, "OTHER_ERROR")
    assert res.message.startswith("Error: ")


def test_exactly_one_contract(net: Net) -> None:
    ref_bytes, ref_hash, ts = net.ref()
    c = contract_bytes("TransferContract", transfer_param(A.address, B.address, 1))
    for contracts in ([], [c, c]):
        raw = raw_bytes(
            contracts, ref_bytes=ref_bytes, ref_hash=ref_hash, expiration=ts + 60_000, timestamp=1
        )
        tx, txid = sign(raw, A)
        res = net.chain.submit(tx)
        expected = {  # ContractSizeNotEqualToOneException is a ContractValidateException
            0: "Contract validate error : No contract!",  # ActuatorConstant.CONTRACT_NOT_EXIST
            2: f"Contract validate error : tx {txid} contract size should be exactly 1, "
            "this is extend feature ,actual :2",
        }
        assert (res.code, res.message) == ("CONTRACT_VALIDATE_ERROR", expected[len(contracts)])


def test_duplicate_pending_and_on_chain(net: Net) -> None:
    """java-tron (node.rpc.trxCacheEnable=false, the default): a pending transaction broadcast
    again runs again on the pending state and answers SUCCESS; only one copy reaches a block.
    Once on chain, Manager.validateDup answers DUP_TRANSACTION_ERROR "Dup transaction."."""
    tx, txid = net.trx(A, B.address, TRX)
    assert net.chain.submit(tx).ok
    again = net.chain.submit(tx)
    assert (again.ok, again.txid) == (True, txid)
    net.produce()
    block = net.chain.block_json(net.chain.head_number)
    assert block is not None
    assert [t["txID"] for t in block["transactions"]] == [txid]
    dup = net.chain.submit(tx)
    assert (dup.code, dup.txid, dup.message) == ("DUP_TRANSACTION_ERROR", txid, "Dup transaction.")


def test_pending_rebroadcast_executes_again_on_pending_state(net: Net) -> None:
    """The second copy consumes balance in the pending state like the first (java-tron's
    pending session), so an account that can pay once is refused the second time."""
    tx, txid = net.trx(B, A.address, 6 * TRX)
    assert net.chain.submit(tx).ok
    again = net.chain.submit(tx)
    assert again.code == "CONTRACT_VALIDATE_ERROR"
    assert "balance is not sufficient" in again.message
    net.produce()
    block = net.chain.block_json(net.chain.head_number)
    assert block is not None
    assert [t["txID"] for t in block["transactions"]] == [txid]


def test_on_chain_duplicate_that_expired_is_an_expiration_error(net: Net) -> None:
    """Expiration is checked before the duplicate rule: an included transaction broadcast
    again after its expiration answers TRANSACTION_EXPIRATION_ERROR, not DUP."""
    tx, _ = net.trx(A, B.address, TRX, expiration_delta=4_000)
    assert net.chain.submit(tx).ok
    net.produce(2)
    assert net.chain.submit(tx).code == "TRANSACTION_EXPIRATION_ERROR"


def test_trx_cache_enable_answers_dup_even_after_a_failure() -> None:
    config = ChainConfig(genesis_timestamp_ms=T0, trx_cache_enable=True)
    net = Net([(A, 1_000 * TRX, 0), (B, 10 * TRX, 0)], config=config)
    net.produce()
    tx, txid = net.trx(B, A.address, 50 * TRX)
    first = net.chain.submit(tx)
    assert first.code == "CONTRACT_VALIDATE_ERROR"
    net.chain.mint(B.hex, trx_sun=100 * TRX)
    again = net.chain.submit(tx)
    assert (again.code, again.txid, again.message) == (
        "DUP_TRANSACTION_ERROR",
        txid,
        "Transaction already exists.",
    )


def test_signature_by_another_key(net: Net) -> None:
    tx, _ = net.trx(A, B.address, TRX, signers=(B,))
    res = net.chain.submit(tx)
    assert res.code == "SIGERROR"
    assert res.message.startswith("Validate signature error: ")
    assert res.message.endswith(f"is signed by {B_B58} but it is not contained of permission.")


def test_signature_missing_twice_and_v27(net: Net) -> None:
    ref_bytes, ref_hash, ts = net.ref()
    raw = raw_bytes(
        [contract_bytes("TransferContract", transfer_param(A.address, B.address, 1))],
        ref_bytes=ref_bytes,
        ref_hash=ref_hash,
        expiration=ts + 60_000,
        timestamp=5,
    )
    unsigned = f_bytes(1, raw)
    assert net.chain.submit(unsigned).code == "SIGERROR"
    twice, _ = sign(raw, A, A)
    res = net.chain.submit(twice)
    assert res.code == "SIGERROR"
    assert (
        res.message
        == "Validate signature error: Signature count is 2 more than key counts of permission : 1"
    )
    garbage = f_bytes(1, raw) + f_bytes(2, b"\x01" * 65)
    assert net.chain.submit(garbage).code == "SIGERROR"
    for size in (64, 69):  # Wallet.broadcastTransaction: SignUtils.isValidLength (65..68)
        sized = net.chain.submit(f_bytes(1, raw) + f_bytes(2, b"\x01" * size))
        assert (sized.code, sized.message) == (
            "SIGERROR",
            f"Validate signature error: Signature size is {size}",
        )
    v27, _ = sign(raw, A, v27=True)
    assert net.chain.submit(v27).ok
    signature = proto_signature(v27)
    padded = f_bytes(1, raw) + f_bytes(2, signature + b"\0\0\0")  # 68 bytes: admitted
    assert net.chain.submit(padded).ok  # same txid, still pending: executed again


def proto_signature(tx: bytes) -> bytes:
    return bytes(proto.Transaction.FromString(tx).signature[0])


def test_tapos_unknown_ref_block(net: Net) -> None:
    _, _, ts = net.ref()
    raw = raw_bytes(
        [contract_bytes("TransferContract", transfer_param(A.address, B.address, 1))],
        ref_bytes=b"\x00\x01",
        ref_hash=b"\xaa" * 8,
        expiration=ts + 60_000,
        timestamp=1,
    )
    tx, txid = sign(raw, A)
    res = net.chain.submit(tx)
    assert (res.code, res.txid, res.message) == ("TAPOS_ERROR", txid, "Tapos check error.")


def test_tapos_accepts_any_recent_block(net: Net) -> None:
    old_ref = net.ref()
    net.produce(5)
    raw = raw_bytes(
        [contract_bytes("TransferContract", transfer_param(A.address, B.address, 1))],
        ref_bytes=old_ref[0],
        ref_hash=old_ref[1],
        expiration=net.chain.head_timestamp + 60_000,
        timestamp=1,
    )
    tx, _ = sign(raw, A)
    assert net.chain.submit(tx).ok


@pytest.mark.parametrize(
    ("delta", "ok"),
    [
        (0, False),
        (-1, False),
        (1, False),  # before the next block slot (TransactionCapsule.checkExpiration)
        (2_999, False),
        (3_000, True),  # head + one block interval = the next slot time
        (86_400_000, True),
        (86_400_001, False),
    ],
)
def test_expiration_window(net: Net, delta: int, ok: bool) -> None:
    tx, _ = net.trx(A, B.address, TRX, expiration_delta=delta)
    res = net.chain.submit(tx)
    assert res.ok is ok
    if not ok:
        assert (res.code, res.message) == ("TRANSACTION_EXPIRATION_ERROR", "Transaction expired")


def test_check_order_expiration_then_signature_then_tapos(net: Net) -> None:
    """Wallet.broadcastTransaction checks expiration against the next slot before
    Manager.pushTransaction checks the signature, and the signature before TAPOS."""
    _, _, ts = net.ref()
    c = contract_bytes("TransferContract", transfer_param(A.address, B.address, 1))
    bad_ref = {"ref_bytes": b"\x00\x01", "ref_hash": b"\xaa" * 8, "timestamp": 1}
    expired = raw_bytes([c], expiration=ts - 1, **bad_ref)
    assert net.chain.submit(sign(expired, B)[0]).code == "TRANSACTION_EXPIRATION_ERROR"
    live = raw_bytes([c], expiration=ts + 60_000, **bad_ref)
    assert net.chain.submit(sign(live, B)[0]).code == "SIGERROR"
    assert net.chain.submit(sign(live, A)[0]).code == "TAPOS_ERROR"


def _validate_error(net: Net, tx: bytes) -> str:
    res = net.chain.submit(tx)
    assert res.code == "CONTRACT_VALIDATE_ERROR", res
    assert res.message.startswith("Contract validate error : ")
    return res.message.removeprefix("Contract validate error : ")


def test_transfer_contract_rules(net: Net) -> None:
    assert _validate_error(net, net.trx(A, A.address, TRX)[0]) == "Cannot transfer TRX to yourself."
    assert _validate_error(net, net.trx(A, B.address, 0)[0]) == "Amount must be greater than 0."
    assert _validate_error(net, net.trx(A, b"\x41\x01", 1)[0]) == "Invalid toAddress!"
    assert (
        _validate_error(net, net.trx(A, B.address, 2_000 * TRX)[0])
        == "Validate TransferContract error, balance is not sufficient."
    )
    assert _validate_error(net, net.trx(C, B.address, 1)[0]).endswith("does not exist")
    # ForbidTransferToContract: TRX cannot be sent to a contract account with TransferContract
    assert (
        _validate_error(net, net.trx(A, bytes.fromhex(USDT_HEX), TRX)[0])
        == "Cannot transfer TRX to a smartContract."
    )


def test_transfer_to_new_account_needs_the_creation_fees(net: Net) -> None:
    # B holds 10 TRX; creating C costs 0.1 TRX (bandwidth) + 1 TRX on top of the amount
    tx, _ = net.trx(B, C.address, 8_900_001)
    assert "balance is not sufficient" in _validate_error(net, tx)
    assert net.chain.submit(net.trx(B, C.address, 8_900_000)[0]).ok


def test_validation_sees_pending_transactions(net: Net) -> None:
    assert net.chain.submit(net.trx(B, A.address, 6 * TRX)[0]).ok
    tx, _ = net.trx(B, A.address, 6 * TRX, nonce=1)
    assert "balance is not sufficient" in _validate_error(net, tx)


def test_wrong_type_url(net: Net) -> None:
    tx, _ = net.build(
        A,
        "TransferContract",
        transfer_param(A.address, B.address, 1),
        type_url="type.googleapis.com/protocol.TriggerSmartContract",
    )
    assert "contract type error" in _validate_error(net, tx)


def test_trigger_rules(net: Net) -> None:
    bad = bytes.fromhex("41" + "11" * 20)
    tx, _ = net.build(
        A, "TriggerSmartContract", trigger_param(A.address, bad, b"\x00" * 4), fee_limit=TRX
    )
    assert _validate_error(net, tx) == "No contract or not a smart contract"
    usdt = bytes.fromhex(USDT_HEX)
    tx, _ = net.build(
        A, "TriggerSmartContract", trigger_param(A.address, usdt, b"\0" * 4), fee_limit=15_001 * TRX
    )
    assert _validate_error(net, tx) == "feeLimit must be >= 0 and <= 15000000000"


def test_bandwidth_error_when_no_free_net_and_no_trx() -> None:
    poor = Wallet(9)
    net = Net([(A, 100 * TRX, 0)])
    net.chain.mint(poor.hex, trx_sun=1)  # exists, 1 sun
    net.produce()
    # a small tx fits in the free 600 bytes/day, so the contract check decides
    small, _ = net.trx(poor, A.address, 5)
    assert "balance is not sufficient" in _validate_error(net, small)
    big_memo = b"m" * 700  # > 600 free bytes, cannot burn with 1 sun
    tx, _ = net.trx(poor, A.address, 1, memo=big_memo)
    res = net.chain.submit(tx)
    assert (res.code, res.message) == ("BANDWITH_ERROR", "Account resource insufficient error.")


def test_memo_fee_needs_balance() -> None:
    cfg = ChainConfig(genesis_timestamp_ms=T0, memo_fee_sun=5 * TRX)
    net = Net([(A, 100 * TRX, 0), (B, 3 * TRX, 0)], cfg)
    tx, _ = net.trx(B, A.address, 1, memo=b"hi")
    assert net.chain.submit(tx).code == "BANDWITH_ERROR"
    tx, txid = net.trx(A, B.address, TRX, memo=b"hi")
    assert net.chain.submit(tx).ok
    net.produce()
    assert net.info(txid)["fee"] == 5 * TRX
    assert net.balance(A) == 94 * TRX


@pytest.mark.slow
def test_tapos_ring_forgets_blocks_older_than_65536() -> None:
    net = Net([(A, 100 * TRX, 0)])
    net.produce()
    block1 = net.chain.block_json(1)
    assert block1 is not None
    block_id = bytes.fromhex(block1["blockID"])

    def ref_block_1_tx(nonce: int) -> bytes:
        raw = raw_bytes(
            [contract_bytes("TransferContract", transfer_param(A.address, B.address, 1))],
            ref_bytes=block_id[6:8],
            ref_hash=block_id[8:16],
            expiration=net.chain.head_timestamp + 60_000,
            timestamp=nonce,
        )
        return sign(raw, A)[0]

    for _ in range(65_535 - 1):
        net.chain.produce_block(detail=False)
    assert net.chain.head_number == 65_535
    assert net.chain.submit(ref_block_1_tx(1)).ok  # still among the last 65,536 blocks
    net.chain.produce_block(detail=False)  # block 65,537 takes block 1's ring slot
    net.chain.produce_block(detail=False)
    assert net.chain.submit(ref_block_1_tx(2)).code == "TAPOS_ERROR"


def test_trigger_call_value_rules(net: Net) -> None:
    usdt = bytes.fromhex(USDT_HEX)
    for value, message in (
        (-1, "callValue must be >= 0"),
        (2_000 * TRX, "Validate InternalTransfer error, balance is not sufficient."),
    ):
        param = trigger_param(A.address, usdt, b"\0" * 4, call_value=value)
        tx, _ = net.build(A, "TriggerSmartContract", param, fee_limit=TRX)
        assert _validate_error(net, tx) == message
