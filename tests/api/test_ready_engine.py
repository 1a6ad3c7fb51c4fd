"""``GET /ready`` in a process that runs the engine (issue 13.1): an engine step that makes no
progress while payouts wait answers 503 (``EngineStalled``), on SQLite and PostgreSQL. The
engine's own task is stood in for by a real idle task; its progress is the real
``EngineHealth`` on a clock the test moves."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from api.conftest import ADDR_A, TokenFactory
from tronpay.app import create_app
from tronpay.config import Settings
from tronpay.db.models import Base
from tronpay.engine.health import EngineHealth


@pytest.fixture
async def engine_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, with_engine=True)
    async with application.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    idle = asyncio.create_task(asyncio.Event().wait())
    application.state.engine_task = idle
    try:
        yield application
    finally:
        idle.cancel()
        await application.state.chain.aclose()
        await application.state.engine.dispose()


# The engine check's entry in /ready's body (its state and detail since main's 'observe').
READY = {"ok": True, "state": "ok", "running": True}
STALLED = {"ok": False, "state": "error", "error": "EngineStalled"}


async def _engine_check(http: httpx.AsyncClient) -> dict[str, object]:
    response = await http.get("/ready")
    check: dict[str, object] = response.json()["checks"]["engine"]
    return check


async def test_ready_reports_a_stalled_engine_while_payouts_wait(
    engine_app: FastAPI, token: TokenFactory
) -> None:
    now = [0.0]
    health = EngineHealth(stall_after_s=60.0, clock=lambda: now[0])
    engine_app.state.engine_health = health
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=engine_app),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token()}"},
    ) as http:
        health.started("submit")
        health.failed("submit", "EncodeError")
        assert await _engine_check(http) == READY
        now[0] = 61.0
        health.failed("submit", "EncodeError")
        # stalled, but nothing waits for the engine: still ready
        assert await _engine_check(http) == READY
        created = await http.post(
            "/v1/payouts",
            json={"to": ADDR_A, "amount": "1"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert created.status_code == 201, created.text
        assert await _engine_check(http) == STALLED
        ready = await http.get("/ready")
        assert ready.status_code == 503
        health.succeeded("submit")
        assert await _engine_check(http) == READY
