"""Small FastAPI dependencies shared by routers: the caller as an ``Actor``, the clock."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from tronpay.api.problems import request_id_of
from tronpay.auth import Principal
from tronpay.payouts.states import Actor


def actor_of(request: Request, principal: Principal) -> Actor:
    return Actor(principal=principal.subject, request_id=request_id_of(request))


def as_utc(value: datetime | None) -> datetime | None:
    """Query datetimes without an offset are taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
