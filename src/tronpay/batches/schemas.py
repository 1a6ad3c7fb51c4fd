"""Batch bodies: JSON ``{"items": [...]}`` or ``text/csv``; row errors; progress summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tronpay.payouts.schemas import EXAMPLE_ADDRESS

CSV_COLUMNS = ("to", "amount", "asset", "reference", "memo")
REQUIRED_CSV_COLUMNS = ("to", "amount")


class BatchCreateJSON(BaseModel):
    """JSON form of ``POST /v1/batches``; each item has the fields of ``POST /v1/payouts``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"to": EXAMPLE_ADDRESS, "amount": "10", "reference": "march-1"},
                        {"to": EXAMPLE_ADDRESS, "amount": "2.5", "asset": "TRX"},
                    ]
                }
            ]
        },
    )

    items: list[dict[str, Any]] = Field(min_length=1)


class RowError(BaseModel):
    row: int = Field(description="1-based item index (JSON) or line number (CSV, header = 1)")
    column: str | None
    reason: str = Field(description="stable machine reason, e.g. invalid_address")
    message: str


class StatusSummary(BaseModel):
    status: str
    asset: str
    count: int
    amount: str = Field(description="sum of amounts, decimal string")


class BatchOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "ba_01JDX4Z6W8Q1V9M2N3B4C5D6E7",
                    "source": "csv",
                    "item_count": 2,
                    "created_by": "billing-service",
                    "created_at": "2026-11-28T21:00:00Z",
                    "completed_at": None,
                    "summary": [
                        {"status": "queued", "asset": "USDT", "count": 2, "amount": "12.5"}
                    ],
                }
            ]
        }
    )

    id: str
    source: str
    item_count: int
    created_by: str
    created_at: datetime
    completed_at: datetime | None = Field(
        default=None,
        description="when the last payout reached finalized, failed or cancelled (the "
        "batch.completed webhook); null while any payout is open",
    )
    summary: list[StatusSummary]
