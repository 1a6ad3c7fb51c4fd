"""Scale-out: three `tronpay worker` processes share one PostgreSQL database (claims with
FOR UPDATE SKIP LOCKED, planning serialized by an advisory lock) and still pay every payout
exactly once, with the work spread over the workers."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chaos.test_crash import FAULTS, _create, _engine_env, _spawn, _status_counts
from conftest import throwaway_postgres
from node.support import DEMO_HEX, addr, clear_faults, ledger, set_faults
from tron_devnet.genesis import demo_private_key
from tron_devnet.testing import run_devnet
from tronpay.db.models import Base
from tronpay.db.session import create_engine, create_sessionmaker, read_transaction
from tronpay.payouts.models import PayoutAttempt
from tronpay.tron.address import to_hex

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

N_PAYOUTS = int(os.environ.get("TRONPAY_SCALE_PAYOUTS", "90"))
N_WORKERS = 3


@pytest.fixture
async def scale_db_url() -> AsyncIterator[str]:
    async with throwaway_postgres("tronpay_scale") as url:
        yield url


async def test_three_workers_on_one_postgres(tmp_path: Path, scale_db_url: str) -> None:
    db_url = scale_db_url
    db = create_engine(db_url)
    procs = []
    try:
        async with db.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        sm = create_sessionmaker(db)
        key_file = tmp_path / "hot.key"
        key_file.write_text(demo_private_key().hex())
        key_file.chmod(0o600)
        plan = [
            ("USDT" if i % 3 else "TRX", addr(5000 + i), 2_000_000 + i) for i in range(N_PAYOUTS)
        ]
        with run_devnet(block_time_s=0.3, solidify_depth=2, block_interval_ms=300) as devnet:
            await set_faults(devnet.url, FAULTS, seed=3)
            env = _engine_env(db_url, devnet.url, key_file)
            env["TRONPAY_ENGINE_BATCH_SIZE"] = "10"
            logs = [tmp_path / f"worker{i}.log" for i in range(N_WORKERS)]
            procs = [_spawn(env, log) for log in logs]
            # Every worker running before the work arrives: under a loaded machine a slow
            # start would leave one worker to take everything, and "shared" tests nothing.
            started = time.monotonic() + 60
            while not all("engine.start" in log.read_text() for log in logs):
                assert time.monotonic() < started, [log.read_text()[-500:] for log in logs]
                assert all(p.poll() is None for p in procs)
                await asyncio.sleep(0.2)
            for i in range(0, N_PAYOUTS, 30):
                await _create(sm, plan[i : i + 30])
                await asyncio.sleep(0.5)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                if (await _status_counts(sm)).get("finalized", 0) == N_PAYOUTS:
                    break
                await asyncio.sleep(0.5)
            for p in procs:
                p.send_signal(signal.SIGTERM)
            assert [p.wait(30) for p in procs] == [0] * N_WORKERS
            await clear_faults(devnet.url)
            book = await ledger(devnet.url)
        counts = await _status_counts(sm)
        assert counts == Counter({"finalized": N_PAYOUTS}), counts
        sent = [t for t in book["transactions"] if t["from"] == DEMO_HEX]
        assert len(sent) == N_PAYOUTS
        assert all(t["result"] == "SUCCESS" for t in sent)
        for asset, to, amount in plan:
            moves = [t for t in sent if t["to"] == to_hex(to)]
            assert [(m["asset"], m["amount"]) for m in moves] == [(asset, amount)]
        async with read_transaction(sm) as s:
            included = await s.scalar(
                select(func.count()).where(PayoutAttempt.status == "included")
            )
        assert included == N_PAYOUTS
        busy = [log.read_text().count("engine.submit.committed") for log in logs]
        assert sum(1 for n in busy if n > 0) >= 2, busy  # the work was shared
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        await db.dispose()
