"""The JSON of the staking operations: requests (amounts as decimal TRX strings) and the
operation as it is read back."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tronpay.kit.money import format_amount
from tronpay.payouts.schemas import AmountText, TronAddress
from tronpay.wallet.models import WalletOperation


class ResourceName(enum.StrEnum):
    ENERGY = "ENERGY"
    BANDWIDTH = "BANDWIDTH"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StakeRequest(_Strict):
    amount: AmountText = Field(description="TRX to stake (at least 1)")
    resource: ResourceName = ResourceName.ENERGY


class UnstakeRequest(_Strict):
    amount: AmountText = Field(description="staked TRX to unstake (withdrawable 14 days later)")
    resource: ResourceName = ResourceName.ENERGY


class EmptyRequest(_Strict):
    """No parameters."""


class DelegateRequest(_Strict):
    receiver: TronAddress
    amount: AmountText = Field(description="staked TRX whose resource goes to the receiver")
    resource: ResourceName = ResourceName.ENERGY
    lock: bool = Field(default=False, description="lock the delegation (default 3 days)")
    lock_period: int | None = Field(
        default=None, description="lock length in 3 s blocks (needs lock: true)"
    )


class UndelegateRequest(_Strict):
    receiver: TronAddress
    amount: AmountText
    resource: ResourceName = ResourceName.ENERGY


class OperationOut(BaseModel):
    id: str
    kind: str
    status: str = Field(
        description="queued, signed, broadcast, confirmed, finalized; failed or expired"
    )
    resource: str | None
    amount: str | None
    receiver: str | None
    lock: bool
    lock_period: int | None
    blocked_reason: str | None = Field(description="why a queued operation waits")
    error: str | None
    txid: str | None
    fee_paid: str | None
    block_number: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, op: WalletOperation) -> OperationOut:
        return cls(
            id=op.id,
            kind=op.kind,
            status=op.status,
            resource=op.resource,
            amount=format_amount(op.amount) if op.amount is not None else None,
            receiver=op.receiver,
            lock=op.lock,
            lock_period=op.lock_period,
            blocked_reason=op.blocked_reason,
            error=op.error,
            txid=op.txid,
            fee_paid=format_amount(op.fee_paid) if op.fee_paid is not None else None,
            block_number=op.block_number,
            created_by=op.created_by,
            created_at=op.created_at,
            updated_at=op.updated_at,
        )


class OperationList(BaseModel):
    items: list[OperationOut]
    next_cursor: str | None
