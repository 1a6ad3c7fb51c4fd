"""Request and response bodies for payouts. Amounts are decimal strings; unknown fields are
rejected; every validation problem names its field and, for addresses, a stable reason."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from tronpay.kit.clock import as_utc
from tronpay.kit.money import Asset, InvalidAmount, format_amount, parse_amount
from tronpay.payouts.models import Payout
from tronpay.payouts.states import PayoutStatus
from tronpay.tron.address import ADDRESS_PREFIX, decode_base58, encode_base58
from tronpay.tron.builders import MEMO_MAX_BYTES
from tronpay.tron.errors import InvalidAddressError

MAX_METADATA_BYTES: Final = 4096
MAX_METADATA_DEPTH: Final = 8
# The memo travels in the transaction's data field, which the builder bounds in bytes.
MAX_MEMO_BYTES: Final = MEMO_MAX_BYTES
EXAMPLE_ADDRESS: Final = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"


# The hex forms people paste from explorers and Ethereum tools: ``0x`` + 20 bytes, or the
# 21-byte ``41...`` form (with or without ``0x``).
_HEX_ADDRESS: Final = re.compile(r"(?:0[xX])?(41)?([0-9a-fA-F]{40})")
HEX_ADDRESS_HINT: Final = (
    "TRON addresses start with T; convert the 0x/41-hex form to base58check "
    "(the same 20 bytes after a 41 prefix byte)"
)


@lru_cache(maxsize=8192)
def _address_problem(value: str) -> str | None:
    """Why ``value`` is not a TRON address (``None``: it is one). Cached: a batch or a busy
    client names the same few addresses again and again (base58 + double SHA-256 each)."""
    try:
        decode_base58(value)
    except InvalidAddressError as exc:
        if _HEX_ADDRESS.fullmatch(value) and (value[:2].lower() == "0x" or value[:2] == "41"):
            return "hex"
        return exc.reason
    return None


def base58_of_hex(value: str) -> str:
    """The ``T...`` form of a ``0x``/``41`` hex address (``_address_problem`` said ``hex``)."""
    match = _HEX_ADDRESS.fullmatch(value)
    assert match is not None  # noqa: S101 - only called for the hex reason
    return encode_base58(bytes([ADDRESS_PREFIX]) + bytes.fromhex(match[2]))


def validate_address(value: str) -> str:
    reason = _address_problem(value)
    if reason == "hex":
        raise PydanticCustomError(
            "invalid_address",
            "{hint}: this one is {base58}",
            {"reason": reason, "hint": HEX_ADDRESS_HINT, "base58": base58_of_hex(value)},
        )
    if reason is not None:
        raise PydanticCustomError(
            "invalid_address", "invalid TRON address ({reason})", {"reason": reason}
        )
    return value


AMOUNT_AS_STRING: Final = 'send amounts as strings, e.g. "12.5"'


def amount_not_a_number(value: object) -> object:
    """A JSON number for an amount is refused with what to send instead: a float cannot
    carry every amount exactly, and the API never guesses which one was meant."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("invalid_amount", AMOUNT_AS_STRING)
    return value


def validate_amount(value: str) -> str:
    try:
        parse_amount(value)
    except InvalidAmount as exc:
        raise PydanticCustomError("invalid_amount", "{detail}", {"detail": exc.detail}) from exc
    return value


def _metadata_problem(value: dict[str, Any]) -> PydanticCustomError | None:
    """Why ``value`` cannot be stored and shown again exactly (``None``: it can): too deep,
    a string that is not valid Unicode text (a lone surrogate), NUL, a non-finite number."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict | list):
            if depth > MAX_METADATA_DEPTH:
                return PydanticCustomError(
                    "metadata_too_deep",
                    "metadata may nest objects and lists at most {limit} levels deep",
                    {"limit": MAX_METADATA_DEPTH},
                )
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(node, str):
            if "\x00" in node:
                return PydanticCustomError(
                    "nul_character", "metadata must not contain NUL characters"
                )
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return PydanticCustomError(
                    "invalid_unicode", "metadata strings must be valid Unicode text"
                )
        elif isinstance(node, float) and not math.isfinite(node):
            return PydanticCustomError(
                "non_finite_number", "metadata numbers must be finite (no NaN or Infinity)"
            )
    return None


def validate_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    problem = _metadata_problem(value)
    if problem is not None:
        raise problem
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise PydanticCustomError(
            "metadata_too_large",
            "metadata must be at most {limit} bytes of JSON",
            {"limit": MAX_METADATA_BYTES},
        )
    return value


def validate_memo(value: str) -> str:
    """The memo goes on chain as UTF-8 bytes: count those, not characters."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise PydanticCustomError("invalid_unicode", "memo must be valid Unicode text") from None
    if size > MAX_MEMO_BYTES:
        raise PydanticCustomError(
            "memo_too_long",
            "memo must be at most {limit} bytes of UTF-8 (got {size})",
            {"limit": MAX_MEMO_BYTES, "size": size},
        )
    return value


def validate_query_time(value: datetime) -> datetime:
    """A filter time as an aware UTC datetime; a naive one is taken as UTC. One whose UTC
    value falls outside years 1 to 9999 is a validation error, not an OverflowError."""
    try:
        return as_utc(value)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "the time in UTC must lie within years 1 to 9999"
        ) from None


TronAddress = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=[EXAMPLE_ADDRESS]),
    AfterValidator(validate_address),
]
AmountText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        description="decimal string in whole units, at most 6 decimals",
        examples=["12.5"],
    ),
    BeforeValidator(amount_not_a_number),
    AfterValidator(validate_amount),
]
Reference = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[\x20-\x7e]+$", examples=["invoice-1042"])
]
Memo = Annotated[
    str,
    Field(
        max_length=MAX_MEMO_BYTES,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$",
        description="at most 512 bytes of UTF-8",
        examples=["thank you"],
    ),
    AfterValidator(validate_memo),
]
Metadata = Annotated[
    dict[str, Any] | None,
    Field(description="a JSON object: at most 4096 bytes, 8 levels deep, valid Unicode"),
    AfterValidator(validate_metadata),
]
QueryTime = Annotated[datetime, AfterValidator(validate_query_time)]


class PayoutCreate(BaseModel):
    """Body of ``POST /v1/payouts``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "to": EXAMPLE_ADDRESS,
                    "amount": "12.5",
                    "asset": "USDT",
                    "reference": "invoice-1042",
                    "memo": "November payout",
                    "metadata": {"customer": "42"},
                }
            ]
        },
    )

    to: TronAddress
    amount: AmountText
    asset: Asset = Asset.USDT
    reference: Reference | None = None
    memo: Memo | None = None
    metadata: Metadata = None

    @property
    def amount_units(self) -> int:
        return parse_amount(self.amount)


class PayoutOut(BaseModel):
    """A payout as the API shows it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "po_01JDX4Z6W8Q1V9M2N3B4C5D6E7",
                    "status": "queued",
                    "to": EXAMPLE_ADDRESS,
                    "asset": "USDT",
                    "amount": "12.5",
                    "reference": "invoice-1042",
                    "memo": None,
                    "metadata": None,
                    "blocked_reason": None,
                    "failure_reason": None,
                    "batch_id": None,
                    "created_by": "billing-service",
                    "approved_by": None,
                    "txid": None,
                    "fee_limit": None,
                    "fee_paid": None,
                    "energy_used": None,
                    "energy_from_stake": None,
                    "energy_burned": None,
                    "created_at": "2026-11-28T21:00:00Z",
                    "updated_at": "2026-11-28T21:00:00Z",
                    "confirmations": None,
                    "confirmations_required": None,
                }
            ]
        }
    )

    id: str
    status: PayoutStatus
    to: str
    asset: Asset
    amount: str
    reference: str | None
    memo: str | None
    metadata: dict[str, Any] | None
    blocked_reason: str | None
    failure_reason: str | None
    batch_id: str | None
    created_by: str
    approved_by: str | None
    txid: str | None
    fee_limit: str | None = Field(description="TRX, decimal string")
    fee_paid: str | None = Field(
        description="TRX burned, decimal string: energy fee + bandwidth fee + activation/memo fee"
    )
    energy_used: int | None
    energy_from_stake: int | None = Field(
        description="energy paid for by the hot wallet's staked or delegated energy"
    )
    energy_burned: int | None = Field(description="energy paid for by burning TRX")
    created_at: datetime
    updated_at: datetime
    confirmations: int | None = Field(
        default=None,
        description="GET of one confirmed payout: blocks from its own to the node's head",
    )
    confirmations_required: int | None = Field(
        default=None,
        description="confirmations at which its block is solidified and the payout finalized",
    )

    @classmethod
    def from_model(cls, payout: Payout) -> PayoutOut:
        return cls(
            id=payout.id,
            status=PayoutStatus(payout.status),
            to=payout.to_address,
            asset=Asset(payout.asset),
            amount=format_amount(payout.amount),
            reference=payout.reference,
            memo=payout.memo,
            metadata=payout.meta,
            blocked_reason=payout.blocked_reason,
            failure_reason=payout.failure_reason,
            batch_id=payout.batch_id,
            created_by=payout.created_by,
            approved_by=payout.approved_by,
            txid=payout.txid,
            fee_limit=None if payout.fee_limit is None else format_amount(payout.fee_limit),
            fee_paid=None if payout.fee_paid is None else format_amount(payout.fee_paid),
            energy_used=payout.energy_used,
            energy_from_stake=payout.energy_from_stake,
            energy_burned=payout.energy_burned,
            created_at=payout.created_at,
            updated_at=payout.updated_at,
        )


class PayoutList(BaseModel):
    items: list[PayoutOut]
    next_cursor: str | None = Field(description="pass as ?cursor= to get the next page")
