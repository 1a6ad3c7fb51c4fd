"""kit: exact money conversion (property-based), sortable ids, opaque cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.kit.ids import new_id, new_ulid
from tronpay.kit.money import MAX_BASE_UNITS, InvalidAmount, format_amount, parse_amount
from tronpay.kit.pagination import Cursor, InvalidCursor


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=MAX_BASE_UNITS))
def test_format_then_parse_is_identity(units: int) -> None:
    assert parse_amount(format_amount(units)) == units


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=999_999))
def test_parse_matches_integer_arithmetic(whole: int, frac: int) -> None:
    text = f"{whole}.{frac:06d}"
    if whole == 0 and frac == 0:
        with pytest.raises(InvalidAmount):
            parse_amount(text)
        return
    assert parse_amount(text) == whole * 1_000_000 + frac


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("1", 1_000_000),
        ("0.000001", 1),
        ("12.5", 12_500_000),
        ("12.500001", 12_500_001),
        ("1.10", 1_100_000),
        ("0.1000000", 100_000),
    ],
)
def test_parse_examples(text: str, units: int) -> None:
    assert parse_amount(text) == units


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "0.0",
        "-1",
        "+1",
        "1e6",
        "1.",
        ".5",
        "01",
        " 1",
        "1 ",
        "1,5",
        "NaN",
        "inf",
        "1.0000001",
        "0x10",
        "\u0661",
        "9" * 30,
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(1.5)  # type: ignore[arg-type]


def test_format_examples() -> None:
    assert format_amount(0) == "0"
    assert format_amount(1) == "0.000001"
    assert format_amount(12_500_000) == "12.5"
    assert format_amount(-1_500_000) == "-1.5"


def test_ids_are_prefixed_unique_and_sorted() -> None:
    ids = [new_id("po") for _ in range(2000)]
    assert all(i.startswith("po_") and len(i) == 29 for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert new_ulid(now_ms=1) < new_ulid(now_ms=2**40)


def test_cursor_round_trip_and_garbage() -> None:
    cursor = Cursor(
        created_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), id="po_01JDX4Z6W8Q1V9M2N3B4C5D6E7"
    )
    assert Cursor.decode(cursor.encode()) == cursor
    for text in ["", "!!!", "bm90IGpzb24", "WzEsMl0", "WyIyMDI2LTAxLTAyVDAzOjA0OjA1IiwgIngiXQ"]:
        with pytest.raises(InvalidCursor):
            Cursor.decode(text)
