"""Crash test: the engine runs as `tronpay worker` in a subprocess that is SIGKILLed at random
moments and restarted, while the devnet injects faults. At the end every payout is finalized
and the devnet ledger shows exactly one successful transfer per recipient, for the right amount.

Default size is small (part of the normal suite, marker ``slow``). The full run:

    TRONPAY_CHAOS_PAYOUTS=500 TRONPAY_CHAOS_KILLS=20 \
        .venv/bin/python -m pytest tests/chaos -q -m slow
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import throwaway_postgres
from node.support import DEMO_HEX, DEMO_KEY, addr, clear_faults, ledger, set_faults
from tron_devnet.genesis import demo_private_key
from tron_devnet.testing import run_devnet
from tronpay.db.models import Base
from tronpay.db.session import (
    create_engine,
    create_sessionmaker,
    read_transaction,
)
from tronpay.kit.money import format_amount
from tronpay.payouts.models import Payout, PayoutAttempt
from tronpay.payouts.schemas import PayoutCreate
from tronpay.payouts.service import PayoutContext, create_payout
from tronpay.payouts.states import Actor
from tronpay.payouts.writer import PayoutWriter
from tronpay.policy.config import PolicyConfig
from tronpay.policy.service import PolicyService
from tronpay.tron.address import to_hex

pytestmark = pytest.mark.slow

N_PAYOUTS = int(os.environ.get("TRONPAY_CHAOS_PAYOUTS", "30"))
N_KILLS = int(os.environ.get("TRONPAY_CHAOS_KILLS", "4"))
SEED = int(os.environ.get("TRONPAY_CHAOS_SEED", "20261128"))

FAULTS = [
    {"path": "/wallet/broadcasthex", "mode": "server_busy", "probability": 0.1},
    {"path": "/wallet/broadcasthex", "mode": "lose_response", "probability": 0.1},
    {"path": "/wallet/broadcasthex", "mode": "delay_blocks", "blocks": 3, "probability": 0.2},
    {"path": "/wallet/broadcasthex", "mode": "never_include", "count": 3, "probability": 0.2},
    {"path": "/wallet/gettransactioninfobyblocknum", "mode": "http_500", "probability": 0.05},
    {"path": "/wallet/getnowblock", "mode": "http_502", "probability": 0.05},
]


def _engine_env(db_url: str, node_url: str, key_file: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TRONPAY_ENV": "development",
            "TRONPAY_DATABASE_URL": db_url,
            "TRONPAY_NODE_URLS": node_url,
            "TRONPAY_NETWORK": "devnet",
            "TRONPAY_HOT_WALLET_KEY_FILE": str(key_file),
            "TRONPAY_ENGINE_BATCH_SIZE": "25",
            "TRONPAY_ENGINE_TICK_S": "0.1",
            "TRONPAY_ENGINE_TX_EXPIRATION_S": "6",
            "TRONPAY_ENGINE_EXPIRY_MARGIN_S": "1",
            "TRONPAY_ENGINE_REBROADCAST_INTERVAL_S": "1",
            "TRONPAY_ENGINE_BLOCKED_RETRY_S": "0.5",
            "TRONPAY_ENGINE_NODE_TIMEOUT_S": "2",
        }
    )
    return env


_STARTED = re.compile(r"engine\.start(?![.\w])")


def _starts(log: Path) -> int:
    """How many workers have logged ``engine.start`` so far."""
    try:
        return len(_STARTED.findall(log.read_text(errors="replace")))
    except FileNotFoundError:
        return 0


async def _wait_started(log: Path, before: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _starts(log) <= before and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    code = "from tronpay.cli.engine import worker; worker()"
    with log.open("ab") as sink:
        return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=sink, stderr=sink)


async def _create(sessionmaker: object, items: list[tuple[str, str, int]]) -> None:
    """The payouts, created as ``POST /v1/payouts`` creates them (group commit)."""
    policy = PolicyService(PolicyConfig())
    ctx = PayoutContext(policy=policy, hot_wallet_address=DEMO_KEY.address)
    writer = PayoutWriter(sessionmaker, policy)  # type: ignore[arg-type]
    writer.start()
    try:
        outcomes = await asyncio.gather(
            *(
                create_payout(
                    ctx,
                    writer,
                    PayoutCreate(to=to, asset=asset, amount=format_amount(amount)),
                    actor=Actor("chaos"),
                    key=str(uuid.uuid4()),
                )
                for asset, to, amount in items
            )
        )
    finally:
        await writer.stop()
    assert [outcome.status for outcome in outcomes] == [201] * len(items)


async def _status_counts(sessionmaker: object) -> Counter[str]:
    async with read_transaction(sessionmaker) as s:  # type: ignore[arg-type]
        rows = await s.execute(select(Payout.status, func.count()).group_by(Payout.status))
        return Counter({status: int(n) for status, n in rows.all()})


@pytest.fixture(params=["sqlite", "postgres"])
async def chaos_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database the worker subprocesses share: a SQLite file or a throw-away
    PostgreSQL database (skipped when PostgreSQL is unreachable, unless required)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'chaos.db'}"
        return
    async with throwaway_postgres("tronpay_chaos") as url:
        yield url


async def test_sigkill_at_random_moments_pays_each_payout_exactly_once(
    tmp_path: Path, chaos_db_url: str
) -> None:
    rng = random.Random(SEED)
    key_file = tmp_path / "hot.key"
    key_file.write_text(demo_private_key().hex())
    key_file.chmod(0o600)
    db_url = chaos_db_url
    db = create_engine(db_url)
    async with db.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sm = create_sessionmaker(db)
    plan = [
        ("USDT" if i % 4 else "TRX", addr(1000 + i), 1_000_000 + rng.randrange(1, 10**6))
        for i in range(N_PAYOUTS)
    ]
    half = N_PAYOUTS // 2
    log = tmp_path / "worker.log"
    with run_devnet(block_time_s=0.3, solidify_depth=2, block_interval_ms=300) as devnet:
        await set_faults(devnet.url, FAULTS, seed=SEED)
        env = _engine_env(db_url, devnet.url, key_file)
        await _create(sm, plan[:half])
        kills = 0
        starts_before_last_spawn = _starts(log)
        proc = _spawn(env, log)
        try:
            while kills < N_KILLS:
                await asyncio.sleep(rng.uniform(0.3, 2.5))
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                kills += 1
                if kills == max(1, N_KILLS // 2):
                    await _create(sm, plan[half:])
                starts_before_last_spawn = _starts(log)
                proc = _spawn(env, log)
            if half == N_PAYOUTS or kills < max(1, N_KILLS // 2):
                await _create(sm, plan[half:])
            deadline = time.monotonic() + 120 + N_PAYOUTS * 0.5
            while time.monotonic() < deadline:
                counts = await _status_counts(sm)
                if counts.get("finalized", 0) == N_PAYOUTS:
                    break
                await asyncio.sleep(0.5)
            # the last worker may still be importing (the engine can finish everything
            # between two kills): SIGTERM only once it runs and its handler is installed
            await _wait_started(log, starts_before_last_spawn)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, "the worker did not stop cleanly on SIGTERM"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await clear_faults(devnet.url)
        counts = await _status_counts(sm)
        assert counts == Counter({"finalized": N_PAYOUTS}), (counts, log.read_text()[-3000:])
        book = await ledger(devnet.url)
    sent = [t for t in book["transactions"] if t["from"] == DEMO_HEX]
    assert all(t["result"] == "SUCCESS" for t in sent)
    assert len(sent) == N_PAYOUTS
    for asset, to, amount in plan:
        moves = [t for t in sent if t["to"] == to_hex(to)]
        assert [(m["asset"], m["amount"]) for m in moves] == [(asset, amount)]
    async with read_transaction(sm) as s:
        included = await s.scalar(select(func.count()).where(PayoutAttempt.status == "included"))
        live = await s.scalar(
            select(func.count()).where(PayoutAttempt.status.in_(("signed", "broadcast")))
        )
    assert included == N_PAYOUTS
    assert live == 0
    await db.dispose()
