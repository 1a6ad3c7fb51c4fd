"""kit.chunking: IN-list pieces cover every item once, in order, none over the size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tronpay.kit.chunking import IN_CHUNK, chunked


@given(st.lists(st.integers(), max_size=2_000), st.integers(min_value=1, max_value=700))
def test_chunks_rebuild_the_sequence(items: list[int], size: int) -> None:
    pieces = list(chunked(items, size))
    assert [x for piece in pieces for x in piece] == items
    assert all(1 <= len(piece) <= size for piece in pieces)
    assert all(len(piece) == size for piece in pieces[:-1])


def test_default_size_and_edges() -> None:
    ids = [f"po_{i}" for i in range(IN_CHUNK * 2 + 1)]
    assert [len(piece) for piece in chunked(ids)] == [IN_CHUNK, IN_CHUNK, 1]
    assert list(chunked([])) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(chunked(ids, 0))
