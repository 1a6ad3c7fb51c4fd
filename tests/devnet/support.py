"""Helpers for devnet tests: sign, serialize and broadcast transactions over HTTP.

Signing uses coincurve directly (65-byte r||s||v over the txID), independent of tronpy and of
the devnet's own code.
"""

from __future__ import annotations

from typing import Any

import coincurve
import httpx

from tron_devnet.core.wire import bytes_field
from tron_devnet.genesis import address_from_private_key, demo_private_key
from tron_devnet.testing import produce_blocks

DEMO_KEY = demo_private_key()
DEMO_HEX = address_from_private_key(DEMO_KEY)
USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"


def key(n: int) -> bytes:
    return (0x1000 + n).to_bytes(32, "big")


def addr(n: int) -> str:
    return address_from_private_key(key(n))


def sign(txid_hex: str, private_key: bytes) -> str:
    signature = coincurve.PrivateKey(private_key).sign_recoverable(
        bytes.fromhex(txid_hex), hasher=None
    )
    return signature.hex()


def serialize(raw_data_hex: str, signatures: list[str]) -> bytes:
    """protocol.Transaction bytes: raw_data (field 1) and signatures (field 2)."""
    out = bytes_field(1, bytes.fromhex(raw_data_hex))
    for sig in signatures:
        out += bytes_field(2, bytes.fromhex(sig))
    return out


def transfer_data(to_hex: str, amount: int) -> str:
    return "a9059cbb" + "00" * 12 + to_hex[2:] + amount.to_bytes(32, "big").hex()


async def build_trx(
    client: httpx.AsyncClient, owner_hex: str, to_hex: str, amount: int
) -> dict[str, Any]:
    response = await client.post(
        "/wallet/createtransaction",
        json={"owner_address": owner_hex, "to_address": to_hex, "amount": amount},
    )
    body: dict[str, Any] = response.json()
    assert "txID" in body, body
    return body


async def build_trc20(
    client: httpx.AsyncClient,
    owner_hex: str,
    to_hex: str,
    amount: int,
    *,
    fee_limit: int = 30_000_000,
) -> dict[str, Any]:
    response = await client.post(
        "/wallet/triggersmartcontract",
        json={
            "owner_address": owner_hex,
            "contract_address": USDT_HEX,
            "function_selector": "transfer(address,uint256)",
            "parameter": transfer_data(to_hex, amount)[8:],
            "fee_limit": fee_limit,
        },
    )
    body: dict[str, Any] = response.json()
    assert body.get("result", {}).get("result") is True, body
    tx: dict[str, Any] = body["transaction"]
    return tx


def signed_hex(tx: dict[str, Any], private_key: bytes) -> str:
    return serialize(tx["raw_data_hex"], [sign(tx["txID"], private_key)]).hex()


async def broadcast_hex(
    client: httpx.AsyncClient, tx: dict[str, Any], private_key: bytes
) -> dict[str, Any]:
    response = await client.post(
        "/wallet/broadcasthex", json={"transaction": signed_hex(tx, private_key)}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def info(client: httpx.AsyncClient, txid: str, *, solid: bool = False) -> dict[str, Any]:
    prefix = "/walletsolidity" if solid else "/wallet"
    response = await client.post(f"{prefix}/gettransactioninfobyid", json={"value": txid})
    body: dict[str, Any] = response.json()
    return body


async def blocks(client: httpx.AsyncClient, n: int = 1) -> int:
    return await produce_blocks(str(client.base_url), n, client=client)


async def mint(
    client: httpx.AsyncClient, address: str, *, trx_sun: int = 0, usdt_units: int = 0
) -> None:
    response = await client.post(
        "/admin/mint", json={"address": address, "trx_sun": trx_sun, "usdt_units": usdt_units}
    )
    assert response.status_code == 200, response.text


async def usdt_balance(client: httpx.AsyncClient, holder_hex: str, *, solid: bool = False) -> int:
    prefix = "/walletsolidity" if solid else "/wallet"
    response = await client.post(
        f"{prefix}/triggerconstantcontract",
        json={
            "owner_address": holder_hex,
            "contract_address": USDT_HEX,
            "function_selector": "balanceOf(address)",
            "parameter": "00" * 12 + holder_hex[2:],
        },
    )
    body = response.json()
    return int(body["constant_result"][0], 16)


async def trx_balance(client: httpx.AsyncClient, holder_hex: str) -> int:
    response = await client.post("/wallet/getaccount", json={"address": holder_hex})
    balance: int = response.json().get("balance", 0)
    return balance
