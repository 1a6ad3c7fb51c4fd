"""Address forms, request parameters and java-tron response shapes for the devnet's HTTP layer.

The chain speaks hex addresses ("41" + 20 bytes). java-tron's servlets take a ``visible`` flag:
``true`` means every address in the request and the response is base58check (``T...``),
``false``/absent means hex. This module converts both ways (with ``core.crypto``'s codec),
strictly: a base58 address under ``visible: false`` (or hex under ``visible: true``) is an
invalid address, as on java-tron. ``RequestArgs`` reads one request's parameters the same way.
"""

from __future__ import annotations

import json
from typing import Any

from tron_devnet.core import token
from tron_devnet.core.crypto import AddressError, base58_to_hex, hex_to_base58
from tron_devnet.core.types import SubmitResult

# Field names java-tron prints as addresses (base58 when visible). Values that are not a
# 21-byte "41..." hex address are left alone (e.g. 20-byte log addresses).
ADDRESS_FIELDS = frozenset(
    {
        "address",
        "owner_address",
        "to_address",
        "contract_address",
        "receiver_address",
        "witness_address",
        "origin_address",
        "from_address",
        "fromAddress",
        "toAddress",
        "caller_address",
        "transferTo_address",
        "account_address",
        "from",
        "to",
        "account",
    }
)
# Fields that hold a list of addresses (getdelegatedresourceaccountindexv2).
ADDRESS_LIST_FIELDS = frozenset({"fromAccounts", "toAccounts"})


def is_hex_address(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 42 or value[:2] != "41":
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def parse_address(value: object, *, visible: bool) -> str:
    """A request address in the form ``visible`` demands, returned as lowercase hex."""
    if not isinstance(value, str) or not value:
        raise AddressError(f"invalid address {value!r}")
    if visible:
        return base58_to_hex(value)
    if not is_hex_address(value.lower()):
        raise AddressError(f"invalid address {value!r}")
    return value.lower()


def parse_any_address(value: object) -> str:
    """Admin endpoints accept either form."""
    if isinstance(value, str) and is_hex_address(value.lower()):
        return value.lower()
    return parse_address(value, visible=True)


def to_visible(obj: Any) -> Any:
    """Deep copy of a hex-address JSON value with address fields in base58."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, val in obj.items():
            if key in ADDRESS_FIELDS and is_hex_address(val):
                out[key] = hex_to_base58(val)
            elif key in ADDRESS_LIST_FIELDS and isinstance(val, list):
                out[key] = [hex_to_base58(v) if is_hex_address(v) else v for v in val]
            else:
                out[key] = to_visible(val)
        return out
    if isinstance(obj, list):
        return [to_visible(item) for item in obj]
    return obj


def from_visible(obj: Any, *, visible: bool) -> Any:
    """Deep copy of a request JSON value with every address field converted to hex.

    Raises AddressError when an address is not in the form ``visible`` asks for.
    """
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, val in obj.items():
            if key in ADDRESS_FIELDS:
                out[key] = parse_address(val, visible=visible)
            else:
                out[key] = from_visible(val, visible=visible)
        return out
    if isinstance(obj, list):
        return [from_visible(item, visible=visible) for item in obj]
    return obj


def shape(obj: Any, *, visible: bool) -> Any:
    """Response shaping: hex stays as the chain returned it; visible converts addresses."""
    if not visible:
        return obj
    return to_visible(obj)


def _contract_visible(contract: Any) -> Any:
    if not isinstance(contract, dict):
        return to_visible(contract)
    param = contract.get("parameter")
    if not isinstance(param, dict) or not isinstance(param.get("value"), dict):
        return to_visible(contract)
    value: dict[str, Any] = param["value"]
    new_value = {
        k: hex_to_base58(v) if k in ADDRESS_FIELDS and is_hex_address(v) else v
        for k, v in value.items()
    }
    return {**contract, "parameter": {**param, "value": new_value}}


def transaction_view(tx: dict[str, Any], *, visible: bool) -> dict[str, Any]:
    """A transaction JSON with java-tron's leading ``visible`` flag (addresses converted only
    inside the contract values, which is where a transaction carries them)."""
    out: dict[str, Any] = {"visible": visible}
    for key, value in tx.items():
        if key == "visible":
            continue
        out[key] = value
        if visible and key == "raw_data" and isinstance(value, dict):
            contracts = value.get("contract")
            if isinstance(contracts, list):
                out[key] = {**value, "contract": [_contract_visible(c) for c in contracts]}
    return out


def broadcast_view(result: SubmitResult) -> dict[str, Any]:
    """broadcasttransaction's answer: GrpcAPI.Return printed by JsonFormat plus the txid.

    Success is ``{"result": true, "txid": ...}``; a failure omits ``result`` (false is the
    default) and carries ``code`` and the hex of the UTF-8 message.
    """
    if result.ok:
        return {"result": True, "txid": result.txid}
    return {
        "code": result.code or "OTHER_ERROR",
        "txid": result.txid,
        "message": result.message.encode().hex(),
    }


def broadcast_hex_view(result: SubmitResult, tx_json: dict[str, Any] | None) -> dict[str, Any]:
    """broadcasthex's answer: result, code, plain-text message, the transaction printed as a
    JSON *string* with base58 addresses (java-tron puts ``JsonFormat.printToString(tx, true)``
    into the object), and the txid."""
    out: dict[str, Any] = {
        "result": result.ok,
        "code": "SUCCESS" if result.ok else (result.code or "OTHER_ERROR"),
        "message": result.message if not result.ok else "",
        "txid": result.txid,
    }
    if tx_json is not None:
        out["transaction"] = json.dumps(
            transaction_view(tx_json, visible=True), separators=(",", ":")
        )
    return out


def error_view(message: str) -> dict[str, str]:
    """A servlet exception as java-tron reports it (HTTP 200)."""
    return {"Error": message}


class BadRequest(ValueError):
    """A malformed java-tron request: answered as ``{"Error": message}`` with HTTP 200."""


class RequestArgs:
    """The parameters of one java-tron request (JSON body or query string) read strictly:
    addresses in the form ``visible`` demands, integers, booleans and hex checked."""

    __slots__ = ("params", "visible")

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        value = params.get("visible", False)
        self.visible = value.strip().lower() == "true" if isinstance(value, str) else value is True

    def integer(self, name: str, default: int | None = None) -> int:
        value = self.params.get(name, default)
        if value is None:
            raise BadRequest(f"{name} is required")
        if isinstance(value, bool):
            raise BadRequest(f"{name} must be an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise BadRequest(f"{name} must be an integer")

    def boolean(self, name: str, default: bool) -> bool:
        value = self.params.get(name, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise BadRequest(f"{name} must be a boolean")

    def hex(self, name: str, *, required: bool = True) -> str | None:
        value = self.params.get(name)
        if value is None or value == "":
            if required:
                raise BadRequest(f"{name} is required")
            return None
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a hex string")
        text = value.lower().removeprefix("0x")
        try:
            bytes.fromhex(text)
        except ValueError:
            raise BadRequest(f"{name} is not valid hex") from None
        return text

    def required_hex(self, name: str) -> str:
        text = self.hex(name)
        if text is None:  # pragma: no cover - hex(required=True) raises instead
            raise BadRequest(f"{name} is required")
        return text

    def address(self, name: str, *, required: bool = True) -> str | None:
        value = self.params.get(name)
        if value is None or value == "":
            if required:
                raise BadRequest(f"{name} is required")
            return None
        return parse_address(value, visible=self.visible)

    def required_address(self, name: str) -> str:
        address = self.address(name)
        if address is None:  # pragma: no cover - address(required=True) raises instead
            raise BadRequest(f"{name} is required")
        return address

    def txid(self) -> str:
        return self.required_hex("value")

    def call_data(self) -> bytes:
        """``data`` (hex) or ``function_selector`` + ``parameter`` (hex), as java-tron takes."""
        data = self.hex("data", required=False)
        if data is not None:
            return bytes.fromhex(data)
        selector = self.params.get("function_selector")
        if not isinstance(selector, str) or not selector:
            raise BadRequest("function_selector or data is required")
        parameter = self.hex("parameter", required=False) or ""
        return token.selector(selector.replace(" ", "")) + bytes.fromhex(parameter)
