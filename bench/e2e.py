"""End-to-end payout benchmark against a tron-devnet child process (prints JSON).

    .venv/bin/python bench/e2e.py --n 5000 --block-time 1

1. Starts tron-devnet (block time ``--block-time``) and ``tronpay worker`` as child processes
   sharing a fresh PostgreSQL database (created on ``--postgres-url`` for this run and dropped
   afterwards; ``--sqlite`` uses a fresh SQLite file instead, ``--database-url`` any URL).
2. Creates ``--n`` USDT payouts as ONE batch (``batches.service.create_batch``: one
   transaction, policy reservations, audit and outbox included) and measures from the moment
   the batch is accepted (committed): time until every payout is confirmed, confirmed
   payouts/s, time until every payout is finalized, the worker's peak RSS, attempts and
   OUT_OF_ENERGY receipts. The batch insert time is reported apart (``create_batch_s``).
3. Baseline in the same run: tronpy's AsyncTron sends ``--n`` USDT transfers from a second
   funded wallet with ``--baseline-concurrency`` tasks (build via the node, sign, broadcast,
   wait for the receipt) and the same figures are measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import structlog
from sqlalchemy import func, make_url, select

from tronpay.batches.parsing import ParsedBatch
from tronpay.batches.service import create_batch
from tronpay.db.models import Base
from tronpay.db.session import (
    create_engine,
    create_sessionmaker,
    read_transaction,
    write_transaction,
)
from tronpay.devnet_runner import start_devnet
from tronpay.kit.clock import utcnow
from tronpay.kit.money import format_amount
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.schemas import PayoutCreate
from tronpay.payouts.service import PayoutContext
from tronpay.payouts.states import Actor
from tronpay.policy.config import PolicyConfig
from tronpay.policy.service import PolicyService
from tronpay.tron.keys import PrivateKey

USDT_BASE58 = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def recipient(i: int, salt: int) -> str:
    return PrivateKey((salt * 1_000_000 + 7 + i).to_bytes(32, "big")).address


def rss_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its waited-for children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


async def status_counts(sm: Any) -> Counter[str]:
    async with read_transaction(sm) as s:
        rows = await s.execute(select(Payout.status, func.count()).group_by(Payout.status))
        return Counter({k: int(v) for k, v in rows.all()})


@asynccontextmanager
async def bench_database(args: argparse.Namespace, work: Path) -> AsyncIterator[str]:
    """The service database for this run: a fresh PostgreSQL database (dropped afterwards),
    a fresh SQLite file, or ``--database-url`` as given (its tables are recreated)."""
    if args.database_url:
        yield args.database_url
        return
    if args.sqlite:
        yield f"sqlite+aiosqlite:///{work / 'bench.db'}"
        return
    base = make_url(args.postgres_url)
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"tronpay_bench_{os.getpid()}_{int(time.time())}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def run_engine_bench(
    args: argparse.Namespace,
    *,
    db_url: str,
    devnet_url: str,
    devnet_pid: int,
    key_file: Path,
    work: Path,
) -> dict[str, Any]:
    db = create_engine(db_url)
    async with db.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    sm = create_sessionmaker(db)
    env = dict(os.environ)
    env.update(
        {
            "TRONPAY_DATABASE_URL": db_url,
            "TRONPAY_NODE_URLS": devnet_url,
            "TRONPAY_NETWORK": "devnet",
            "TRONPAY_HOT_WALLET_KEY_FILE": str(key_file),
            "TRONPAY_ENGINE_BATCH_SIZE": str(args.batch_size),
            "TRONPAY_ENGINE_BROADCAST_CONCURRENCY": "64",
            "TRONPAY_ENGINE_READ_CONCURRENCY": "32",
            "TRONPAY_ENGINE_TICK_S": "0.2",
            "TRONPAY_ENGINE_TX_EXPIRATION_S": "300",
        }
    )
    if args.engine_env:
        for pair in args.engine_env:
            key, _, value = pair.partition("=")
            env[key] = value
    log = (work / "worker.log").open("wb")
    script = work / "run_worker.py"
    script.write_text("from tronpay.cli.engine import worker\n\nworker()\n", encoding="utf-8")
    command = [sys.executable]
    if args.worker_profile:
        command += ["-m", "cProfile", "-o", str(args.worker_profile)]
    command.append(str(script))
    worker = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    ctx = PayoutContext(policy=PolicyService(PolicyConfig()))
    items = [
        PayoutCreate(to=recipient(i, 1), asset="USDT", amount=format_amount(1_000_000 + i))
        for i in range(args.n)
    ]
    parsed = ParsedBatch(items=items, rows=list(range(1, args.n + 1)), errors=[])
    await asyncio.sleep(2.0)  # let the worker connect
    t_submit = time.monotonic()
    async with write_transaction(sm) as session:
        await create_batch(
            session,
            ctx,
            parsed,
            source="json",
            actor=Actor("bench"),
            idempotency_key=None,
            now=utcnow(),
        )
    t0 = time.monotonic()  # the batch is accepted: committed, every payout queued
    cpu0 = cpu_seconds(worker.pid), cpu_seconds(devnet_pid)
    cpu_confirmed: tuple[float, float] | None = None
    t_created = t0 - t_submit
    t_confirmed = t_finalized = None
    peak_rss = 0
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        c = await status_counts(sm)
        peak_rss = max(peak_rss, rss_kb(worker.pid, "VmRSS"))
        done = c.get("confirmed", 0) + c.get("finalized", 0)
        if t_confirmed is None and done == args.n:
            t_confirmed = time.monotonic() - t0
            cpu_confirmed = cpu_seconds(worker.pid), cpu_seconds(devnet_pid)
        if c.get("finalized", 0) == args.n:
            t_finalized = time.monotonic() - t0
            break
        if worker.poll() is not None:
            break
        await asyncio.sleep(0.1)
    hwm = rss_kb(worker.pid, "VmHWM")
    cpu_end = cpu_seconds(worker.pid), cpu_seconds(devnet_pid)
    worker.send_signal(signal.SIGTERM)
    worker.wait(60)
    log.close()
    async with read_transaction(sm) as s:
        oue = await s.scalar(
            select(func.count()).where(PayoutAttempt.receipt_result == "OUT_OF_ENERGY")
        )
        attempts = await s.scalar(select(func.count()).select_from(PayoutAttempt))
    final = await status_counts(sm)
    await db.dispose()
    return {
        "database": make_url(db_url).get_backend_name(),
        "payouts": args.n,
        "batch_size": args.batch_size,
        "create_batch_s": round(t_created, 2),
        "all_confirmed_s": round(t_confirmed, 2) if t_confirmed else None,
        "confirmed_per_s": round(args.n / t_confirmed, 1) if t_confirmed else None,
        "all_finalized_s": round(t_finalized, 2) if t_finalized else None,
        "attempts": attempts,
        "out_of_energy": oue,
        "statuses": dict(final),
        "worker_exit_code": worker.returncode,
        "worker_peak_rss_mb": round(max(hwm, peak_rss) / 1024, 1),
        "cpu_s_until_confirmed": {
            "worker": round(cpu_confirmed[0] - cpu0[0], 2),
            "devnet": round(cpu_confirmed[1] - cpu0[1], 2),
        }
        if cpu_confirmed
        else None,
        "cpu_s_until_finalized": {
            "worker": round(cpu_end[0] - cpu0[0], 2),
            "devnet": round(cpu_end[1] - cpu0[1], 2),
        },
    }


async def run_baseline(args: argparse.Namespace, devnet_url: str) -> dict[str, Any]:
    from tronpy import AsyncTron
    from tronpy.keys import PrivateKey as TronpyKey
    from tronpy.providers.async_http import AsyncHTTPProvider

    wallet = PrivateKey((0xBA5E).to_bytes(32, "big"))
    async with httpx.AsyncClient(timeout=30) as http:
        (
            await http.post(
                f"{devnet_url}/admin/mint",
                json={"address": wallet.address, "trx_sun": 10**12, "usdt_units": 10**13},
            )
        ).raise_for_status()
    client = AsyncTron(AsyncHTTPProvider(devnet_url, timeout=30.0))
    key = TronpyKey(wallet.unsafe_export_secret())
    contract = await client.get_contract(USDT_BASE58)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(args.n):
        queue.put_nowait(i)
    errors: Counter[str] = Counter()

    async def task() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                builder = await contract.functions.transfer.with_owner(wallet.address)(
                    recipient(i, 2), 1_000_000 + i
                )
                txn = await builder.fee_limit(30_000_000).build()
                txn.sign(key)
                ret = await txn.broadcast()
                info = await ret.wait(timeout=args.timeout, interval=1.0)
                errors[info.get("receipt", {}).get("result", "SUCCESS")] += 1
            except Exception as exc:
                errors[type(exc).__name__] += 1

    t0 = time.monotonic()
    await asyncio.gather(*(task() for _ in range(args.baseline_concurrency)))
    elapsed = time.monotonic() - t0
    await client.close()
    ok = errors.get("SUCCESS", 0)
    return {
        "transfers": args.n,
        "concurrency": args.baseline_concurrency,
        "all_confirmed_s": round(elapsed, 2),
        "confirmed_per_s": round(ok / elapsed, 1) if elapsed else None,
        "results": dict(errors),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--block-time", type=float, default=1.0)
    parser.add_argument("--solidify-depth", type=int, default=19)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--baseline-concurrency", type=int, default=50)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--sqlite", action="store_true", help="a fresh SQLite file instead")
    parser.add_argument("--database-url", default=None, help="use this database as is")
    parser.add_argument("--engine-env", action="append", help="extra KEY=VALUE for the worker")
    parser.add_argument("--worker-profile", type=Path, default=None, help="cProfile output")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", type=Path, default=None, help="keep work files (logs) here")
    args = parser.parse_args()
    # the JSON result is the only thing on stdout
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tronpay-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        devnet = start_devnet(
            work, block_time_s=args.block_time, solidify_depth=args.solidify_depth
        )
        try:
            async with bench_database(args, work) as db_url:
                engine = await run_engine_bench(
                    args,
                    db_url=db_url,
                    devnet_url=devnet.url,
                    devnet_pid=devnet.pid,
                    key_file=devnet.demo_key_file,
                    work=work,
                )
            load_after_engine = os.getloadavg()
            result: dict[str, Any] = {
                "block_time_s": args.block_time,
                "solidify_depth": args.solidify_depth,
                "engine": engine,
            }
            if not args.skip_baseline:
                base = await run_baseline(args, devnet.url)
                result["tronpy_baseline"] = base
                if engine["confirmed_per_s"] and base["confirmed_per_s"]:
                    result["engine_vs_baseline"] = round(
                        engine["confirmed_per_s"] / base["confirmed_per_s"], 2
                    )
            result["devnet_peak_rss_mb"] = round(rss_kb(devnet.pid, "VmHWM") / 1024, 1)
            result["load_average"] = {
                "before": [round(x, 2) for x in load_before],
                "after_engine": [round(x, 2) for x in load_after_engine],
                "end": [round(x, 2) for x in os.getloadavg()],
            }
            result["cpus"] = os.cpu_count()
        finally:
            devnet.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
