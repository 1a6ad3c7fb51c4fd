"""Address forms and java-tron response shaping for the devnet's HTTP layer.

The chain speaks hex addresses ("41" + 20 bytes). java-tron's servlets take a ``visible`` flag:
``true`` means every address in the request and the response is base58check (``T...``),
``false``/absent means hex. This module converts both ways, strictly: a base58 address under
``visible: false`` (or hex under ``visible: true``) is an invalid address, as on java-tron.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from Cryptodome.Hash import keccak
from google.protobuf.message import DecodeError

from tron_devnet import core_json, proto
from tron_devnet.chain import SubmitResult

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}

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
    }
)


class AddressError(ValueError):
    """A request carried an address that is not valid in the requested form."""


def _b58encode(raw: bytes) -> str:
    num = int.from_bytes(raw, "big")
    out = []
    while num:
        num, rem = divmod(num, 58)
        out.append(_ALPHABET[rem])
    pad = len(raw) - len(raw.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def _b58decode(text: str) -> bytes:
    num = 0
    for ch in text:
        idx = _INDEX.get(ch)
        if idx is None:
            raise AddressError(f"invalid base58 character {ch!r}")
        num = num * 58 + idx
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + body


def _checksum(raw: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(raw).digest()).digest()[:4]


@functools.lru_cache(maxsize=65_536)
def hex_to_base58(address_hex: str) -> str:
    """``41...`` hex (42 chars) to base58check."""
    raw = bytes.fromhex(address_hex)
    return _b58encode(raw + _checksum(raw))


def base58_to_hex(address: str) -> str:
    """base58check ``T...`` to ``41...`` hex; raises AddressError on any defect."""
    if not isinstance(address, str) or not 25 <= len(address) <= 36:
        raise AddressError(f"invalid address {address!r}")
    raw = _b58decode(address)
    if len(raw) != 25 or raw[0] != 0x41 or _checksum(raw[:21]) != raw[21:]:
        raise AddressError(f"invalid address {address!r}")
    return raw[:21].hex()


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


class TxDecodeError(ValueError):
    """A transaction (hex or JSON) that cannot be parsed into a protocol.Transaction."""


def encode_transaction_json(tx: dict[str, Any]) -> bytes:
    """A broadcasttransaction body (hex addresses) serialized as protocol.Transaction bytes.

    The txID in the body is ignored: the node recomputes it from the re-encoded raw_data.
    """
    raw_json = tx.get("raw_data")
    if not isinstance(raw_json, dict):
        raise TxDecodeError("raw_data is required")
    signatures = tx.get("signature") or []
    if not isinstance(signatures, list) or not all(isinstance(s, str) for s in signatures):
        raise TxDecodeError("signature must be a list of hex strings")
    try:
        raw = core_json.raw_from_json(raw_json)
        message = proto.Transaction()
        message.raw_data.CopyFrom(raw)
        for sig in signatures:
            message.signature.append(bytes.fromhex(sig))
        data: bytes = message.SerializeToString()
    except (ValueError, TypeError, KeyError) as exc:
        raise TxDecodeError(f"invalid transaction: {exc}") from None
    return data


def decode_transaction(tx_bytes: bytes) -> dict[str, Any]:
    """Serialized protocol.Transaction to java-tron JSON (hex addresses) with txID and
    raw_data_hex."""
    try:
        message = proto.Transaction.FromString(tx_bytes)
        raw_bytes: bytes = message.raw_data.SerializeToString()
        raw_json = core_json.raw_to_json(message.raw_data)
    except (DecodeError, ValueError, TypeError, KeyError) as exc:
        raise TxDecodeError(f"invalid transaction bytes: {exc}") from None
    out: dict[str, Any] = {}
    if message.signature:
        out["signature"] = [bytes(s).hex() for s in message.signature]
    out["txID"] = hashlib.sha256(raw_bytes).hexdigest()
    out["raw_data"] = raw_json
    out["raw_data_hex"] = raw_bytes.hex()
    return out


class BadRequest(ValueError):
    """A malformed java-tron request: answered as ``{"Error": message}`` with HTTP 200."""


def _selector(signature: str) -> bytes:
    return keccak.new(digest_bits=256, data=signature.encode()).digest()[:4]


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
        return _selector(selector.replace(" ", "")) + bytes.fromhex(parameter)
