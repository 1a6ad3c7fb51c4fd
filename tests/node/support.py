"""Helpers shared by the node-client, engine and chaos tests: a real devnet over HTTP and
transactions built and signed with tronpay's own protocol code."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tron_devnet.genesis import address_from_private_key, demo_private_key
from tronpay.tron.keys import PrivateKey
from tronpay.tron.node import BlockRef
from tronpay.tron.transaction import (
    RefBlock,
    build_trc20_transfer,
    build_trx_transfer,
    encode_raw_data,
    encode_transaction,
    txid,
)

DEMO_KEY = PrivateKey(demo_private_key())
DEMO_HEX = address_from_private_key(demo_private_key())
USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"


def key(n: int) -> PrivateKey:
    return PrivateKey((0x5000 + n).to_bytes(32, "big"))


def addr(n: int) -> str:
    """A fresh recipient address (base58) for test number ``n``."""
    return key(n).address


def signed_trx(
    ref: BlockRef,
    to: str,
    amount: int,
    *,
    signer: PrivateKey = DEMO_KEY,
    expiration_ms: int | None = None,
    ts_ms: int | None = None,
) -> tuple[bytes, str]:
    ts = ts_ms or int(time.time() * 1000)
    raw_json = build_trx_transfer(
        signer.address,
        to,
        amount,
        ref=RefBlock.from_block(ref.number, ref.id),
        timestamp_ms=ts,
        expiration_ms=expiration_ms or ts + 60_000,
    )
    raw = encode_raw_data(raw_json)
    tid = txid(raw)
    return encode_transaction(raw, [signer.sign_txid(tid)]), tid.hex()


def signed_usdt(
    ref: BlockRef, to: str, amount: int, *, fee_limit: int = 30_000_000
) -> tuple[bytes, str]:
    ts = int(time.time() * 1000)
    raw_json = build_trc20_transfer(
        DEMO_KEY.address,
        USDT_HEX,
        to,
        amount,
        ref=RefBlock.from_block(ref.number, ref.id),
        timestamp_ms=ts,
        expiration_ms=ts + 60_000,
        fee_limit=fee_limit,
    )
    raw = encode_raw_data(raw_json)
    tid = txid(raw)
    return encode_transaction(raw, [DEMO_KEY.sign_txid(tid)]), tid.hex()


async def set_faults(url: str, rules: list[dict[str, Any]], seed: int = 1) -> None:
    async with httpx.AsyncClient(timeout=10.0) as http:
        resp = await http.post(f"{url}/admin/faults", json={"seed": seed, "rules": rules})
        resp.raise_for_status()


async def clear_faults(url: str) -> None:
    async with httpx.AsyncClient(timeout=10.0) as http:
        (await http.delete(f"{url}/admin/faults")).raise_for_status()


async def ledger(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        resp = await http.get(f"{url}/admin/ledger")
        resp.raise_for_status()
        data: dict[str, Any] = resp.json()
        return data


async def blacklist(url: str, address: str, listed: bool = True) -> None:
    async with httpx.AsyncClient(timeout=10.0) as http:
        resp = await http.post(
            f"{url}/admin/blacklist", json={"address": address, "listed": listed}
        )
        resp.raise_for_status()


def free_port_url() -> str:
    """A URL nobody listens on (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def node_built(url: str, signer: PrivateKey, path: str, body: dict[str, Any]) -> str:
    """Build a transaction with the devnet's builder ``path`` (``/wallet/freezebalancev2``,
    ...; addresses in ``body`` base58), sign it with ``signer`` and broadcast it; the txid."""
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        request = {"owner_address": signer.address, "visible": True, **body}
        answer = (await http.post(path, json=request)).json()
        tx = answer.get("transaction", answer)  # triggersmartcontract wraps it
        assert "txID" in tx, answer
        raw = bytes.fromhex(tx["raw_data_hex"])
        tid = txid(raw)
        assert tid.hex() == tx["txID"]
        signed = encode_transaction(raw, [signer.sign_txid(tid)])
        result = (
            await http.post("/wallet/broadcasthex", json={"transaction": signed.hex()})
        ).json()
        assert result["result"] is True, result
    return tid.hex()


async def advance_time(url: str, seconds: int) -> int:
    """Move the devnet's chain time forward (``POST /admin/time``); the new head timestamp."""
    async with httpx.AsyncClient(timeout=10.0) as http:
        resp = await http.post(f"{url}/admin/time", json={"advance_s": seconds})
        resp.raise_for_status()
        head_timestamp: int = resp.json()["head_timestamp"]
        return head_timestamp
