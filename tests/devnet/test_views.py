"""Address forms and response shaping (no chain needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tronpy import keys as tronpy_keys

from tron_devnet.core.crypto import AddressError, base58_to_hex, hex_to_base58
from tron_devnet.core.types import SubmitResult
from tron_devnet.views import (
    broadcast_hex_view,
    broadcast_view,
    from_visible,
    parse_address,
    parse_any_address,
    to_visible,
)

VECTORS = json.loads(Path(__file__).parents[1].joinpath("tron", "vectors.json").read_text())


@pytest.mark.parametrize("entry", VECTORS["addresses"], ids=lambda e: e["base58"])
def test_address_vectors_both_ways(entry: dict[str, str]) -> None:
    assert hex_to_base58(entry["hex"]) == entry["base58"]
    assert base58_to_hex(entry["base58"]) == entry["hex"]


@pytest.mark.parametrize("bad", VECTORS["invalid_addresses"])
def test_invalid_addresses_rejected_in_visible_form(bad: str) -> None:
    with pytest.raises(AddressError):
        parse_address(bad, visible=True)


@settings(max_examples=150)
@given(st.binary(min_size=20, max_size=20))
def test_base58_round_trip_matches_tronpy(body: bytes) -> None:
    address_hex = "41" + body.hex()
    encoded = hex_to_base58(address_hex)
    assert encoded == tronpy_keys.to_base58check_address(address_hex)
    assert base58_to_hex(encoded) == address_hex


def test_visible_flag_is_strict_about_the_form() -> None:
    usdt_hex = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
    usdt_b58 = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    assert parse_address(usdt_b58, visible=True) == usdt_hex
    assert parse_address(usdt_hex.upper(), visible=False) == usdt_hex
    with pytest.raises(AddressError):
        parse_address(usdt_hex, visible=True)
    with pytest.raises(AddressError):
        parse_address(usdt_b58, visible=False)
    assert parse_any_address(usdt_b58) == parse_any_address(usdt_hex) == usdt_hex
    with pytest.raises(AddressError):
        parse_address("42" + usdt_hex[2:], visible=False)


def test_to_visible_converts_address_fields_only() -> None:
    body = {
        "owner_address": "41a614f803b6fd780986a42c78ec9c7f77e6ded13c",
        "data": "41a614f803b6fd780986a42c78ec9c7f77e6ded13c",
        "log": [{"address": "a614f803b6fd780986a42c78ec9c7f77e6ded13c"}],
        "nested": [{"to_address": "417e5f4552091a69125d5dfcb7b8c2659029395bdf"}],
    }
    out = to_visible(body)
    assert out["owner_address"] == "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    assert out["data"] == body["data"]
    assert out["log"][0]["address"] == body["log"][0]["address"]
    assert out["nested"][0]["to_address"] == "TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC"
    request = {"owner_address": out["owner_address"], "nested": out["nested"], "amount": 1}
    assert from_visible(request, visible=True) == {
        "owner_address": body["owner_address"],
        "nested": body["nested"],
        "amount": 1,
    }
    with pytest.raises(AddressError):
        from_visible({"to_address": body["owner_address"]}, visible=True)


def test_broadcast_views_follow_java_tron() -> None:
    ok = SubmitResult(True, "ab" * 32)
    assert broadcast_view(ok) == {"result": True, "txid": "ab" * 32}
    bad = SubmitResult(False, "cd" * 32, "SIGERROR", "validate signature error")
    view = broadcast_view(bad)
    assert view == {
        "code": "SIGERROR",
        "txid": "cd" * 32,
        "message": b"validate signature error".hex(),
    }
    hex_view = broadcast_hex_view(bad, None)
    assert hex_view["result"] is False
    assert hex_view["code"] == "SIGERROR"
    assert hex_view["message"] == "validate signature error"
