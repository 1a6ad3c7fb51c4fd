"""Properties of the canonical form and the entry hash (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.audit.hashing import canonical_json, entry_hash, normalize
from tronpay.audit.models import GENESIS_HASH

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
documents = st.dictionaries(st.text(max_size=8), json_values, max_size=5)

BASE: dict[str, Any] = {
    "prev_hash": GENESIS_HASH,
    "seq": 1,
    "created_at": datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC),
    "principal": "alice",
    "request_id": "req",
    "action": "payout.create",
    "entity_type": "payout",
    "entity_id": "po_1",
    "before": None,
    "after": {"amount": "1.5"},
}


@settings(max_examples=150, deadline=None)
@given(documents)
def test_normalize_is_idempotent_and_order_free(document: dict[str, Any]) -> None:
    once = normalize(document)
    assert normalize(once) == once
    reordered = dict(reversed(list(document.items())))
    assert canonical_json({"d": normalize(reordered)}) == canonical_json({"d": once})


@settings(max_examples=150, deadline=None)
@given(documents, documents)
def test_different_content_gives_a_different_hash(a: dict[str, Any], b: dict[str, Any]) -> None:
    hash_a = entry_hash(**{**BASE, "after": normalize(a)})
    hash_b = entry_hash(**{**BASE, "after": normalize(b)})
    assert (hash_a == hash_b) == (
        canonical_json(normalize(a) or {}) == canonical_json(normalize(b) or {})
    )


def test_every_field_is_covered() -> None:
    reference = entry_hash(**BASE)
    changes: dict[str, Any] = {
        "prev_hash": "1" * 64,
        "seq": 2,
        "created_at": BASE["created_at"] + timedelta(microseconds=1),
        "principal": "bob",
        "request_id": None,
        "action": "payout.cancel",
        "entity_type": "batch",
        "entity_id": "po_2",
        "before": {},
        "after": {"amount": "1.50"},
    }
    for name, value in changes.items():
        assert entry_hash(**{**BASE, name: value}) != reference, name


def test_timestamps_are_normalized_to_utc() -> None:
    moment = BASE["created_at"]
    plus_two = moment.astimezone(timezone(timedelta(hours=2)))
    naive = moment.replace(tzinfo=None)
    assert entry_hash(**{**BASE, "created_at": plus_two}) == entry_hash(**BASE)
    assert entry_hash(**{**BASE, "created_at": naive}) == entry_hash(**BASE)
