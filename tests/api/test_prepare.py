"""One way to make a payout: ``prepare_payout`` builds every new payout's row, 201 body and
snapshot, for a single create and for each payout of a batch alike; what it decided before
the write is what the database, the outbox and the audit log hold after it."""

from __future__ import annotations

import uuid
from typing import Any, cast

import httpx
from fastapi import FastAPI
from sqlalchemy import Table, select
from tests.api.conftest import ADDR_A

from tronpay.audit.models import AuditEntry
from tronpay.kit.clock import utcnow
from tronpay.payouts import service
from tronpay.payouts.events import payout_snapshot
from tronpay.payouts.models import Payout
from tronpay.payouts.schemas import PayoutCreate
from tronpay.payouts.states import Actor
from tronpay.webhooks.models import OutboxEvent


def test_the_row_has_every_column_in_table_order(app: FastAPI) -> None:
    data = PayoutCreate(to=ADDR_A, amount="1.25", reference="cols", memo="m")
    prepared = service.prepare_payout(
        app.state.payout_context, data, actor=Actor("alice"), idempotency_key="k", now=utcnow()
    )
    table = cast(Table, Payout.__table__)
    assert tuple(prepared.row) == tuple(column.name for column in table.columns)
    assert prepared.row["amount"] == 1_250_000
    assert prepared.snapshot["amount"] == prepared.body["amount"] == "1.25"
    assert prepared.body["id"] == prepared.snapshot["id"] == prepared.id


async def _written(app: FastAPI, payout_id: str) -> tuple[Payout, dict[str, Any], dict[str, Any]]:
    """The stored payout, its ``payout.created`` event data and its audit entry's ``after``."""
    async with app.state.sessionmaker() as session:
        payout = (await session.execute(select(Payout).where(Payout.id == payout_id))).scalar_one()
        event = (
            await session.execute(
                select(OutboxEvent).where(
                    OutboxEvent.entity_id == payout_id, OutboxEvent.topic == "payout.created"
                )
            )
        ).scalar_one()
        entry = (
            await session.execute(
                select(AuditEntry).where(
                    AuditEntry.entity_id == payout_id, AuditEntry.action == "payout.create"
                )
            )
        ).scalar_one()
        return payout, event.payload["data"], cast(dict[str, Any], entry.after)


async def test_single_and_batch_creates_write_what_was_prepared(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    single = await client.post(
        "/v1/payouts",
        json={"to": ADDR_A, "amount": "3.5", "reference": "one", "memo": "hi"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert single.status_code == 201, single.text
    batch = await client.post(
        "/v1/batches",
        json={"items": [{"to": ADDR_A, "amount": "4", "reference": "two"}]},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert batch.status_code == 201, batch.text
    batch_id = batch.json()["id"]
    [in_batch] = (await client.get(f"/v1/batches/{batch_id}/payouts")).json()["items"]
    assert in_batch["batch_id"] == batch_id
    for created in (single.json(), in_batch):
        payout, event_data, audit_after = await _written(app, created["id"])
        snapshot = payout_snapshot(payout)
        assert event_data == audit_after == snapshot
        assert snapshot["batch_id"] == created["batch_id"]
        # the 201 body (decided before the write) is what a read of the payout answers
        assert (await client.get(f"/v1/payouts/{created['id']}")).json() == created
