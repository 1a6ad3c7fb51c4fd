"""kit/jsontext: orjson's output is the standard library's, and its refusals fall back to it."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tronpay.api.idempotency import request_hash
from tronpay.kit import jsontext
from tronpay.kit.money import Asset

_SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)


def _documents(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )


def _stdlib_response(value: Any) -> bytes:
    """What starlette's JSONResponse sends for ``value``."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@given(_documents(_SCALARS))
def test_the_bytes_are_the_standard_librarys(value: Any) -> None:
    assert jsontext.dumps_bytes(value) == _stdlib_response(value)
    assert json.loads(jsontext.dumps(value)) == value


@given(_documents(_SCALARS | _FLOATS))
def test_floats_read_back_equal(value: Any) -> None:
    assert json.loads(jsontext.dumps_bytes(value)) == value
    assert json.loads(jsontext.dumps(value)) == value


def test_a_payout_body_is_byte_identical() -> None:
    body = {
        "id": "po_01JF4X0000000000000000000",
        "status": "queued",
        "to": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8",
        "amount": "12.5",
        "memo": "für Jörg — 支付",
        "metadata": {"order": 7, "tags": ["a", "b"], "nested": {"ok": True}},
        "txid": None,
    }
    assert jsontext.dumps_bytes(body) == _stdlib_response(body)


@pytest.mark.parametrize(
    "value",
    [
        2**64,  # past 64 bits: orjson refuses, the standard library writes it
        {"n": -(2**70)},
        "\ud800",  # a lone surrogate (json.loads makes them from "\\ud800")
        {1: "integer key"},
        Asset.USDT,  # a str subclass
    ],
)
def test_what_orjson_refuses_is_written_by_the_standard_library(value: Any) -> None:
    assert jsontext.dumps(value) == json.dumps(value)
    if value == "\ud800":  # not UTF-8: a response cannot carry it, as with JSONResponse
        with pytest.raises(UnicodeEncodeError):
            _stdlib_response(value)
        with pytest.raises(UnicodeEncodeError):
            jsontext.dumps_bytes(value)
    else:
        assert jsontext.dumps_bytes(value) == _stdlib_response(value)


def test_what_json_cannot_hold_still_raises() -> None:
    with pytest.raises(TypeError):
        jsontext.dumps({"at": datetime(2026, 12, 3, tzinfo=UTC)})
    with pytest.raises(TypeError):
        jsontext.dumps_bytes(object())


def _stdlib_canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# Keys and strings across the planes (ASCII, Latin-1, CJK, astral) and control characters: the
# sort order and the escapes must be the standard library's.
_SPECIAL = st.sampled_from(["\x00", "\x1f", "\x7f", "\u2028", "\U0001f600"])
_TEXT = st.text(alphabet=st.characters(codec="utf-8") | _SPECIAL)
_CANONICAL_SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _TEXT


@settings(max_examples=500)
@given(
    st.recursive(
        _CANONICAL_SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=5),
        max_leaves=25,
    )
)
def test_canonical_bytes_are_the_standard_librarys(value: Any) -> None:
    assert jsontext.canonical_bytes(value) == _stdlib_canonical(value)


@given(_documents(_SCALARS | _FLOATS))
def test_canonical_bytes_with_floats_are_the_standard_librarys(value: Any) -> None:
    assert jsontext.canonical_bytes(value) == _stdlib_canonical(value)


def test_a_known_fingerprint_never_changes() -> None:
    """A key stored by an earlier release must still match its request after an upgrade."""
    payload = {"to": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8", "amount": "1.5", "memo": "é", "n": 1e16}
    canonical = json.dumps(
        ["payout.create", payload], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert request_hash("payout.create", payload) == hashlib.sha256(canonical.encode()).hexdigest()
    del payload["n"]
    canonical = json.dumps(
        ["payout.create", payload], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert request_hash("payout.create", payload) == hashlib.sha256(canonical.encode()).hexdigest()
