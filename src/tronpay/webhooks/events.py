"""The event types a webhook endpoint can subscribe to, and the message body built from an
outbox event.

Outbox topics are named like the event types they become (``payout.created``,
``payout.approved``, ...). Topics that are not public event types (``payout.queued`` after a
retry, for instance) stay in the outbox for the audit of the system but are not delivered.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from tronpay.kit.clock import iso_utc

PING_TYPE: Final = "webhook.test"


class EventType(StrEnum):
    """The event types an endpoint can subscribe to (stable API contract)."""

    PAYOUT_CREATED = "payout.created"
    PAYOUT_APPROVED = "payout.approved"
    PAYOUT_SUBMITTED = "payout.submitted"
    PAYOUT_CONFIRMED = "payout.confirmed"
    PAYOUT_FINALIZED = "payout.finalized"
    PAYOUT_FAILED = "payout.failed"
    PAYOUT_CANCELLED = "payout.cancelled"
    PAYOUT_BLOCKED = "payout.blocked"
    BATCH_COMPLETED = "batch.completed"
    WALLET_LOW = "wallet.low"


EVENT_TYPES: Final[tuple[str, ...]] = tuple(e.value for e in EventType)
_PUBLIC: Final = frozenset(EVENT_TYPES)


def event_type_of(topic: str) -> str | None:
    """The public event type an outbox topic is delivered as (``None``: not delivered)."""
    return topic if topic in _PUBLIC else None


def message_body(event_type: str, created_at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a webhook message: ``{"type", "timestamp", "data"}``."""
    return {"type": event_type, "timestamp": iso_utc(created_at), "data": data}


def subscribed(events: list[str] | None, event_type: str) -> bool:
    """Whether an endpoint's ``events`` filter (``None``: all) includes ``event_type``. The
    test ping goes to every endpoint."""
    return event_type == PING_TYPE or events is None or event_type in events
