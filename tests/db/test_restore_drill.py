"""The restore drill, as an operator would run it: payouts flow through the real service (API
and engine in one process) on SQLite against a devnet; ``tronpay db backup`` copies the live
database while the engine works; the service is lost; the backup is restored into a fresh
file, ``tronpay audit verify`` passes on it, and the service started on the restored database
resumes: every payout ends ``finalized`` and the devnet's ledger shows each payout's
transfer exactly once.

The devnet makes blocks only when asked, so the backup is taken at a known point: the first
payouts finalized, the rest signed and broadcast (in the node's pool, not yet in a block).
A backup covers the transactions signed before it; see docs/operations.md (Backup and
restore) for why a restore must never be older than the last signing.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from tests.api.servers import service_settings

from node.support import addr, ledger
from tron_devnet.testing import DevnetHandle, produce_blocks, run_devnet
from tronpay.app import create_app
from tronpay.auth import mint_token
from tronpay.config import Settings
from tronpay.db import migrate
from tronpay.db.backup import BackupError, sqlite_path
from tronpay.tron.address import to_hex

TRONPAY = str(Path(sys.executable).parent / "tronpay")
FAST_ENGINE = {
    "TRONPAY_ENGINE_TICK_S": "0.1",
    "TRONPAY_ENGINE_REBROADCAST_INTERVAL_S": "0.5",
    "TRONPAY_ENGINE_BLOCKED_RETRY_S": "0.3",
    "TRONPAY_ENGINE_RECONCILE_INTERVAL_S": "1",
}
FIRST = [addr(700 + n) for n in range(2)]
IN_FLIGHT = [addr(710 + n) for n in range(3)]
DONE = {"finalized"}
SIGNED = {"submitted", "confirmed", "finalized"}


def _settings(tmp_path: Path, database: Path, node_url: str, secret: bytes) -> Settings:
    return service_settings(
        tmp_path,
        database_url=f"sqlite+aiosqlite:///{database}",
        node_url=node_url,
        secret=secret,
        data_dir=database.parent,
    )


@asynccontextmanager
async def _service(settings: Settings, secret: bytes) -> AsyncIterator[httpx.AsyncClient]:
    """The service (API + engine) on ``settings``' database, and a client of its API."""
    app: FastAPI = create_app(settings, with_engine=True)
    token = mint_token(secret, sub="ops", scopes=["payouts:read", "payouts:write"], ttl_s=600)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://tronpay.test",
            headers={"Authorization": f"Bearer {token}"},
        ) as client,
    ):
        yield client


async def _create(client: httpx.AsyncClient, recipients: list[str], tag: str) -> list[str]:
    ids = []
    for n, to in enumerate(recipients):
        response = await client.post(
            "/v1/payouts",
            json={"to": to, "amount": f"{n + 1}.25", "reference": f"{tag}-{n}"},
            headers={"Idempotency-Key": f"{tag}-{n}"},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def _statuses(client: httpx.AsyncClient, ids: list[str]) -> dict[str, str]:
    out = {}
    for payout_id in ids:
        response = await client.get(f"/v1/payouts/{payout_id}")
        assert response.status_code == 200, response.text
        out[payout_id] = response.json()["status"]
    return out


async def _until(
    what: str, check: Callable[[], Awaitable[bool]], step: Callable[[], Awaitable[object]]
) -> None:
    deadline = time.monotonic() + 60
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await step()


def _backup(database: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRONPAY, "db", "backup", str(target), "--database-url", f"sqlite:///{database}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def devnet(monkeypatch: pytest.MonkeyPatch) -> Iterator[DevnetHandle]:
    for name, value in FAST_ENGINE.items():
        monkeypatch.setenv(name, value)
    with run_devnet(solidify_depth=2, block_interval_ms=300) as handle:
        yield handle


async def test_backup_during_the_flow_restores_and_resumes_without_paying_twice(
    tmp_path: Path, devnet: DevnetHandle
) -> None:
    secret = secrets.token_hex(32).encode()
    live = tmp_path / "live" / "tronpay.db"
    live.parent.mkdir()
    await asyncio.to_thread(migrate.upgrade, f"sqlite+aiosqlite:///{live}")
    backup = tmp_path / "backups" / "tronpay-backup.db"

    async def blocks() -> None:
        await produce_blocks(devnet.url, 1)
        await asyncio.sleep(0.1)

    async def idle() -> None:
        await asyncio.sleep(0.1)

    async with _service(_settings(tmp_path, live, devnet.url, secret), secret) as client:
        first = await _create(client, FIRST, "first")

        async def first_done() -> bool:
            return set((await _statuses(client, first)).values()) <= DONE

        await _until("the first payouts to finalize", first_done, blocks)
        in_flight = await _create(client, IN_FLIGHT, "flight")

        async def all_signed() -> bool:
            return set((await _statuses(client, in_flight)).values()) <= SIGNED

        await _until("the next payouts to be signed and broadcast", all_signed, idle)
        # The engine is running (it rebroadcasts and polls for receipts) while the copy runs.
        made = await asyncio.to_thread(_backup, live, backup)
        assert made.returncode == 0, made.stderr
        assert f"to {backup}" in made.stdout
        at_backup = await _statuses(client, first + in_flight)
    # The primary is lost here. Nothing of the in-flight payouts is in a block yet.
    assert Counter(at_backup.values()) == {"finalized": 2, "submitted": 3}

    restored = tmp_path / "restored" / "tronpay.db"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)
    with sqlite3.connect(restored) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    verified = subprocess.run(
        [TRONPAY, "audit", "verify", "--database-url", f"sqlite:///{restored}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK: ")

    async with _service(_settings(tmp_path, restored, devnet.url, secret), secret) as client:
        everything = first + in_flight

        async def all_done() -> bool:
            return set((await _statuses(client, everything)).values()) <= DONE

        await _until("every payout to finalize on the restored database", all_done, blocks)
        payouts = [(await client.get(f"/v1/payouts/{i}")).json() for i in everything]

    chain = await ledger(devnet.url)
    for payout in payouts:
        transfers = [
            t
            for t in chain["transactions"]
            if t.get("to") == to_hex(payout["to"]) and t.get("result") == "SUCCESS"
        ]
        assert [t["txid"] for t in transfers] == [payout["txid"]], payout["id"]
    # The restored engine signed nothing new: the hot wallet's transactions are the five.
    paid = [t for t in chain["transactions"] if t.get("to") in {to_hex(p["to"]) for p in payouts}]
    assert len(paid) == len(payouts)


def test_backup_refuses_to_overwrite_and_explains_postgres(tmp_path: Path) -> None:
    database = tmp_path / "tronpay.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE t (x INTEGER)")
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    refused = _backup(database, existing)
    assert refused.returncode != 0
    assert "already exists" in refused.stderr
    assert existing.read_bytes() == b"keep me"
    missing = _backup(tmp_path / "nothing.db", tmp_path / "new.db")
    assert missing.returncode != 0
    assert "no database at" in missing.stderr
    assert not (tmp_path / "new.db").exists()
    postgres = subprocess.run(
        [
            TRONPAY,
            "db",
            "backup",
            str(tmp_path / "pg.db"),
            "--database-url",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/tronpay",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert postgres.returncode == 2
    assert "pg_dump --format=custom" in postgres.stderr
    assert "pg_restore" in postgres.stderr


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////tmp/a/tronpay.db",
        "sqlite+aiosqlite:///relative/tronpay.db",
        "sqlite+aiosqlite:////tmp/x.db?timeout=5",
    ],
)
def test_sqlite_path_reads_urls_as_sqlalchemy_does(url: str) -> None:
    assert sqlite_path(url) == Path(str(make_url(url).database))


def test_sqlite_path_of_other_databases() -> None:
    assert sqlite_path("postgresql+asyncpg://postgres@127.0.0.1:5432/tronpay") is None
    with pytest.raises(BackupError):
        sqlite_path("sqlite+aiosqlite://")
