"""The one place that reads the wall clock and normalises datetimes to UTC.

Everything that needs "now" calls :func:`utcnow` (an aware UTC datetime) or :func:`now_ms`
(milliseconds since the epoch, the unit TRON timestamps use); code that must be testable
without sleeping takes a :data:`Clock` (seconds since the epoch) and defaults to
:func:`epoch_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]
"""Seconds since the epoch, as :func:`time.time` returns them; injected where tests need
to move time without sleeping."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def epoch_seconds() -> float:
    """Seconds since the epoch (the default :data:`Clock`)."""
    return time.time()


def now_ms() -> int:
    """Whole milliseconds since the epoch (TRON block and transaction timestamps)."""
    return int(time.time() * 1000)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one (as SQLite returns it, or a query
    parameter without an offset) is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """``moment`` as the API and webhooks write times: ISO 8601 in UTC with a ``Z``
    (``2026-12-03T12:00:00.123456Z``, the text pydantic produces); naive is taken as UTC."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def utc_or_now(moment: datetime | None) -> datetime:
    """:func:`as_utc` of ``moment``, or :func:`utcnow` when it is ``None``."""
    return utcnow() if moment is None else as_utc(moment)


def aware_as_utc(moment: datetime, *, what: str = "a timezone-aware column") -> datetime:
    """An aware ``moment`` converted to UTC; a naive one is a bug and raises ``ValueError``
    (``what`` names where it was given, for the message)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime given to {what}")
    return moment.astimezone(UTC)
