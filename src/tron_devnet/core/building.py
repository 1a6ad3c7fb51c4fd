"""Transactions the node builds and calls it runs without a transaction.

``build_transaction`` is java-tron's createtransaction/triggersmartcontract/freezebalancev2/...:
an unsigned transaction JSON referencing the head block, validated against the head state.
``trigger_constant`` and ``estimate_energy`` run a token call on the head (or solid) state and
change nothing. Node-built transactions expire 60 s after max(head block time, now).
"""

from __future__ import annotations

from typing import Any

from tron_devnet.core import message_json, proto, token
from tron_devnet.core.chain_core import ChainCore
from tron_devnet.core.crypto import address_or_none, sha256
from tron_devnet.core.execution import Rejected, TxInput
from tron_devnet.core.render import result_error
from tron_devnet.core.state import Overlay
from tron_devnet.core.types import ChainError

EXPIRATION_MS = 60_000
NO_CONTRACT = "No contract or not a smart contract"
ZERO_OWNER = b"\x41" + b"\0" * 20


def trigger_constant(
    chain: ChainCore, owner_hex: str | None, contract_hex: str, data: bytes, *, solid: bool
) -> dict[str, Any]:
    """triggerconstantcontract: run the call without changing state."""
    state = chain.state(solid)
    contract = address_or_none(contract_hex)
    if contract != chain.token.address:
        return result_error("CONTRACT_VALIDATE_ERROR", NO_CONTRACT)
    owner = address_or_none(owner_hex or "") or ZERO_OWNER
    outcome = token.run_call(Overlay(state), chain.token, owner, data, 0)
    value = {
        "owner_address": owner.hex(),
        "contract_address": contract.hex(),
        "data": data.hex(),
    }
    try:
        tx = unsigned_transaction(chain, "TriggerSmartContract", value, fee_limit=None)
    except ChainError:
        tx = {}
    result: dict[str, Any] = {"result": True}
    if not outcome.ok:
        result["message"] = outcome.message.encode().hex()
        tx["ret"] = [{"ret": "FAILED"}]
    else:
        tx["ret"] = [{}]
    out: dict[str, Any] = {
        "result": result,
        "energy_used": outcome.energy,
        "constant_result": [outcome.return_data.hex()],
        "transaction": tx,
    }
    if outcome.penalty:
        out["energy_penalty"] = outcome.penalty  # TransactionExtention.energy_penalty
    return out


def estimate_energy(
    chain: ChainCore, owner_hex: str, contract_hex: str, data: bytes, *, solid: bool
) -> dict[str, Any]:
    """estimateenergy (``solid=True``: /walletsolidity, from the solidified state only)."""
    state = chain.state(solid)
    contract = address_or_none(contract_hex)
    if contract != chain.token.address:
        return result_error("CONTRACT_VALIDATE_ERROR", NO_CONTRACT)
    owner = address_or_none(owner_hex)
    if owner is None or state.accounts.get(owner) is None:
        return result_error(
            "CONTRACT_VALIDATE_ERROR", "Validate TriggerSmartContract error, no OwnerAccount."
        )
    outcome = token.run_call(Overlay(state), chain.token, owner, data, 0)
    if not outcome.ok:
        return result_error("CONTRACT_EXE_ERROR", outcome.message)
    return {"result": {"result": True}, "energy_required": outcome.energy}


def build_transaction(
    chain: ChainCore,
    contract_type: str,
    value: dict[str, Any],
    *,
    fee_limit: int | None = None,
    memo_hex: str | None = None,
    expiration_ms: int | None = None,
) -> dict[str, Any]:
    """java-tron's unsigned transaction JSON; validates the contract against head state."""
    tx = unsigned_transaction(
        chain,
        contract_type,
        value,
        fee_limit=fee_limit,
        memo_hex=memo_hex,
        expiration_ms=expiration_ms,
    )
    raw = proto.TransactionRaw.FromString(bytes.fromhex(tx["raw_data_hex"]))
    cls = proto.CONTRACT_CLASSES[contract_type]
    msg = cls.FromString(raw.contract[0].parameter.value)
    tx_input = TxInput(
        owner=bytes(msg.owner_address),
        contract_type=contract_type,
        value=msg,
        size=0,
        fee_limit=raw.fee_limit,
        has_memo=False,
    )
    try:
        chain.executor.run(Overlay(chain.head_state), tx_input, chain.head_timestamp, apply=False)
    except Rejected as exc:
        message = exc.message
        if message == NO_CONTRACT:
            message = "No contract or not a valid smart contract"  # Wallet.triggerContract
        raise ChainError(exc.code, message) from exc
    return tx


def unsigned_transaction(
    chain: ChainCore,
    contract_type: str,
    value: dict[str, Any],
    *,
    fee_limit: int | None,
    memo_hex: str | None = None,
    expiration_ms: int | None = None,
) -> dict[str, Any]:
    """The transaction JSON for one contract referencing the head block (not validated)."""
    cls = proto.CONTRACT_CLASSES.get(contract_type)
    if cls is None:
        raise ChainError("CONTRACT_VALIDATE_ERROR", f"{contract_type} is not supported")
    try:
        msg = message_json.json_to_message(cls, value)
        memo = bytes.fromhex(memo_hex) if memo_hex else b""
    except (message_json.JsonShapeError, ValueError) as exc:
        raise ChainError("OTHER_ERROR", str(exc)) from exc
    head = chain.blocks[-1]
    raw = proto.TransactionRaw()
    raw.ref_block_bytes = head.block_id[6:8]
    raw.ref_block_hash = head.block_id[8:16]
    if expiration_ms is None:
        # java-tron: head block time + 60 s; a devnet head can be stale (blocks on demand),
        # so never base it on a time behind the clock
        expiration_ms = max(head.timestamp, chain.now_ms()) + EXPIRATION_MS
    raw.expiration = expiration_ms
    if memo:
        raw.data = memo
    contract = raw.contract.add()
    contract.type = proto.CONTRACT_TYPES[contract_type]
    contract.parameter.type_url = proto.TYPE_URL_PREFIX + contract_type
    contract.parameter.value = msg.SerializeToString()
    raw.timestamp = chain.now_ms()
    if fee_limit:
        raw.fee_limit = fee_limit
    raw_bytes = raw.SerializeToString()
    return {
        "visible": False,
        "txID": sha256(raw_bytes).hex(),
        "raw_data": message_json.raw_to_json(raw),
        "raw_data_hex": raw_bytes.hex(),
    }
