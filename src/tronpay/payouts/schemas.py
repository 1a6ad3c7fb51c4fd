"""Request and response bodies for payouts. Amounts are decimal strings; unknown fields are
rejected; every validation problem names its field and, for addresses, a stable reason."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from tronpay.kit.money import InvalidAmount, format_amount, parse_amount
from tronpay.payouts.models import Payout
from tronpay.payouts.states import PayoutStatus
from tronpay.tron.address import decode_base58
from tronpay.tron.errors import InvalidAddressError

MAX_METADATA_BYTES: Final = 4096
EXAMPLE_ADDRESS: Final = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"


class Asset(StrEnum):
    USDT = "USDT"
    TRX = "TRX"


@lru_cache(maxsize=8192)
def _address_problem(value: str) -> str | None:
    """Why ``value`` is not a TRON address (``None``: it is one). Cached: a batch or a busy
    client names the same few addresses again and again (base58 + double SHA-256 each)."""
    try:
        decode_base58(value)
    except InvalidAddressError as exc:
        return exc.reason
    return None


def validate_address(value: str) -> str:
    reason = _address_problem(value)
    if reason is not None:
        raise PydanticCustomError(
            "invalid_address", "invalid TRON address ({reason})", {"reason": reason}
        )
    return value


def validate_amount(value: str) -> str:
    try:
        parse_amount(value)
    except InvalidAmount as exc:
        raise PydanticCustomError("invalid_amount", "{detail}", {"detail": exc.detail}) from exc
    return value


def validate_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    text = json.dumps(value, separators=(",", ":"))
    if "\\u0000" in text:
        raise PydanticCustomError("nul_character", "metadata must not contain NUL characters")
    if len(text) > MAX_METADATA_BYTES:
        raise PydanticCustomError(
            "metadata_too_large",
            "metadata must be at most {limit} bytes of JSON",
            {"limit": MAX_METADATA_BYTES},
        )
    return value


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
    AfterValidator(validate_amount),
]
Reference = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[\x20-\x7e]+$", examples=["invoice-1042"])
]
Memo = Annotated[
    str, Field(max_length=512, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$", examples=["thank you"])
]
Metadata = Annotated[dict[str, Any] | None, AfterValidator(validate_metadata)]


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
                    "created_at": "2026-11-28T21:00:00Z",
                    "updated_at": "2026-11-28T21:00:00Z",
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
    fee_paid: str | None = Field(description="TRX, decimal string")
    energy_used: int | None
    created_at: datetime
    updated_at: datetime

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
            created_at=payout.created_at,
            updated_at=payout.updated_at,
        )


class PayoutList(BaseModel):
    items: list[PayoutOut]
    next_cursor: str | None = Field(description="pass as ?cursor= to get the next page")
