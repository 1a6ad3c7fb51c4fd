"""java-tron's ``/wallet/*`` and ``/walletsolidity/*`` endpoints as handlers of one ``Call``.

Each handler reads its parameters through ``RequestArgs`` (addresses in the form ``visible``
asks for), asks the chain and shapes the answer as java-tron does. ``FULL_NODE`` and
``SOLIDITY_NODE`` map the lower-case endpoint name to its handler; ``POST_ONLY`` are the
broadcast endpoints java-tron serves on POST only. Broadcasts go through the fault plan's
broadcast modes (server_busy, never_include, delay_blocks, revert_next).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from tron_devnet.admin import DevnetRuntime
from tron_devnet.core.chain import Chain
from tron_devnet.core.crypto import sha256
from tron_devnet.core.message_json import TxDecodeError, decode_transaction, encode_transaction_json
from tron_devnet.core.types import ChainError, SubmitResult
from tron_devnet.faults import BROADCAST_MODES, is_trc20_transfer_bytes, tx_raw_bytes
from tron_devnet.views import (
    BadRequest,
    RequestArgs,
    broadcast_hex_view,
    broadcast_view,
    error_view,
    from_visible,
    shape,
    transaction_view,
)

log = structlog.get_logger("tron_devnet.server")  # the server's logger, as before the split


@dataclass(frozen=True)
class Call:
    """One request to a java-tron endpoint: the running devnet, its parameters, whether it came
    in under ``/walletsolidity`` and its path (for fault rules)."""

    rt: DevnetRuntime
    args: RequestArgs
    solid: bool
    path: str

    @property
    def chain(self) -> Chain:
        return self.rt.chain

    @property
    def params(self) -> dict[str, Any]:
        return self.args.params

    @property
    def visible(self) -> bool:
        return self.args.visible


Handler = Callable[[Call], Awaitable[Any]]


# ---------------------------------------------------------------------------- reads


async def get_node_info(call: Call) -> Any:
    return call.chain.node_info_json()


def _block_view(call: Call, block: dict[str, Any] | None) -> Any:
    if block is None:
        return {}
    if call.solid:
        number = block.get("block_header", {}).get("raw_data", {}).get("number", 0)
        if number > call.chain.solid_number:
            return {}
    return shape(block, visible=call.visible)


async def get_now_block(call: Call) -> Any:
    number = call.chain.solid_number if call.solid else call.chain.head_number
    return _block_view(call, call.chain.block_json(number))


async def get_block_by_num(call: Call) -> Any:
    return _block_view(call, call.chain.block_json(call.args.integer("num")))


async def get_block_by_id(call: Call) -> Any:
    return _block_view(call, call.chain.block_json_by_id(call.args.required_hex("value")))


async def get_block(call: Call) -> Any:
    detail = call.args.boolean("detail", False)
    raw = call.params.get("id_or_num")
    if raw is None or raw == "":
        number = call.chain.solid_number if call.solid else call.chain.head_number
        return _block_view(call, call.chain.block_json(number, detail=detail))
    if isinstance(raw, int) and not isinstance(raw, bool):
        return _block_view(call, call.chain.block_json(raw, detail=detail))
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 64:
        return _block_view(call, call.chain.block_json(int(raw), detail=detail))
    if isinstance(raw, str):
        try:
            bytes.fromhex(raw)
        except ValueError:
            raise BadRequest("id_or_num must be a block number or a block id") from None
        return _block_view(call, call.chain.block_json_by_id(raw.lower(), detail=detail))
    raise BadRequest("id_or_num must be a block number or a block id")


async def get_account(call: Call) -> Any:
    address = call.args.required_address("address")
    return shape(call.chain.account_json(address, solid=call.solid), visible=call.visible)


async def get_account_resource(call: Call) -> Any:
    address = call.args.required_address("address")
    return shape(call.chain.account_resource_json(address, solid=call.solid), visible=call.visible)


async def get_chain_parameters(call: Call) -> Any:
    return call.chain.chain_parameters_json()


async def get_energy_prices(call: Call) -> Any:
    return {"prices": call.chain.energy_prices()}


async def get_bandwidth_prices(call: Call) -> Any:
    return {"prices": call.chain.bandwidth_prices()}


async def get_contract(call: Call) -> Any:
    address = call.args.required_address("value")
    return shape(call.chain.contract_json(address), visible=call.visible)


async def trigger_constant_contract(call: Call) -> Any:
    owner = call.args.address("owner_address", required=False)
    contract = call.args.required_address("contract_address")
    data = call.args.call_data()
    result = call.chain.trigger_constant(owner, contract, data, solid=call.solid)
    return _extention_view(call, result)


async def estimate_energy(call: Call) -> Any:
    owner = call.args.required_address("owner_address")
    contract = call.args.required_address("contract_address")
    return call.chain.estimate_energy(owner, contract, call.args.call_data(), solid=call.solid)


def _extention_view(call: Call, result: dict[str, Any]) -> dict[str, Any]:
    """A TransactionExtention: the embedded transaction carries java-tron's visible flag."""
    out = shape(result, visible=call.visible)
    tx = out.get("transaction")
    if isinstance(tx, dict):
        out["transaction"] = {**tx, "visible": call.visible}
    return dict(out)


async def get_transaction_by_id(call: Call) -> Any:
    tx = call.chain.transaction_json(call.args.txid(), solid=call.solid)
    return {} if tx is None else shape(tx, visible=call.visible)


async def get_transaction_info_by_id(call: Call) -> Any:
    info = call.chain.transaction_info(call.args.txid(), solid=call.solid)
    return {} if info is None else shape(info, visible=call.visible)


async def get_transaction_info_by_block_num(call: Call) -> Any:
    infos = call.chain.transaction_infos_in_block(call.args.integer("num"), solid=call.solid)
    return shape(infos, visible=call.visible)


# ---------------------------------------------------------------------------- Stake 2.0 reads


async def get_delegated_resource_v2(call: Call) -> Any:
    owner = call.args.required_address("fromAddress")
    receiver = call.args.required_address("toAddress")
    data = call.chain.delegated_resource_v2(owner, receiver, solid=call.solid)
    return shape(data, visible=call.visible)


async def get_delegated_index_v2(call: Call) -> Any:
    address = call.args.required_address("value")
    return shape(call.chain.delegated_index_v2(address, solid=call.solid), visible=call.visible)


async def get_can_withdraw_unfreeze_amount(call: Call) -> Any:
    owner = call.args.required_address("owner_address")
    timestamp = call.args.integer("timestamp", 0)
    try:
        return call.chain.can_withdraw_unfreeze_amount(owner, timestamp, solid=call.solid)
    except ChainError as exc:
        raise BadRequest(exc.message) from None


async def get_available_unfreeze_count(call: Call) -> Any:
    owner = call.args.required_address("owner_address")
    return call.chain.available_unfreeze_count(owner, solid=call.solid)


async def get_can_delegated_max_size(call: Call) -> Any:
    owner = call.args.required_address("owner_address")
    resource = call.args.integer("type", 0)
    try:
        return call.chain.can_delegated_max_size(owner, resource, solid=call.solid)
    except ChainError as exc:
        raise BadRequest(exc.message) from None


# ---------------------------------------------------------------------------- builders

_BUILDER_FIELDS: dict[str, tuple[str, ...]] = {
    "TransferContract": ("owner_address", "to_address", "amount"),
    "TriggerSmartContract": (
        "owner_address",
        "contract_address",
        "call_value",
        "call_token_value",
        "token_id",
    ),
    "FreezeBalanceV2Contract": ("owner_address", "frozen_balance", "resource"),
    "UnfreezeBalanceV2Contract": ("owner_address", "unfreeze_balance", "resource"),
    "WithdrawExpireUnfreezeContract": ("owner_address",),
    "DelegateResourceContract": (
        "owner_address",
        "receiver_address",
        "balance",
        "resource",
        "lock",
        "lock_period",
    ),
    "UnDelegateResourceContract": ("owner_address", "receiver_address", "balance", "resource"),
    "CancelAllUnfreezeV2Contract": ("owner_address",),
}


def _builder_value(call: Call, contract_type: str) -> dict[str, Any]:
    if "owner_address" not in call.params:
        raise BadRequest("owner_address is required")
    fields = _BUILDER_FIELDS[contract_type]
    value = {k: call.params[k] for k in fields if k in call.params}
    converted: dict[str, Any] = from_visible(value, visible=call.visible)
    for key, item in converted.items():
        if key.endswith("_address") or key == "resource":
            continue
        if isinstance(item, bool) and key != "lock":
            raise BadRequest(f"{key} must be an integer")
    return converted


def _contract_validate_error(exc: ChainError) -> dict[str, Any]:
    if exc.code == "CONTRACT_VALIDATE_ERROR":
        return error_view(
            f"class org.tron.core.exceptions.ContractValidateException : {exc.message}"
        )
    return error_view(f"{exc.code} : {exc.message}")


def _builder(contract_type: str) -> Handler:
    """The handler of a node-built transaction of ``contract_type`` (createtransaction,
    freezebalancev2, ...): parameters as in ``_BUILDER_FIELDS``, an optional ``extra_data``
    memo; a contract the head state rejects answers java-tron's ``{"Error": ...}``."""

    async def build(call: Call) -> Any:
        value = _builder_value(call, contract_type)
        memo = call.args.hex("extra_data", required=False)
        try:
            tx = call.chain.build_transaction(contract_type, value, memo_hex=memo)
        except ChainError as exc:
            return _contract_validate_error(exc)
        return transaction_view(tx, visible=call.visible)

    return build


async def trigger_smart_contract(call: Call) -> Any:
    value = _builder_value(call, "TriggerSmartContract")
    if "contract_address" not in value:
        raise BadRequest("contract_address is required")
    value["data"] = call.args.call_data().hex()
    fee_limit = call.args.integer("fee_limit", 0) if "fee_limit" in call.params else None
    try:
        tx = call.chain.build_transaction("TriggerSmartContract", value, fee_limit=fee_limit)
    except ChainError as exc:
        return {
            "result": {
                "code": exc.code,
                "message": exc.message.encode().hex(),
            }
        }
    return {"result": {"result": True}, "transaction": transaction_view(tx, visible=call.visible)}


# ---------------------------------------------------------------------------- broadcast


async def _submit(call: Call, tx_bytes: bytes) -> SubmitResult:
    """Submit through the fault plan: server_busy, never_include, delay_blocks, revert_next."""
    rt = call.rt
    hold_blocks = 0
    never_include = False
    revert_index: int | None = None
    if rt.faults.active:
        rule = rt.faults.pick(call.path, BROADCAST_MODES)
        if rule is not None:
            log.info("devnet.fault.fired", mode=rule.mode, path=call.path)
            if rule.mode == "server_busy":
                raw = tx_raw_bytes(tx_bytes)
                txid = sha256(raw).hex() if raw is not None else ""
                return SubmitResult(False, txid, "SERVER_BUSY", "Server busy.")
            if rule.mode == "never_include":
                never_include = True
            elif rule.mode == "delay_blocks":
                hold_blocks = rule.blocks
        if is_trc20_transfer_bytes(tx_bytes):
            revert_index = rt.faults.pending_revert(call.path)
    async with rt.lock:
        result = rt.chain.submit(
            tx_bytes,
            hold_blocks=hold_blocks,
            never_include=never_include,
            force_revert=revert_index is not None,
        )
        forced = result.ok and rt.chain.queued_with_forced_revert(result.txid)
    if forced and revert_index is not None:
        rt.faults.consume(revert_index)
        log.info("devnet.fault.fired", mode="revert_next", path=call.path, txid=result.txid)
    return result


async def broadcast_transaction(call: Call) -> Any:
    try:
        tx_bytes = encode_transaction_json(from_visible(call.params, visible=call.visible))
    except TxDecodeError as exc:
        raise BadRequest(str(exc)) from None
    return broadcast_view(await _submit(call, tx_bytes))


async def broadcast_hex(call: Call) -> Any:
    tx_bytes = bytes.fromhex(call.args.required_hex("transaction"))
    try:
        tx_json = decode_transaction(tx_bytes)
    except TxDecodeError as exc:
        raise BadRequest(str(exc)) from None
    result = await _submit(call, tx_bytes)
    return broadcast_hex_view(result, tx_json)


async def get_sign_weight(call: Call) -> Any:
    """What wallets (tronpy) call to learn the txid of a locally built transaction."""
    body = from_visible(call.params, visible=call.visible)
    try:
        tx_bytes = encode_transaction_json(body)
        tx_json = decode_transaction(tx_bytes)
    except TxDecodeError as exc:
        raise BadRequest(str(exc)) from None
    out: dict[str, Any] = {}
    contracts = tx_json.get("raw_data", {}).get("contract", [])
    owner = None
    if contracts:
        owner = contracts[0].get("parameter", {}).get("value", {}).get("owner_address")
    if isinstance(owner, str) and call.chain.account_json(owner):
        out["permission"] = {
            "type": "Owner",
            "permission_name": "owner",
            "threshold": 1,
            "keys": [{"address": owner, "weight": 1}],
        }
    signatures = body.get("signature") or []
    if signatures:
        out["current_weight"] = 1
        out["result"] = {"code": "ENOUGH_PERMISSION"}
    else:
        out["result"] = {"code": "NOT_ENOUGH_PERMISSION"}
    tx_view = transaction_view(tx_json, visible=call.visible)
    out["transaction"] = {
        "result": {"result": True},
        "txid": tx_json["txID"],
        "transaction": tx_view,
    }
    return shape(out, visible=call.visible)


# ---------------------------------------------------------------------------- routing

FULL_NODE: dict[str, Handler] = {
    "getnodeinfo": get_node_info,
    "getnowblock": get_now_block,
    "getblockbynum": get_block_by_num,
    "getblockbyid": get_block_by_id,
    "getblock": get_block,
    "getaccount": get_account,
    "getaccountresource": get_account_resource,
    "getchainparameters": get_chain_parameters,
    "getenergyprices": get_energy_prices,
    "getbandwidthprices": get_bandwidth_prices,
    "getcontract": get_contract,
    "triggerconstantcontract": trigger_constant_contract,
    "estimateenergy": estimate_energy,
    "triggersmartcontract": trigger_smart_contract,
    "createtransaction": _builder("TransferContract"),
    "broadcasttransaction": broadcast_transaction,
    "broadcasthex": broadcast_hex,
    "gettransactionbyid": get_transaction_by_id,
    "gettransactioninfobyid": get_transaction_info_by_id,
    "gettransactioninfobyblocknum": get_transaction_info_by_block_num,
    "freezebalancev2": _builder("FreezeBalanceV2Contract"),
    "unfreezebalancev2": _builder("UnfreezeBalanceV2Contract"),
    "withdrawexpireunfreeze": _builder("WithdrawExpireUnfreezeContract"),
    "delegateresource": _builder("DelegateResourceContract"),
    "undelegateresource": _builder("UnDelegateResourceContract"),
    "cancelallunfreezev2": _builder("CancelAllUnfreezeV2Contract"),
    "getdelegatedresourcev2": get_delegated_resource_v2,
    "getdelegatedresourceaccountindexv2": get_delegated_index_v2,
    "getcanwithdrawunfreezeamount": get_can_withdraw_unfreeze_amount,
    "getavailableunfreezecount": get_available_unfreeze_count,
    "getcandelegatedmaxsize": get_can_delegated_max_size,
    "getsignweight": get_sign_weight,
}

# java-tron's broadcast servlets implement doPost only (GET is a 405 from the servlet container).
POST_ONLY = frozenset({broadcast_transaction, broadcast_hex, get_sign_weight})

SOLIDITY_NODE: dict[str, Handler] = {
    name: FULL_NODE[name]
    for name in (
        "getnodeinfo",
        "getnowblock",
        "getblockbynum",
        "getblockbyid",
        "getblock",
        "getaccount",
        "triggerconstantcontract",
        "estimateenergy",
        "gettransactionbyid",
        "gettransactioninfobyid",
        "gettransactioninfobyblocknum",
        "getenergyprices",
        "getbandwidthprices",
        "getdelegatedresourcev2",
        "getdelegatedresourceaccountindexv2",
        "getcanwithdrawunfreezeamount",
        "getavailableunfreezecount",
        "getcandelegatedmaxsize",
    )
}
