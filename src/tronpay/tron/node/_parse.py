"""The JSON edge of the node client: java-tron answers turned into the typed results of
``_results``, broadcast codes classified into what they prove, and the small coercions
(integers, hex addresses, ABI words) that raise :class:`NodeRejected` instead of letting a
malformed answer through. Pure functions; nothing here does I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tronpay.tron.address import to_bytes
from tronpay.tron.errors import DecodeError, NodeRejected
from tronpay.tron.node._results import (
    Account,
    AccountResource,
    BlockRef,
    BroadcastKind,
    ChainParameters,
    ConstantResult,
    NodeInfo,
    Transaction,
    TransactionInfo,
)

_T = TypeVar("_T")

# broadcast code classification (java-tron's response codes)
_KNOWN_CODES = frozenset({"DUP_TRANSACTION_ERROR"})
_DEAD_CODES = frozenset(
    {"TAPOS_ERROR", "TRANSACTION_EXPIRATION_ERROR", "CONTRACT_VALIDATE_ERROR", "CONTRACT_EXE_ERROR"}
)
_HOLD_CODES = frozenset({"BANDWITH_ERROR", "BANDWIDTH_ERROR"})
_BUG_CODES = frozenset({"SIGERROR", "TOO_BIG_TRANSACTION_ERROR"})
_HOLD_HINTS = ("balance is not sufficient", "not enough", "insufficient", "balance not sufficient")


def classify_broadcast_code(code: str, message: str) -> BroadcastKind:
    """Map a java-tron broadcast ``code`` (and its decoded message) to what it proves."""
    if code in _KNOWN_CODES:
        return BroadcastKind.KNOWN
    if code in _BUG_CODES:
        return BroadcastKind.BUG
    if code in _HOLD_CODES:
        return BroadcastKind.HOLD
    if code == "CONTRACT_VALIDATE_ERROR" and any(h in message.lower() for h in _HOLD_HINTS):
        return BroadcastKind.HOLD
    if code in _DEAD_CODES:
        return BroadcastKind.DEAD
    return BroadcastKind.UNKNOWN


def decode_message(message: Any) -> str:
    """java-tron hex-encodes broadcast/constant-call messages; decode when it is hex."""
    if not isinstance(message, str):
        return "" if message is None else str(message)
    try:
        return bytes.fromhex(message).decode("utf-8", errors="replace")
    except ValueError:
        return message


# ---------------------------------------------------------------------------------------------
# coercions


def hex_address(addr: str) -> str:
    """The ``41...`` hex form the requests send (``"visible": false``)."""
    return to_bytes(addr).hex()


def decode_word(fn: Callable[[bytes], _T], data: bytes) -> _T:
    """Decode a contract's output word; a malformed one is the node's fault."""
    try:
        return fn(data)
    except DecodeError as exc:
        raise NodeRejected(f"cannot decode contract result: {exc.detail}") from exc


def parse_int(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError as exc:
            raise NodeRejected(f"not an integer: {value!r}") from exc
    raise NodeRejected(f"not an integer: {type(value).__name__}")


def as_dict(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise NodeRejected(f"{what}: expected a JSON object")
    return data


def tx_ret_failed(tx: Any) -> bool:
    """True when a transaction's ``ret`` list reports ``FAILED``."""
    if not isinstance(tx, dict):
        return False
    rets = tx.get("ret")
    if not isinstance(rets, list):
        return False
    return any(isinstance(r, dict) and r.get("ret") == "FAILED" for r in rets)


# ---------------------------------------------------------------------------------------------
# answers


def parse_block(data: Any, what: str) -> BlockRef:
    block = as_dict(data, what)
    header = block.get("block_header")
    if not isinstance(header, dict) or not isinstance(header.get("raw_data"), dict):
        raise NodeRejected(f"{what}: no block_header.raw_data")
    raw = header["raw_data"]
    block_id = block.get("blockID")
    if not isinstance(block_id, str) or len(block_id) != 64:
        raise NodeRejected(f"{what}: bad blockID")
    txids = tuple(
        str(tx.get("txID"))
        for tx in block.get("transactions") or []
        if isinstance(tx, dict) and tx.get("txID")
    )
    return BlockRef(
        number=parse_int(raw.get("number")),
        id=block_id,
        timestamp=parse_int(raw.get("timestamp")),
        parent_id=str(raw.get("parentHash") or ""),
        txids=txids,
    )


def _parse_num_id(text: Any) -> tuple[int, str]:
    """Parse getnodeinfo's ``"Num:123,ID:00ab..."``."""
    if not isinstance(text, str) or "Num:" not in text:
        raise NodeRejected(f"getnodeinfo: unexpected block field {text!r}")
    num_part, _, id_part = text.partition(",")
    number = parse_int(num_part.split(":", 1)[1])
    block_id = id_part.split(":", 1)[1] if ":" in id_part else ""
    return number, block_id


def parse_node_info(data: Any) -> NodeInfo:
    info = as_dict(data, "getnodeinfo")
    head_n, head_id = _parse_num_id(info.get("block", ""))
    solid_n, solid_id = _parse_num_id(info.get("solidityBlock", ""))
    return NodeInfo(head_n, head_id, solid_n, solid_id)


def parse_account(address: str, data: Any) -> Account:
    account = as_dict(data, "getaccount")
    return Account(
        address=address,
        exists=bool(account),
        balance_sun=parse_int(account.get("balance")),
        is_contract=account.get("type") == "Contract",
    )


def parse_account_resource(data: Any) -> AccountResource:
    res = as_dict(data, "getaccountresource")
    return AccountResource(
        energy_limit=parse_int(res.get("EnergyLimit")),
        energy_used=parse_int(res.get("EnergyUsed")),
        net_limit=parse_int(res.get("NetLimit")),
        net_used=parse_int(res.get("NetUsed")),
        free_net_limit=parse_int(res.get("freeNetLimit")),
        free_net_used=parse_int(res.get("freeNetUsed")),
        total_energy_limit=parse_int(res.get("TotalEnergyLimit")),
        total_energy_weight=parse_int(res.get("TotalEnergyWeight")),
        total_net_limit=parse_int(res.get("TotalNetLimit")),
        total_net_weight=parse_int(res.get("TotalNetWeight")),
    )


def parse_chain_parameters(data: Any) -> ChainParameters:
    params = as_dict(data, "getchainparameters")
    raw: dict[str, int] = {}
    for item in params.get("chainParameter") or []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            raw[item["key"]] = parse_int(item.get("value"))
    if "getEnergyFee" not in raw or "getTransactionFee" not in raw:
        raise NodeRejected("chain parameters lack getEnergyFee/getTransactionFee")
    return ChainParameters(
        energy_fee_sun=raw["getEnergyFee"],
        transaction_fee_sun=raw["getTransactionFee"],
        create_account_fee_sun=raw.get("getCreateAccountFee", 0),
        create_new_account_fee_in_system_contract_sun=raw.get(
            "getCreateNewAccountFeeInSystemContract", 0
        ),
        raw=raw,
    )


def parse_constant_result(data: Any) -> ConstantResult:
    resp = as_dict(data, "triggerconstantcontract")
    result = resp.get("result") or {}
    ok = bool(result.get("result")) if isinstance(result, dict) else False
    message = decode_message(result.get("message")) if isinstance(result, dict) else ""
    if "REVERT" in message.upper() or tx_ret_failed(resp.get("transaction")):
        ok = False  # java-tron reports a reverted view call with result=true + a message
    try:
        outputs = tuple(bytes.fromhex(h) for h in resp.get("constant_result") or [])
    except (TypeError, ValueError) as exc:
        raise NodeRejected("constant_result is not hex") from exc
    return ConstantResult(
        ok=ok,
        results=outputs,
        energy_used=parse_int(resp.get("energy_used")),
        energy_penalty=parse_int(resp.get("energy_penalty")),
        message=message,
    )


def parse_info(data: Any, what: str = "transaction info") -> TransactionInfo:
    info = as_dict(data, what)
    receipt = info.get("receipt") or {}
    if not isinstance(receipt, dict):
        receipt = {}
    logs = tuple(item for item in info.get("log") or [] if isinstance(item, dict))
    txid = info.get("id")
    if not isinstance(txid, str):
        raise NodeRejected("transaction info without id")
    return TransactionInfo(
        txid=txid,
        block_number=parse_int(info.get("blockNumber")),
        block_timestamp=parse_int(info.get("blockTimeStamp")),
        fee_sun=parse_int(info.get("fee")),
        receipt_result=str(receipt.get("result") or "SUCCESS"),
        failed=info.get("result") == "FAILED",
        res_message=decode_message(info.get("resMessage")),
        energy_usage_total=parse_int(receipt.get("energy_usage_total")),
        energy_fee_sun=parse_int(receipt.get("energy_fee")),
        net_usage=parse_int(receipt.get("net_usage")),
        net_fee_sun=parse_int(receipt.get("net_fee")),
        energy_penalty_total=parse_int(receipt.get("energy_penalty_total")),
        logs=logs,
        energy_usage_staked=parse_int(receipt.get("energy_usage"))
        + parse_int(receipt.get("origin_energy_usage")),
    )


def parse_transaction(data: Any) -> Transaction | None:
    if not data:
        return None
    tx = as_dict(data, "gettransactionbyid")
    raw = tx.get("raw_data") or {}
    contracts = raw.get("contract") or [] if isinstance(raw, dict) else []
    contract = contracts[0] if contracts and isinstance(contracts[0], dict) else {}
    parameter = contract.get("parameter") or {}
    value = parameter.get("value") if isinstance(parameter, dict) else None
    rets = tx.get("ret") or []
    ret = rets[0] if rets and isinstance(rets[0], dict) else {}
    return Transaction(
        txid=str(tx.get("txID") or ""),
        raw_data_hex=str(tx.get("raw_data_hex") or ""),
        contract_type=str(contract.get("type") or ""),
        parameter=value if isinstance(value, dict) else {},
        contract_ret=str(ret.get("contractRet") or ""),
    )
