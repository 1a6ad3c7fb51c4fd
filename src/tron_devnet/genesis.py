"""Genesis: the accounts and chain settings a devnet starts from.

Genesis JSON::

    {"accounts": [{"private_key": "<64 hex>" | "address": "T... or 41...",
                   "trx_sun": 1000000, "usdt_units": 0}],
     "config": {"solidify_depth": 19, ...}}      # optional ChainConfig overrides

Without a file the genesis is deterministic: one demo hot wallet whose private key is
``sha256(b"tron-devnet demo hot wallet")``, holding 1,000,000 TRX and 10,000,000 USDT. This key is
PUBLIC knowledge: it exists only so the zero-setup demo has a funded wallet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tron_devnet.core.crypto import AddressError, address_of_private_key
from tron_devnet.core.types import ChainConfig, GenesisAccount
from tron_devnet.persistence import read_json_file, write_private_file
from tron_devnet.views import parse_any_address

DEMO_KEY_SEED = b"tron-devnet demo hot wallet"
DEMO_TRX_SUN = 1_000_000 * 1_000_000
DEMO_USDT_UNITS = 10_000_000 * 1_000_000


class GenesisError(ValueError):
    """The genesis file or its content is not valid."""


@dataclass(frozen=True)
class Genesis:
    config: ChainConfig
    accounts: tuple[GenesisAccount, ...]


def demo_private_key() -> bytes:
    """The well-known demo hot wallet key (32 bytes)."""
    return hashlib.sha256(DEMO_KEY_SEED).digest()


def address_from_private_key(private_key: bytes) -> str:
    """``41...`` hex address of a secp256k1 private key."""
    return address_of_private_key(private_key).hex()


def demo_address_hex() -> str:
    return address_from_private_key(demo_private_key())


def default_genesis(config: ChainConfig | None = None) -> Genesis:
    return Genesis(
        config=config or ChainConfig(),
        accounts=(GenesisAccount(demo_address_hex(), DEMO_TRX_SUN, DEMO_USDT_UNITS),),
    )


def _amount(raw: dict[str, Any], name: str, where: str) -> int:
    value = raw.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GenesisError(f"{where}: {name} must be a non-negative integer")
    return value


_CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(ChainConfig)}


def _config(raw: object, base: ChainConfig) -> ChainConfig:
    if raw is None:
        return base
    if not isinstance(raw, dict):
        raise GenesisError("config must be an object")
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _CONFIG_FIELDS:
            raise GenesisError(f"config: unknown setting {key!r}")
        current = getattr(base, key)
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise GenesisError(f"config: {key} must be true or false")
        elif isinstance(current, str):
            if not isinstance(value, str):
                raise GenesisError(f"config: {key} must be a string")
        elif key == "genesis_timestamp_ms":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise GenesisError(f"config: {key} must be an integer or null")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise GenesisError(f"config: {key} must be a non-negative integer")
        changes[key] = value
    return dataclasses.replace(base, **changes)


def parse_genesis(raw: object, base: ChainConfig | None = None) -> Genesis:
    """Validate a genesis document (already JSON-decoded)."""
    if not isinstance(raw, dict):
        raise GenesisError("genesis must be a JSON object")
    unknown = set(raw) - {"accounts", "config"}
    if unknown:
        raise GenesisError(f"unknown genesis fields: {sorted(unknown)}")
    config = _config(raw.get("config"), base or ChainConfig())
    accounts_raw = raw.get("accounts", [])
    if not isinstance(accounts_raw, list):
        raise GenesisError("accounts must be a list")
    accounts: list[GenesisAccount] = []
    seen: set[str] = set()
    for i, acc in enumerate(accounts_raw):
        where = f"accounts[{i}]"
        if not isinstance(acc, dict):
            raise GenesisError(f"{where} must be an object")
        extra = set(acc) - {"private_key", "address", "trx_sun", "usdt_units"}
        if extra:
            raise GenesisError(f"{where}: unknown fields {sorted(extra)}")
        if ("private_key" in acc) == ("address" in acc):
            raise GenesisError(f"{where}: give exactly one of private_key or address")
        if "private_key" in acc:
            key_hex = acc["private_key"]
            try:
                key = bytes.fromhex(key_hex) if isinstance(key_hex, str) else b""
                if len(key) != 32:
                    raise ValueError
                address = address_from_private_key(key)
            except ValueError:
                raise GenesisError(f"{where}: private_key must be 64 hex digits") from None
        else:
            try:
                address = parse_any_address(acc["address"])
            except AddressError:
                raise GenesisError(f"{where}: invalid address") from None
        if address in seen:
            raise GenesisError(f"{where}: duplicate account")
        seen.add(address)
        accounts.append(
            GenesisAccount(
                address,
                _amount(acc, "trx_sun", where),
                _amount(acc, "usdt_units", where),
            )
        )
    return Genesis(config=config, accounts=tuple(accounts))


def load_genesis(path: Path, base: ChainConfig | None = None) -> Genesis:
    return parse_genesis(read_json_file(path, "genesis", GenesisError), base)


def default_demo_key_path() -> Path:
    data_dir = os.environ.get("TRONPAY_DATA_DIR")
    base = Path(data_dir) if data_dir else Path(".tronpay")
    return base / "devnet" / "demo-hot-wallet.key"


def write_demo_key(path: Path) -> None:
    """Write the demo key as hex, mode 0600, atomically; parent directories are created."""
    write_private_file(path, (demo_private_key().hex() + "\n").encode())
