"""Column types shared by tronpay's own models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Dialect, Integer
from sqlalchemy.types import TypeDecorator

from tronpay.kit.clock import as_utc, aware_as_utc

# 64-bit on PostgreSQL; INTEGER on SQLite so the column is a rowid alias (autoincrement).
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text. Values always come back
    aware (UTC), so comparisons and cursors behave the same on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = aware_as_utc(value, what="a UTCDateTime column")
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)
