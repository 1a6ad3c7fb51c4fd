"""Approval by amount over time (issue 13.8) through the HTTP API, on SQLite and PostgreSQL:
payouts split to stay under the per-payout approval threshold wait for a second person once
the destination's rolling sum reaches ``daily_approval_per_destination``; the answer, its
idempotent replay, the stored row and the batch summary agree."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from api.conftest import ADDR_A
from node.support import addr

ADDR_D = addr(920)


@pytest.fixture(autouse=True)
def rolling_approval(monkeypatch: pytest.MonkeyPatch) -> None:
    # approval_threshold stays 10000 (tests/api/conftest.py); the rolling sum is 10000 too
    monkeypatch.setenv("TRONPAY_POLICY_DAILY_APPROVAL_PER_DESTINATION_USDT", "10000")


async def test_split_payouts_reach_the_rolling_approval_threshold(
    client: httpx.AsyncClient,
) -> None:
    statuses = []
    for _ in range(2):
        response = await client.post(
            "/v1/payouts",
            json={"to": ADDR_A, "amount": "4000"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.text
        statuses.append(response.json()["status"])
    assert statuses == ["queued", "queued"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    third = await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "4000"}, headers=key)
    assert third.status_code == 201, third.text
    assert third.json()["status"] == "pending_approval"  # 4000 * 3 >= 10000
    replay = await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "4000"}, headers=key)
    assert replay.status_code == 201
    assert replay.json() == third.json()
    stored = await client.get(f"/v1/payouts/{third.json()['id']}")
    assert stored.json()["status"] == "pending_approval"
    # another destination has its own sum
    other = await client.post(
        "/v1/payouts",
        json={"to": ADDR_D, "amount": "4000"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert other.json()["status"] == "queued"

    # a batch: its rows count for the rows after them
    csv = "to,amount,asset,reference,memo\n" + "".join(f"{ADDR_D},3000,USDT,,\n" for _ in range(3))
    batch = await client.post(
        "/v1/batches",
        content=csv,
        headers={"content-type": "text/csv", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert batch.status_code == 201, batch.text
    summary = {(s["status"], s["count"]) for s in batch.json()["summary"]}
    # ADDR_D: 4000 + 3000 + 3000 = 10000 reaches it: the second and third rows wait
    assert summary == {("queued", 1), ("pending_approval", 2)}
    listed = await client.get("/v1/payouts", params={"to": ADDR_D, "status": "pending_approval"})
    assert len(listed.json()["items"]) == 2


async def test_one_at_a_time_path_agrees(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The claim-first path (no group-commit writer running) turns the payout into
    pending_approval too, and stores that answer for the replay."""
    await app.state.payout_writer.stop()
    for amount, status in (("6000", "queued"), ("5000", "pending_approval")):
        key = {"Idempotency-Key": str(uuid.uuid4())}
        body = {"to": ADDR_D, "amount": amount}
        first = await client.post("/v1/payouts", json=body, headers=key)
        assert first.status_code == 201, first.text
        assert first.json()["status"] == status
        replay = await client.post("/v1/payouts", json=body, headers=key)
        assert replay.json() == first.json()
        stored = await client.get(f"/v1/payouts/{first.json()['id']}")
        assert stored.json()["status"] == status
