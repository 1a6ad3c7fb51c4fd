"""Nothing lost, nothing invented across a SIGKILL of the delivering process: every outbox
event reaches the receiver, and every copy of one event carries the same ``webhook-id`` and
the same signed body (a receiver de-duplicates by id)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook
from tests.webhooks.conftest import ADDR_A
from tests.webhooks.receiver import Answer, Receiver

from tronpay.webhooks.models import OutboxEvent, WebhookDelivery

WORKER = Path(__file__).with_name("deliver_proc.py")
PAYOUTS = 12


def start_worker(db_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRONPAY_")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(WORKER), db_url], env=env, stdout=out, stderr=out
        )


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_sigkill_mid_delivery_loses_nothing_and_duplicates_keep_their_id(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    db_url: str,
    tmp_path: Path,
) -> None:
    hook = (await client.post("/v1/webhooks", json={"url": receiver.url})).json()
    # Four quick answers, then one that hangs: the kill lands while it is being sent.
    receiver.plan(*[Answer(status=200)] * 4, Answer(status=200, delay_s=3.0))
    receiver.default = Answer(status=200, delay_s=0.05)
    for n in range(PAYOUTS):
        created = await client.post(
            "/v1/payouts",
            json={"to": ADDR_A, "amount": str(n + 1)},
            headers={"Idempotency-Key": f"crash-{n}"},
        )
        assert created.status_code == 201, created.text

    log = tmp_path / "worker.log"
    first = start_worker(db_url, log)

    async def in_flight() -> bool:
        return receiver.arrived >= 5

    try:
        await wait_for(in_flight, 60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    second = start_worker(db_url, log)

    async def all_delivered() -> bool:
        async with maker() as session:
            statuses = (await session.execute(select(WebhookDelivery.status))).scalars().all()
        return len(statuses) == PAYOUTS and all(s == "delivered" for s in statuses)

    try:
        await wait_for(all_delivered, 90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
    assert second.returncode == 0, log.read_text()[-2000:]

    async with maker() as session:
        event_ids = set((await session.execute(select(OutboxEvent.event_id))).scalars())
    copies: dict[str, set[bytes]] = defaultdict(set)
    for item in receiver.snapshot():
        Webhook(hook["secret"]).verify(item.body, item.headers)
        copies[item.headers["webhook-id"]].add(item.body)
    assert set(copies) == event_ids  # nothing lost, nothing invented
    assert all(len(bodies) == 1 for bodies in copies.values())  # a duplicate is the same message
    # The message in flight at the kill was sent again after its lease, under the same id.
    assert len(receiver.snapshot()) > len(event_ids)
