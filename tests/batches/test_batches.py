"""Batches: JSON and CSV, all-or-nothing with every bad row reported, progress summaries."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from tests.api.conftest import ADDR_A, ADDR_B, ADDR_C

from tronpay.payouts.models import Payout


async def post_batch(client: httpx.AsyncClient, **kwargs: Any) -> httpx.Response:
    """POST /v1/batches with a fresh Idempotency-Key unless the test gives one."""
    headers = {"Idempotency-Key": str(uuid.uuid4()), **kwargs.pop("headers", {})}
    return await client.post("/v1/batches", headers=headers, **kwargs)


async def payout_count(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Payout))).scalar_one()


def csv_body(rows: list[str], header: str = "to,amount,asset,reference,memo") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


async def test_csv_batch_is_accepted_and_summarized(client: httpx.AsyncClient) -> None:
    body = csv_body(
        [
            f"{ADDR_A},10.5,USDT,r-1,first",
            f"{ADDR_A},2,TRX,r-2,",
            f"{ADDR_A},20000,USDT,r-3,needs approval",
        ]
    )
    response = await post_batch(client, content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 201, response.text
    batch = response.json()
    assert batch["id"].startswith("ba_")
    assert batch["source"] == "csv"
    assert batch["item_count"] == 3
    summary = {(s["status"], s["asset"]): (s["count"], s["amount"]) for s in batch["summary"]}
    assert summary == {
        ("queued", "USDT"): (1, "10.5"),
        ("queued", "TRX"): (1, "2"),
        ("pending_approval", "USDT"): (1, "20000"),
    }
    progress = (await client.get(f"/v1/batches/{batch['id']}")).json()
    assert progress["summary"] == batch["summary"]
    payouts = (await client.get(f"/v1/batches/{batch['id']}/payouts")).json()["items"]
    assert sorted(p["reference"] for p in payouts) == ["r-1", "r-2", "r-3"]
    assert {p["batch_id"] for p in payouts} == {batch["id"]}


async def test_every_bad_row_is_reported_and_nothing_is_written(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await client.post(
        "/v1/payouts",
        json={"to": ADDR_A, "amount": "1", "reference": "taken"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    body = csv_body(
        [
            f"{ADDR_A},1,USDT,ok-1,",  # line 2: fine
            f"{ADDR_A[:-1]}9,1,USDT,,",  # line 3: checksum
            f"{ADDR_A},1.1234567,USDT,,",  # line 4: too many decimals
            f"{ADDR_A},1,DOGE,,",  # line 5: asset
            f"{ADDR_A},1,USDT,ok-1,",  # line 6: duplicate in batch
            f"{ADDR_A},1,USDT,taken,",  # line 7: duplicate of an existing payout
            f"{ADDR_B},1,USDT,,",  # line 8: the hot wallet
            f"{ADDR_C},1,USDT,,",  # line 9: denied by policy
            f"{ADDR_A},1,USDT",  # line 10: wrong field count
        ]
    )
    response = await post_batch(client, content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "batch_invalid"
    by_row = {(e["row"], e["column"]): e["reason"] for e in problem["errors"]}
    assert by_row == {
        (3, "to"): "invalid_address_checksum",
        (4, "amount"): "invalid_amount",
        (5, "asset"): "enum",
        (6, "reference"): "duplicate_reference",
        (7, "reference"): "duplicate_reference",
        (8, "to"): "recipient_is_hot_wallet",
        (10, None): "wrong_field_count",
    }
    assert await payout_count(app) == 1

    policy_only = csv_body([f"{ADDR_A},1,USDT,,", f"{ADDR_C},1,USDT,,"])
    refused = await post_batch(client, content=policy_only, headers={"content-type": "text/csv"})
    assert refused.status_code == 422
    assert [(e["row"], e["reason"]) for e in refused.json()["errors"]] == [
        (3, "policy_denied_destination")
    ]
    assert await payout_count(app) == 1


async def test_json_batch_and_its_errors(client: httpx.AsyncClient, app: FastAPI) -> None:
    good = {"items": [{"to": ADDR_A, "amount": "1"}, {"to": ADDR_A, "amount": "2", "memo": "m"}]}
    created = await post_batch(client, json=good)
    assert created.status_code == 201
    assert created.json()["source"] == "json"
    bad = {"items": [{"to": ADDR_A, "amount": "1"}, {"to": ADDR_A}, "nope", {"amount": "x"}]}
    refused = await post_batch(client, json=bad)
    assert refused.status_code == 422
    rows = sorted((e["row"], e["column"]) for e in refused.json()["errors"])
    assert rows == [(2, "amount"), (3, None), (4, "amount"), (4, "to")]
    assert (await post_batch(client, json={"items": []})).status_code == 422
    assert (
        await post_batch(client, content=b"[", headers={"content-type": "application/json"})
    ).status_code == 422
    assert await payout_count(app) == 2


async def test_csv_header_problems(client: httpx.AsyncClient) -> None:
    for header, reason in [
        ("to,amount,colour", "unknown_column"),
        ("to,asset", "missing_column"),
        ("to,amount,amount", "duplicate_column"),
    ]:
        r = await post_batch(
            client,
            content=csv_body([f"{ADDR_A},1"], header=header),
            headers={"content-type": "text/csv"},
        )
        assert r.status_code == 422
        assert reason in {e["reason"] for e in r.json()["errors"]}
    empty = await post_batch(client, content=b"", headers={"content-type": "text/csv"})
    assert empty.status_code == 422
    other = await post_batch(client, content=b"x", headers={"content-type": "text/xml"})
    assert other.status_code == 415
    assert other.json()["code"] == "unsupported_media_type"


async def test_batch_row_limit(client: httpx.AsyncClient, app: FastAPI) -> None:
    body = csv_body([f"{ADDR_A},1,USDT,,"] * 10_001)
    r = await post_batch(client, content=body, headers={"content-type": "text/csv"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["reason"] == "batch_too_large"
    assert await payout_count(app) == 0


async def test_batch_idempotency_key(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = {"content-type": "text/csv", "Idempotency-Key": "batch-1"}
    body = csv_body([f"{ADDR_A},1,USDT,,"])
    first = await post_batch(client, content=body, headers=headers)
    second = await post_batch(client, content=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert await payout_count(app) == 1


async def test_unknown_batch(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/batches/ba_missing")
    assert r.status_code == 404
    assert r.json()["code"] == "batch_not_found"
    r = await client.get("/v1/batches/ba_missing/payouts")
    assert r.status_code == 404
