"""Devnet throughput: validated TRC20 broadcasts per second and blocks per second.

    .venv/bin/python bench/devnet.py [--transfers 6000] [--senders 8] [--clients 4]
                                     [--concurrency 48] [--blocks 20]

The devnet runs as its own process (``python -m tron_devnet``); this process is the load
generator. Before timing it pre-signs N USDT transfers from several funded genesis accounts
(raw protobuf bytes built here with the devnet's wire encoder, signed with coincurve), then
POSTs them to ``/wallet/broadcasthex`` from a pool of httpx clients. With the transfers pending
it then times ``POST /admin/blocks``. Prints ONE JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import coincurve

# sniffio is not installed in this environment: httpcore then retries ``import sniffio`` (a full
# sys.path search) several times per request, ~0.3 ms of client CPU each. A None entry makes the
# import fail at once and httpcore falls back to asyncio, which is what it would pick anyway.
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

import httpx  # noqa: E402
import uvloop  # noqa: E402
from Cryptodome.Hash import keccak  # noqa: E402

from tron_devnet.core.wire import bytes_field, varint_field  # noqa: E402

USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
TYPE_URL = b"type.googleapis.com/protocol.TriggerSmartContract"


def address_of(private_key: bytes) -> bytes:
    public = coincurve.PublicKey.from_secret(private_key).format(compressed=False)[1:]
    return b"\x41" + keccak.new(digest_bits=256, data=public).digest()[12:]


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
    value = bytes_field(1, owner) + bytes_field(2, bytes.fromhex(USDT_HEX)) + bytes_field(4, data)
    contract = varint_field(1, 31) + bytes_field(
        2, bytes_field(1, TYPE_URL) + bytes_field(2, value)
    )
    raw = (
        bytes_field(1, ref_block_id[6:8])
        + bytes_field(4, ref_block_id[8:16])
        + varint_field(8, now_ms + 10 * 60_000)
        + bytes_field(11, contract)
        + varint_field(14, now_ms + nonce)
        + varint_field(18, 50_000_000)
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


async def _httpx_blast(
    url: str, payloads: list[bytes], clients: int, concurrency: int, go: Any
) -> dict[str, int]:
    """One load process: ``clients`` httpx.AsyncClient, ``concurrency`` requests in flight each.
    Requests are built before the start signal so the clock sees only sending."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    pool = [httpx.AsyncClient(base_url=url, timeout=60.0, limits=limits) for _ in range(clients)]
    queue: asyncio.Queue[tuple[httpx.AsyncClient, httpx.Request]] = asyncio.Queue()
    for i, payload in enumerate(payloads):
        client = pool[i % clients]
        request = client.build_request(
            "POST",
            "/wallet/broadcasthex",
            content=payload,
            headers={"content-type": "application/json"},
        )
        queue.put_nowait((client, request))
    codes: dict[str, int] = {}

    async def worker() -> None:
        while True:
            try:
                client, request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            response = await client.send(request)
            result = response.json()
            code = "SUCCESS" if result.get("result") else str(result.get("code"))
            codes[code] = codes.get(code, 0) + 1

    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    try:
        await asyncio.gather(*(worker() for _ in range(clients * concurrency)))
    finally:
        for client in pool:
            await client.aclose()
    return codes


def _httpx_process(  # noqa: PLR0917 - multiprocessing passes positional args
    url: str,
    payloads: list[bytes],
    clients: int,
    concurrency: int,
    go: Any,
    out: Any,
) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        out.put(runner.run(_httpx_blast(url, payloads, clients, concurrency, go)))


def httpx_phase(
    url: str, payloads: list[bytes], procs: int, clients: int, concurrency: int
) -> dict[str, Any]:
    """Load from ``procs`` processes, each a pool of ``clients`` httpx.AsyncClient."""
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    out = ctx.Queue()
    workers = [
        ctx.Process(
            target=_httpx_process,
            args=(url, payloads[i::procs], clients, concurrency, go, out),
        )
        for i in range(procs)
    ]
    for worker in workers:
        worker.start()
    time.sleep(1.5)  # let the workers import and connect before the clock starts
    started = time.perf_counter()
    go.set()
    codes: dict[str, int] = {}
    for _ in workers:
        for code, n in out.get(timeout=600).items():
            codes[code] = codes.get(code, 0) + n
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join(30)
    return {"seconds": elapsed, "codes": codes}


async def _raw_blast(url: str, payloads: list[bytes], connections: int) -> dict[str, int]:
    """Minimal HTTP/1.1 keep-alive loader on asyncio streams (measures the server alone)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)
    codes: dict[str, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                writer.write(
                    b"POST /wallet/broadcasthex HTTP/1.1\r\nHost: "
                    + host.encode()
                    + b"\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                result = json.loads(await reader.readexactly(length))
                code = "SUCCESS" if result.get("result") else str(result.get("code"))
                codes[code] = codes.get(code, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return codes


def raw_phase(url: str, payloads: list[bytes], connections: int) -> dict[str, Any]:
    started = time.perf_counter()
    codes = asyncio.run(_raw_blast(url, payloads, connections))
    return {"seconds": time.perf_counter() - started, "codes": codes}


def presign(  # noqa: PLR0917
    keys: list[bytes],
    senders: list[bytes],
    recipients: list[bytes],
    count: int,
    ref_block_id: bytes,
    first_nonce: int,
) -> list[bytes]:
    now_ms = int(time.time() * 1000)
    signers = [coincurve.PrivateKey(k) for k in keys]
    payloads: list[bytes] = []
    for i in range(first_nonce, first_nonce + count):
        s = i % len(senders)
        raw, txid = trc20_transfer(
            owner=senders[s],
            to=recipients[i % len(recipients)],
            amount=1 + i,
            ref_block_id=ref_block_id,
            now_ms=now_ms,
            nonce=i,
        )
        signature = signers[s].sign_recoverable(txid, hasher=None)
        tx = bytes_field(1, raw) + bytes_field(2, signature)
        payloads.append(json.dumps({"transaction": tx.hex()}).encode())
    return payloads


def server_cpu_seconds(pid: int) -> float:
    """utime + stime of the devnet process (Linux /proc), to report its cost per request
    independently of how busy the shared machine is."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _summary(phase: dict[str, Any], server_cpu: float) -> dict[str, Any]:
    ok = phase["codes"].get("SUCCESS", 0)
    return {
        "seconds": round(phase["seconds"], 3),
        "codes": phase["codes"],
        "validated_trc20_broadcasts_per_s": round(ok / phase["seconds"], 1),
        "server_cpu_ms_per_broadcast": round(1000 * server_cpu / max(ok, 1), 3),
        "server_capacity_per_cpu_s": round(ok / server_cpu, 1) if server_cpu else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=4000, help="per load phase")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--procs", type=int, default=2, help="httpx load processes")
    parser.add_argument("--clients", type=int, default=8, help="httpx clients per process")
    parser.add_argument("--concurrency", type=int, default=1, help="in flight per httpx client")
    parser.add_argument("--connections", type=int, default=16, help="raw loader connections")
    parser.add_argument("--loader", choices=["httpx", "raw", "both"], default="both")
    parser.add_argument("--blocks", type=int, default=20)
    args = parser.parse_args()

    keys = [hashlib.sha256(f"bench sender {i}".encode()).digest() for i in range(args.senders)]
    senders = [address_of(k) for k in keys]
    recipients = [address_of(hashlib.sha256(f"bench r {i}".encode()).digest()) for i in range(50)]
    accounts = [
        {"address": s.hex(), "trx_sun": 10_000_000 * 10**6, "usdt_units": 10**15} for s in senders
    ] + [{"address": r.hex(), "trx_sun": 1_000_000, "usdt_units": 1} for r in recipients]

    report: dict[str, Any] = {
        "benchmark": "tron_devnet",
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "transfers_per_phase": args.transfers,
        "senders": args.senders,
        "target_broadcasts_per_s": 1000,
    }
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_devnet(accounts, Path(tmp))
        try:
            node = httpx.post(f"{url}/wallet/getnodeinfo").json()
            ref_block_id = bytes.fromhex(node["block"].split(",ID:", 1)[1])
            nonce = 0
            if args.loader in {"raw", "both"}:
                payloads = presign(keys, senders, recipients, args.transfers, ref_block_id, nonce)
                nonce += args.transfers
                cpu = server_cpu_seconds(proc.pid)
                phase = raw_phase(url, payloads, args.connections)
                report["raw_keepalive"] = {
                    "connections": args.connections,
                    **_summary(phase, server_cpu_seconds(proc.pid) - cpu),
                }
            if args.loader in {"httpx", "both"}:
                sign_started = time.perf_counter()
                payloads = presign(keys, senders, recipients, args.transfers, ref_block_id, nonce)
                report["presign_per_s"] = round(
                    args.transfers / (time.perf_counter() - sign_started), 1
                )
                cpu = server_cpu_seconds(proc.pid)
                phase = httpx_phase(url, payloads, args.procs, args.clients, args.concurrency)
                report["httpx_pool"] = {
                    "processes": args.procs,
                    "clients_per_process": args.clients,
                    "concurrency_per_client": args.concurrency,
                    **_summary(phase, server_cpu_seconds(proc.pid) - cpu),
                }
            pending = httpx.get(f"{url}/admin/state", timeout=60).json().get("pending")
            durations: list[float] = []
            with httpx.Client(base_url=url, timeout=300) as admin:
                for _ in range(args.blocks):
                    started = time.perf_counter()
                    admin.post("/admin/blocks", json={"count": 1}).raise_for_status()
                    durations.append(time.perf_counter() - started)
            ledger = httpx.get(f"{url}/admin/ledger", timeout=60).json()
            included = sum(1 for t in ledger.get("transactions", []) if t.get("asset") == "USDT")
        finally:
            proc.terminate()
            proc.wait(30)
    block_seconds = sum(durations)
    rest = durations[1:]
    report.update(
        {
            "pending_before_blocks": pending,
            "blocks": args.blocks,
            "blocks_per_s": round(args.blocks / block_seconds, 2),
            "first_block_seconds": round(durations[0], 3),
            "trc20_transfers_included": included,
            "included_per_s_first_block": round(included / durations[0], 1),
            "empty_blocks_per_s": round(len(rest) / sum(rest), 1) if rest else None,
        }
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
