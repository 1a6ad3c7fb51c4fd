"""``tronpay audit verify`` end to end: a real process against a real database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tronpay.audit import record
from tronpay.db.session import write_transaction

TRONPAY = str(Path(sys.executable).with_name("tronpay"))


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        TRONPAY,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def fill(sessionmaker: async_sessionmaker[AsyncSession], count: int) -> None:
    for index in range(count):
        async with write_transaction(sessionmaker) as session:
            await record(
                session,
                action="payout.cancel",
                principal="ops",
                request_id=None,
                entity_type="payout",
                entity_id=f"po_{index}",
                before={"status": "queued"},
                after={"status": "cancelled"},
            )


async def test_audit_verify_ok_then_broken(
    db_url: str, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await fill(sessionmaker, 5)
    code, out, _ = await run_cli("audit", "verify", env={"TRONPAY_DATABASE_URL": db_url})
    assert code == 0
    assert out.startswith("OK: 5 audit entries verified")

    async with write_transaction(sessionmaker) as session:
        await session.execute(text("UPDATE audit_entries SET principal = 'x' WHERE seq = 4"))
    code, out, _ = await run_cli("audit", "verify", "--database-url", db_url, "--json")
    assert code == 1
    result = json.loads(out)
    assert (result["ok"], result["first_broken"], result["checked"]) == (False, 4, 3)

    code, out, _ = await run_cli("audit", "verify", "--database-url", db_url)
    assert code == 1
    assert out.startswith("BROKEN at entry 4:")


async def test_audit_verify_without_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"  # a plain URL gets the async driver
    code, _, err = await run_cli("audit", "verify", "--database-url", url)
    assert code == 2
    assert "cannot read the audit log" in err
