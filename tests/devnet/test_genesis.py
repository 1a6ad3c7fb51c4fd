"""Genesis parsing and the demo key file (no chain needed)."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest
from tronpy.keys import PrivateKey

from tron_devnet.genesis import (
    DEMO_TRX_SUN,
    DEMO_USDT_UNITS,
    GenesisError,
    address_from_private_key,
    default_demo_key_path,
    default_genesis,
    demo_private_key,
    load_genesis,
    parse_genesis,
    write_demo_key,
)


def test_demo_wallet_is_deterministic_and_funded() -> None:
    key = demo_private_key()
    assert key == hashlib.sha256(b"tron-devnet demo hot wallet").digest()
    genesis = default_genesis()
    (account,) = genesis.accounts
    assert account.address_hex == PrivateKey(key).public_key.to_hex_address()
    assert account.trx_sun == DEMO_TRX_SUN == 1_000_000 * 10**6
    assert account.usdt_units == DEMO_USDT_UNITS == 10_000_000 * 10**6


def test_address_from_private_key_matches_tronpy() -> None:
    for i in range(1, 20):
        key = i.to_bytes(32, "big")
        assert address_from_private_key(key) == PrivateKey(key).public_key.to_hex_address()


def test_genesis_file_with_keys_addresses_and_config(tmp_path: Path) -> None:
    doc = {
        "accounts": [
            {"private_key": "01" * 32, "trx_sun": 5, "usdt_units": 7},
            {"address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "trx_sun": 1},
        ],
        "config": {"solidify_depth": 3, "energy_price_sun": 210},
    }
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(doc))
    genesis = load_genesis(path)
    assert genesis.config.solidify_depth == 3
    assert genesis.config.energy_price_sun == 210
    assert [a.trx_sun for a in genesis.accounts] == [5, 1]
    assert genesis.accounts[1].address_hex == "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ([], "JSON object"),
        ({"accounts": [{"trx_sun": 1}]}, "exactly one"),
        ({"accounts": [{"address": "Tnope"}]}, "invalid address"),
        ({"accounts": [{"private_key": "zz"}]}, "64 hex"),
        ({"accounts": [{"private_key": "01" * 32, "trx_sun": 1.5}]}, "non-negative integer"),
        ({"accounts": [{"private_key": "01" * 32, "trx_sun": -1}]}, "non-negative integer"),
        ({"accounts": [{"private_key": "01" * 32}, {"private_key": "01" * 32}]}, "duplicate"),
        ({"config": {"bogus": 1}}, "unknown setting"),
        ({"config": {"solidify_depth": "3"}}, "integer"),
        ({"whatever": 1}, "unknown genesis fields"),
    ],
)
def test_bad_genesis_is_rejected_with_a_reason(doc: object, fragment: str) -> None:
    with pytest.raises(GenesisError, match=fragment):
        parse_genesis(doc)


def test_unreadable_or_invalid_genesis_file(tmp_path: Path) -> None:
    with pytest.raises(GenesisError, match="cannot read"):
        load_genesis(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GenesisError, match="not valid JSON"):
        load_genesis(bad)


def test_demo_key_file_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRONPAY_DATA_DIR", str(tmp_path / "data"))
    path = default_demo_key_path()
    assert path == tmp_path / "data" / "devnet" / "demo-hot-wallet.key"
    write_demo_key(path)
    assert path.read_text().strip() == demo_private_key().hex()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.delenv("TRONPAY_DATA_DIR")
    assert default_demo_key_path() == Path(".tronpay/devnet/demo-hot-wallet.key")
