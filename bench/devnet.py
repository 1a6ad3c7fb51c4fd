"""Devnet throughput: validated TRC20 broadcasts per second and blocks per second.

    .venv/bin/python bench/devnet.py [--transfers 6000] [--senders 8] [--clients 4]
                                     [--concurrency 48] [--blocks 20]

The devnet runs as its own process (``python -m tron_devnet``); this process is the load
generator. Before timing it pre-signs N USDT transfers from several funded genesis accounts
(raw protobuf bytes built here, signed with coincurve), then POSTs them to
``/wallet/broadcasthex`` from a pool of httpx clients. With the transfers pending it then times
``POST /admin/blocks``. Prints ONE JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import coincurve
import httpx
from Cryptodome.Hash import keccak

USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
TYPE_URL = b"type.googleapis.com/protocol.TriggerSmartContract"


def address_of(private_key: bytes) -> bytes:
    public = coincurve.PublicKey.from_secret(private_key).format(compressed=False)[1:]
    return b"\x41" + keccak.new(digest_bits=256, data=public).digest()[12:]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def field_int(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def trc20_transfer(
    *,
    owner: bytes,
    to: bytes,
    amount: int,
    ref_block_id: bytes,
    now_ms: int,
    nonce: int,
) -> tuple[bytes, bytes]:
    """(raw_data bytes, txid) of a USDT transfer; ``nonce`` varies the timestamp."""
    data = bytes.fromhex("a9059cbb") + b"\0" * 12 + to[1:] + amount.to_bytes(32, "big")
    value = field_bytes(1, owner) + field_bytes(2, bytes.fromhex(USDT_HEX)) + field_bytes(4, data)
    contract = field_int(1, 31) + field_bytes(2, field_bytes(1, TYPE_URL) + field_bytes(2, value))
    raw = (
        field_bytes(1, ref_block_id[6:8])
        + field_bytes(4, ref_block_id[8:16])
        + field_int(8, now_ms + 10 * 60_000)
        + field_bytes(11, contract)
        + field_int(14, now_ms + nonce)
        + field_int(18, 50_000_000)
    )
    return raw, hashlib.sha256(raw).digest()


def start_devnet(
    accounts: list[dict[str, Any]], workdir: Path
) -> tuple[subprocess.Popen[str], str]:
    genesis = workdir / "genesis.json"
    genesis.write_text(json.dumps({"accounts": accounts}))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tron_devnet",
            "--port",
            "0",
            "--block-time",
            "0",
            "--genesis",
            str(genesis),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=workdir,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"listening on (http://\S+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"devnet did not start: {line!r}")
    url = match.group(1)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/wallet/getnodeinfo", timeout=2).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


async def blast(url: str, payloads: list[bytes], clients: int, concurrency: int) -> dict[str, Any]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)
    codes: dict[str, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    pool = [httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) for _ in range(clients)]

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            response = await client.post(
                "/wallet/broadcasthex",
                content=body,
                headers={"content-type": "application/json"},
            )
            result = response.json()
            code = "SUCCESS" if result.get("result") else str(result.get("code"))
            codes[code] = codes.get(code, 0) + 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(pool[i % clients]) for i in range(clients * concurrency)))
    finally:
        for client in pool:
            await client.aclose()
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "codes": codes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=6000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=12, help="in flight per client")
    parser.add_argument("--blocks", type=int, default=20)
    args = parser.parse_args()

    keys = [hashlib.sha256(f"bench sender {i}".encode()).digest() for i in range(args.senders)]
    senders = [address_of(k) for k in keys]
    recipients = [address_of(hashlib.sha256(f"bench r {i}".encode()).digest()) for i in range(50)]
    accounts = [
        {"address": s.hex(), "trx_sun": 10_000_000 * 10**6, "usdt_units": 10**15} for s in senders
    ] + [{"address": r.hex(), "trx_sun": 1_000_000, "usdt_units": 1} for r in recipients]

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_devnet(accounts, Path(tmp))
        try:
            node = httpx.post(f"{url}/wallet/getnodeinfo").json()
            ref_block_id = bytes.fromhex(node["block"].split(",ID:", 1)[1])
            now_ms = int(time.time() * 1000)
            sign_started = time.perf_counter()
            signers = [coincurve.PrivateKey(k) for k in keys]
            payloads: list[bytes] = []
            for i in range(args.transfers):
                s = i % args.senders
                raw, txid = trc20_transfer(
                    owner=senders[s],
                    to=recipients[i % len(recipients)],
                    amount=1 + i,
                    ref_block_id=ref_block_id,
                    now_ms=now_ms,
                    nonce=i,
                )
                signature = signers[s].sign_recoverable(txid, hasher=None)
                tx = field_bytes(1, raw) + field_bytes(2, signature)
                payloads.append(json.dumps({"transaction": tx.hex()}).encode())
            sign_seconds = time.perf_counter() - sign_started

            result = asyncio.run(blast(url, payloads, args.clients, args.concurrency))
            ok = result["codes"].get("SUCCESS", 0)

            block_started = time.perf_counter()
            produced = 0
            for _ in range(args.blocks):
                httpx.post(f"{url}/admin/blocks", json={"count": 1}, timeout=300).raise_for_status()
                produced += 1
            block_seconds = time.perf_counter() - block_started
            ledger = httpx.get(f"{url}/admin/ledger", timeout=60).json()
            included = sum(1 for t in ledger.get("transactions", []) if t.get("asset") == "USDT")
        finally:
            proc.terminate()
            proc.wait(30)

    print(
        json.dumps(
            {
                "benchmark": "tron_devnet",
                "cpus": os.cpu_count(),
                "transfers": args.transfers,
                "senders": args.senders,
                "clients": args.clients,
                "concurrency_per_client": args.concurrency,
                "presign_seconds": round(sign_seconds, 3),
                "broadcast_seconds": round(result["seconds"], 3),
                "broadcast_codes": result["codes"],
                "validated_trc20_broadcasts_per_s": round(ok / result["seconds"], 1),
                "blocks": produced,
                "block_seconds": round(block_seconds, 3),
                "blocks_per_s": round(produced / block_seconds, 2),
                "trc20_transfers_included": included,
                "included_per_s": round(included / block_seconds, 1),
                "target_broadcasts_per_s": 1000,
            }
        )
    )


if __name__ == "__main__":
    main()
