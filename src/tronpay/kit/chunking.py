"""Splitting long id lists into pieces a single ``IN (...)`` clause can take."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, TypeVar

IN_CHUNK: Final = 500
"""Ids per ``IN (...)`` list: well under SQLite's and asyncpg's parameter limits."""

T = TypeVar("T")


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of ``items`` of at most ``size`` elements (none for no items)."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]
