"""Decoding a broadcast Transaction and checking its signatures (java-tron's order and text)."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError

from tron_devnet.core import proto
from tron_devnet.core.crypto import SignatureError, recover_address, sha256, to_base58
from tron_devnet.core.execution import TxInput
from tron_devnet.core.records import TxRecord
from tron_devnet.core.types import SubmitResult

MAX_TX_BYTES = 500 * 1024  # java-tron Constant.TRANSACTION_MAX_BYTE_SIZE
BANDWIDTH_EXTRA_BYTES = 64  # java-tron Constant.MAX_RESULT_SIZE_IN_TX
SIGNATURE_BYTES = 65
MAX_ADMITTED_SIGNATURE_BYTES = 68  # Wallet.broadcastTransaction: SignUtils.isValidLength
NO_CONTRACT = "No contract!"  # java-tron ActuatorConstant.CONTRACT_NOT_EXIST


@dataclass(frozen=True, slots=True)
class DecodedTx:
    """A broadcast that parsed: its record and its signatures as received."""

    record: TxRecord
    signatures: list[bytes]


def multi_contract_message(txid: str, count: int) -> str:
    """Manager.processTransaction's text for a transaction with several contracts."""
    return f"tx {txid} contract size should be exactly 1, this is extend feature ,actual :{count}"


# java-tron (GreatVoyage v4.8) Wallet.broadcastTransaction: message per code (prefix + detail)
BROADCAST_MESSAGES = {
    "SIGERROR": "Validate signature error: ",
    "CONTRACT_VALIDATE_ERROR": "Contract validate error : ",
    "CONTRACT_EXE_ERROR": "Contract execute error : ",
    "TOO_BIG_TRANSACTION_ERROR": "",  # the exception's own text
    "OTHER_ERROR": "Error: ",
}
FIXED_MESSAGES = {
    "BANDWITH_ERROR": "Account resource insufficient error.",
    "DUP_TRANSACTION_ERROR": "Dup transaction.",  # Manager.validateDup: already on chain
    "TAPOS_ERROR": "Tapos check error.",
    "TRANSACTION_EXPIRATION_ERROR": "Transaction expired",
}
# node.rpc.trxCacheEnable = true: the txid cache answers before any validation
CACHED_DUP_MESSAGE = "Transaction already exists."


def fail(txid: str, code: str, detail: str = "") -> SubmitResult:
    if code in FIXED_MESSAGES:
        return SubmitResult(False, txid, code, FIXED_MESSAGES[code])
    return SubmitResult(False, txid, code, BROADCAST_MESSAGES.get(code, "") + detail)


def txid_of(tx_bytes: bytes) -> str:
    """The txid of serialized Transaction bytes ("" when they do not parse)."""
    try:
        tx = proto.Transaction.FromString(tx_bytes)
    except DecodeError:
        return ""
    return sha256(tx.raw_data.SerializeToString()).hex()


def size_error(txid: str, size: int, data_len: int) -> SubmitResult | None:
    """Manager.validateCommon's size rule: the serialized transaction without ``ret`` plus two
    result allowances (2 x 64 bytes) must fit TRANSACTION_MAX_BYTE_SIZE, and so must the bytes
    as received."""
    general = size + 2 * BANDWIDTH_EXTRA_BYTES
    if general > MAX_TX_BYTES:
        return fail(
            txid,
            "TOO_BIG_TRANSACTION_ERROR",
            f"Too big transaction with result, TxId {txid}, the size is {general} bytes, "
            f"maxTxSize {MAX_TX_BYTES}",
        )
    if data_len > MAX_TX_BYTES:
        return fail(
            txid,
            "TOO_BIG_TRANSACTION_ERROR",
            f"too big transaction, the size is {data_len} bytes",
        )
    return None


def decode(tx_bytes: bytes, *, force_revert: bool) -> DecodedTx | SubmitResult:
    """The record and signatures of a serialized Transaction, or the broadcast failure.

    Only what java-tron checks before anything else happens here (Wallet.broadcastTransaction):
    the bytes parse, every signature is 65 bytes, there is a contract. The size and the
    one-contract rule are checked later (``TxRecord.input.size``, ``TxRecord.contracts``),
    after signature, TAPOS and expiration, as Manager.processTransaction does."""
    try:
        tx = proto.Transaction.FromString(tx_bytes)
    except DecodeError as exc:
        if len(tx_bytes) > MAX_TX_BYTES:
            return fail("", "TOO_BIG_TRANSACTION_ERROR", "transaction size is too big")
        return fail("", "OTHER_ERROR", f"invalid transaction bytes: {exc}")
    raw = tx.raw_data
    raw_bytes = raw.SerializeToString()
    txid = sha256(raw_bytes).hex()
    for sig in tx.signature:
        if not SIGNATURE_BYTES <= len(sig) <= MAX_ADMITTED_SIGNATURE_BYTES:
            return fail(txid, "SIGERROR", f"Signature size is {len(sig)}")
    if tx.ret:
        tx.ClearField("ret")
    size = tx.ByteSize()
    if not raw.contract:
        return fail(txid, "CONTRACT_VALIDATE_ERROR", NO_CONTRACT)
    contract = raw.contract[0]
    type_name = proto.CONTRACT_NAMES.get(contract.type, f"ContractType({contract.type})")
    cls = proto.CONTRACT_CLASSES.get(type_name)
    if cls is None:
        return fail(txid, "CONTRACT_VALIDATE_ERROR", f"{type_name} is not supported by the devnet")
    if contract.parameter.type_url.rsplit("/", 1)[-1] != f"protocol.{type_name}":
        return fail(
            txid,
            "CONTRACT_VALIDATE_ERROR",
            f"contract type error, expected type [{type_name}], real type [class "
            "com.google.protobuf.Any]",
        )
    try:
        value = cls.FromString(contract.parameter.value)
    except DecodeError as exc:
        return fail(txid, "OTHER_ERROR", f"invalid contract parameter: {exc}")
    tx_input = TxInput(
        owner=bytes(value.owner_address),
        contract_type=type_name,
        value=value,
        size=size + BANDWIDTH_EXTRA_BYTES,
        fee_limit=raw.fee_limit,
        has_memo=bool(raw.data),
        force_revert=force_revert and type_name == "TriggerSmartContract",
    )
    record = TxRecord(txid=txid, tx_bytes=bytes(tx_bytes), raw=raw, input=tx_input)
    return DecodedTx(record, [bytes(s) for s in tx.signature])


def check_signatures(rec: TxRecord, signatures: list[bytes]) -> str:
    """Empty string when the signatures satisfy the owner permission, else java-tron's
    reason (TransactionCapsule.validateSignature / checkWeight)."""
    if not signatures:
        return "miss sig or contract"
    permission = rec.raw.contract[0].Permission_id
    if permission not in (0, 2):
        return "permission isn't exit"
    if len(signatures) > 1:
        return f"Signature count is {len(signatures)} more than key counts of permission : 1"
    sig = signatures[0][:SIGNATURE_BYTES]  # r, s, v; admitted extra bytes are ignored
    try:
        signer = recover_address(bytes.fromhex(rec.txid), sig)
    except SignatureError as exc:
        return str(exc)
    if signer != rec.input.owner:
        return f"{rec.txid} is signed by {to_base58(signer)} but it is not contained of permission."
    return ""
