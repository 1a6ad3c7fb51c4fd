"""``GET /v1/audit`` through the real app: entries written by real payout requests."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI

from tronpay.audit import verify_chain
from tronpay.db.session import read_transaction

from .conftest import ADDR_A, TokenFactory


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_payouts(http: httpx.AsyncClient, token: TokenFactory, count: int) -> list[str]:
    writer = bearer(token("alice", "payouts:write payouts:read"))
    ids = []
    for index in range(count):
        response = await http.post(
            "/v1/payouts",
            json={"to": ADDR_A, "amount": f"{index + 1}.5", "reference": f"ref-{index}"},
            headers={**writer, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def test_audit_requires_audit_read(
    http: httpx.AsyncClient, real_app: tuple[FastAPI, TokenFactory]
) -> None:
    _, token = real_app
    anonymous = await http.get("/v1/audit")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    denied = await http.get("/v1/audit", headers=bearer(token("bob", "payouts:read")))
    assert denied.status_code == 403
    assert denied.json()["code"] == "insufficient_scope"
    expired_like = await http.get("/v1/audit", headers=bearer("not.a.jwt"))
    assert expired_like.status_code == 401
    assert expired_like.json()["code"] == "invalid_token"


async def test_audit_lists_and_pages(
    http: httpx.AsyncClient, real_app: tuple[FastAPI, TokenFactory]
) -> None:
    app, token = real_app
    ids = await create_payouts(http, token, 5)
    auditor = bearer(token("auditor", "audit:read"))

    everything = await http.get("/v1/audit", headers=auditor)
    assert everything.status_code == 200, everything.text
    items = everything.json()["items"]
    assert len(items) == 5
    assert [item["seq"] for item in items] == [5, 4, 3, 2, 1]
    assert {item["entity_id"] for item in items} == set(ids)
    assert all(item["principal"] == "alice" for item in items)
    assert all(item["action"] == "payout.create" for item in items)
    assert items[0]["prev_hash"] == items[1]["hash"]
    assert everything.json()["next_cursor"] is None
    # UTC with its Z, like every other time the API writes (SQLite hands back naive ones).
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", item["created_at"]) for item in items)

    pages: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/v1/audit", headers=auditor, params=params)).json()
        pages.extend(item["seq"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [5, 4, 3, 2, 1]

    one = await http.get(
        "/v1/audit", headers=auditor, params={"entity_type": "payout", "entity_id": ids[2]}
    )
    assert [item["entity_id"] for item in one.json()["items"]] == [ids[2]]
    assert one.json()["items"][0]["after"]["amount"] == "3.5"

    bad = await http.get("/v1/audit", headers=auditor, params={"cursor": "!!"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"

    async with read_transaction(app.state.sessionmaker) as session:
        result = await verify_chain(session)
    assert (result.ok, result.checked) == (True, 5)


async def test_approval_and_cancel_are_audited_in_the_chain(
    http: httpx.AsyncClient, real_app: tuple[FastAPI, TokenFactory]
) -> None:
    app, token = real_app
    writer = bearer(token("alice", "payouts:write payouts:read"))
    created = await http.post(
        "/v1/payouts",
        json={"to": ADDR_A, "amount": "150"},
        headers={**writer, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    payout_id = created.json()["id"]
    assert created.json()["status"] == "pending_approval"
    cancel = await http.post(f"/v1/payouts/{payout_id}/cancel", headers=writer)
    assert cancel.status_code == 200, cancel.text
    auditor = bearer(token("auditor", "audit:read"))
    entries = (
        await http.get("/v1/audit", headers=auditor, params={"entity_id": payout_id})
    ).json()["items"]
    assert [entry["action"] for entry in entries][-1] == "payout.create"
    assert len(entries) >= 2
    async with read_transaction(app.state.sessionmaker) as session:
        assert (await verify_chain(session)).ok
