"""kit.clock: the one wall clock and the one UTC normaliser."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tronpay.kit.clock import as_utc, aware_as_utc, epoch_seconds, now_ms, utc_or_now, utcnow

PLUS_TWO = timezone(timedelta(hours=2))


def test_the_clock_reads_the_same_wall_time_in_every_unit() -> None:
    before = time.time()
    aware, seconds, millis = utcnow(), epoch_seconds(), now_ms()
    after = time.time()
    assert aware.tzinfo is UTC
    assert before <= aware.timestamp() <= after
    assert before <= seconds <= after
    assert int(before * 1000) <= millis <= int(after * 1000)


def test_naive_is_taken_as_utc_and_offsets_are_converted() -> None:
    naive = datetime(2026, 12, 3, 10, 0, 0, 123456)
    assert as_utc(naive) == datetime(2026, 12, 3, 10, 0, 0, 123456, tzinfo=UTC)
    assert as_utc(naive).tzinfo is UTC
    shifted = as_utc(datetime(2026, 12, 3, 12, 0, tzinfo=PLUS_TWO))
    assert shifted.tzinfo is UTC
    assert (shifted.hour, shifted.minute) == (10, 0)


def test_utc_or_now() -> None:
    moment = datetime(2026, 1, 1, 1, tzinfo=PLUS_TWO)
    assert utc_or_now(moment) == datetime(2025, 12, 31, 23, tzinfo=UTC)
    before = datetime.now(UTC)
    now = utc_or_now(None)
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_the_strict_form_refuses_naive_values() -> None:
    assert aware_as_utc(datetime(2026, 1, 1, 2, tzinfo=PLUS_TWO)) == datetime(
        2026, 1, 1, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="naive datetime given to a UTCDateTime column"):
        aware_as_utc(datetime(2026, 1, 1), what="a UTCDateTime column")
