"""The ``wallet_operations`` table: one staking operation of the hot wallet and the one signed
transaction that carries it. Money columns are integers in sun."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tronpay.db.base import Base, Money
from tronpay.db.types import UTCDateTime


class OperationKind(enum.StrEnum):
    STAKE = "stake"  # FreezeBalanceV2
    UNSTAKE = "unstake"  # UnfreezeBalanceV2
    WITHDRAW_UNSTAKED = "withdraw_unstaked"  # WithdrawExpireUnfreeze
    CANCEL_UNSTAKES = "cancel_unstakes"  # CancelAllUnfreezeV2
    DELEGATE = "delegate"  # DelegateResource
    UNDELEGATE = "undelegate"  # UnDelegateResource


class OperationStatus(enum.StrEnum):
    """queued -> signed -> broadcast -> confirmed -> finalized; failed and expired are final.

    ``signed``: the transaction is committed and may or may not have reached a node;
    ``broadcast``: a node took it; ``confirmed``: its receipt is SUCCESS in a block;
    ``finalized``: that block is solidified; ``failed``: the receipt is a failure;
    ``expired``: the solidified head passed its expiration and no node knows it."""

    QUEUED = "queued"
    SIGNED = "signed"
    BROADCAST = "broadcast"
    CONFIRMED = "confirmed"
    FINALIZED = "finalized"
    FAILED = "failed"
    EXPIRED = "expired"


LIVE_STATUSES = (OperationStatus.SIGNED.value, OperationStatus.BROADCAST.value)
FINAL_STATUSES = frozenset(
    {OperationStatus.FINALIZED, OperationStatus.FAILED, OperationStatus.EXPIRED}
)


class WalletOperation(Base):
    __tablename__ = "wallet_operations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    resource: Mapped[str | None] = mapped_column(String(16), nullable=True)
    amount: Mapped[int | None] = mapped_column(Money, nullable=True)
    receiver: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lock: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    lock_period: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    blocked_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False)
    txid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    raw_data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    expiration_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    fee_paid: Mapped[int | None] = mapped_column(Money, nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    broadcast_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("txid"),
        UniqueConstraint("created_by", "idempotency_key"),
        Index("ix_wallet_operations_status", "status"),
        Index("ix_wallet_operations_created", "created_at", "id"),
    )


class WalletAlert(Base):
    """The state of one ``wallet.low`` threshold of one wallet: ``fired`` once the reading
    went below ``threshold`` (the event was written then), cleared when it rose back above the
    re-arm level. ``kind``: ``TRX``, ``USDT`` or ``energy``; ``threshold`` and ``value`` (the
    reading that last changed the state) in base units (sun, USDT units) or energy."""

    __tablename__ = "wallet_alerts"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    fired: Mapped[bool] = mapped_column(Boolean, nullable=False)
    threshold: Mapped[int] = mapped_column(BigInteger, nullable=False)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
