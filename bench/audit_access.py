"""Micro-benchmark: audit.record and policy.check_and_reserve per write transaction.

Run: .venv/bin/python bench/audit_access.py [sqlite|postgres] [N]
Prints JSON: transactions per second for (policy check + audit record) and record_many.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from tronpay.audit import AuditRecord, record, record_many, verify_chain
from tronpay.db.models import Base
from tronpay.db.session import (
    create_engine,
    create_sessionmaker,
    read_transaction,
    write_transaction,
)
from tronpay.policy import AssetLimits, PolicyConfig, PolicyService

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def run(kind: str, count: int) -> dict[str, object]:
    database = None
    if kind == "postgres":
        database = f"tronpay_bench_{secrets.token_hex(4)}"
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
        await admin.execute(f'CREATE DATABASE "{database}"')
        url = PG.rsplit("/", 1)[0] + f"/{database}"
    else:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        maker = create_sessionmaker(engine)
        policy = PolicyService(
            PolicyConfig(
                limits={
                    "USDT": AssetLimits(
                        max_per_payout=10**12, daily_total=10**15, daily_per_destination=10**14
                    )
                }
            )
        )

        async def one(index: int) -> None:
            async with write_transaction(maker) as session:
                await policy.check_and_reserve(
                    session,
                    payout_id=f"po_{index}",
                    asset="USDT",
                    destination=f"T{index % 50}",
                    amount=1_000_000,
                )
                await record(
                    session,
                    action="payout.create",
                    principal="bench",
                    request_id=None,
                    entity_type="payout",
                    entity_id=f"po_{index}",
                    before=None,
                    after={"amount": "1", "to": f"T{index % 50}"},
                )

        started = time.perf_counter()
        semaphore = asyncio.Semaphore(16)

        async def bounded(index: int) -> None:
            async with semaphore:
                await one(index)

        await asyncio.gather(*(bounded(index) for index in range(count)))
        single = count / (time.perf_counter() - started)

        items = [
            AuditRecord(
                action="payout.create",
                principal="bench",
                entity_type="payout",
                entity_id=f"b{index}",
                after={"amount": "1"},
            )
            for index in range(10_000)
        ]
        started = time.perf_counter()
        async with write_transaction(maker) as session:
            await record_many(session, items)
        bulk_s = time.perf_counter() - started

        started = time.perf_counter()
        async with read_transaction(maker) as session:
            result = await verify_chain(session)
        verify_s = time.perf_counter() - started
        return {
            "db": kind,
            "policy_check_plus_audit_record_tx_per_s": round(single),
            "record_many_10000_s": round(bulk_s, 3),
            "verify_chain_entries": result.checked,
            "verify_chain_ok": result.ok,
            "verify_chain_s": round(verify_s, 3),
        }
    finally:
        await engine.dispose()
        if database is not None:
            await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    print(json.dumps(asyncio.run(run(kind, count))))
