"""Every public vector in tests/tron/vectors.json."""

from __future__ import annotations

from typing import Any

import pytest

from tronpay.tron import address
from tronpay.tron.errors import InvalidAddressError
from tronpay.tron.keys import recover_address
from tronpay.tron.transaction import (
    RefBlock,
    build_trc20_transfer,
    decode_raw_data,
    encode_raw_data,
    txid,
)

from .support import SIGNED, TRANSACTIONS, VECTORS


def test_vector_file_has_the_named_vectors() -> None:
    names = {t["name"] for t in TRANSACTIONS}
    assert names >= {"shasta-transfer-with-memo", "usdt-transfer-unsigned", "usdt-transfer-key-1"}


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


@pytest.mark.parametrize("vector", SIGNED, ids=_ids(SIGNED))
def test_encode_json_matches_raw_hex(vector: dict[str, Any]) -> None:
    assert encode_raw_data(vector["raw_data"]).hex() == vector["raw_data_hex"]


@pytest.mark.parametrize("vector", SIGNED, ids=_ids(SIGNED))
def test_decode_raw_hex_matches_json(vector: dict[str, Any]) -> None:
    assert decode_raw_data(bytes.fromhex(vector["raw_data_hex"])) == vector["raw_data"]


@pytest.mark.parametrize("vector", SIGNED, ids=_ids(SIGNED))
def test_txid(vector: dict[str, Any]) -> None:
    assert txid(bytes.fromhex(vector["raw_data_hex"])).hex() == vector["txID"]
    assert txid(encode_raw_data(vector["raw_data"])).hex() == vector["txID"]


SIGNATURES = [
    (vector, key)
    for vector in SIGNED
    for key in ("signature", "signature_v01", "signature_v27")
    if key in vector
]


@pytest.mark.parametrize(
    ("vector", "key"), SIGNATURES, ids=[f"{v['name']}-{k}" for v, k in SIGNATURES]
)
def test_signature_recovers_owner(vector: dict[str, Any], key: str) -> None:
    recovered = recover_address(bytes.fromhex(vector["txID"]), bytes.fromhex(vector[key]))
    assert recovered == vector["owner_base58"]
    owner_hex = vector["raw_data"]["contract"][0]["parameter"]["value"]["owner_address"]
    assert address.from_hex(owner_hex) == recovered


def test_both_v_forms_are_present_and_differ_only_in_v() -> None:
    vector = next(v for v in SIGNED if "signature_v27" in v)
    v01, v27 = bytes.fromhex(vector["signature_v01"]), bytes.fromhex(vector["signature_v27"])
    assert v01[:64] == v27[:64]
    assert v27[64] == v01[64] + 27


def test_usdt_transfer_unsigned_built_from_fields() -> None:
    vector = next(t for t in TRANSACTIONS if t["name"] == "usdt-transfer-unsigned")
    raw_data = build_trc20_transfer(
        vector["owner_base58"],
        vector["contract_base58"],
        vector["recipient_base58"],
        vector["amount_units"],
        ref=RefBlock(
            bytes.fromhex(vector["ref_block_bytes"]), bytes.fromhex(vector["ref_block_hash"])
        ),
        timestamp_ms=vector["timestamp"],
        expiration_ms=vector["expiration"],
        fee_limit=vector["fee_limit"],
    )
    assert txid(encode_raw_data(raw_data)).hex() == vector["txID"]


def test_usdt_transfer_key_1_built_from_fields() -> None:
    vector = next(t for t in TRANSACTIONS if t["name"] == "usdt-transfer-key-1")
    expected = vector["raw_data"]
    value = expected["contract"][0]["parameter"]["value"]
    raw_data = build_trc20_transfer(
        vector["owner_base58"],
        value["contract_address"],
        vector["recipient_base58"],
        vector["amount_units"],
        ref=RefBlock(
            bytes.fromhex(expected["ref_block_bytes"]), bytes.fromhex(expected["ref_block_hash"])
        ),
        timestamp_ms=expected["timestamp"],
        expiration_ms=expected["expiration"],
        fee_limit=expected["fee_limit"],
    )
    assert raw_data == expected
    assert encode_raw_data(raw_data).hex() == vector["raw_data_hex"]


@pytest.mark.parametrize("entry", VECTORS["addresses"], ids=lambda e: e["base58"])
def test_address_table(entry: dict[str, str]) -> None:
    assert address.to_hex(entry["base58"]) == entry["hex"]
    assert address.from_hex(entry["hex"]) == entry["base58"]
    assert address.normalize(entry["hex"]) == entry["base58"]
    assert address.normalize(entry["base58"]) == entry["base58"]
    assert address.is_valid(entry["base58"])
    assert address.is_valid(entry["hex"])


@pytest.mark.parametrize("text", VECTORS["invalid_addresses"])
def test_invalid_addresses_rejected_with_reason(text: str) -> None:
    assert not address.is_valid(text)
    for parse in (address.decode_base58, address.normalize, address.to_hex):
        with pytest.raises(InvalidAddressError) as info:
            parse(text)
        assert info.value.reason in {"empty", "alphabet", "length", "checksum", "prefix"}
        assert info.value.reason in str(info.value) or str(info.value).startswith("invalid")


def test_invalid_address_reasons_are_the_expected_ones() -> None:
    reasons = {}
    for text in VECTORS["invalid_addresses"]:
        with pytest.raises(InvalidAddressError) as info:
            address.normalize(text)
        reasons[text] = info.value.reason
    assert reasons == {
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T": "checksum",  # last char case flipped
        "TG3XXyExBkPJ4D8sYv7cL6Lf4n9W4iZ1C": "length",  # one char short
        "0x41a614f803b6fd780986a42c78ec9c7f77e6ded13c": "alphabet",  # '0' is not base58
        "": "empty",
    }
