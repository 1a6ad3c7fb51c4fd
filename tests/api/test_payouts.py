"""The payout API end to end on SQLite and PostgreSQL, with real JWTs."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from tests.api.conftest import ADDR_A, ADDR_B, ADDR_C, TokenFactory

from tronpay.audit import verify_chain
from tronpay.db.session import write_transaction
from tronpay.kit.clock import utcnow
from tronpay.payouts.models import Payout
from tronpay.payouts.states import Actor, PayoutStatus, transition
from tronpay.webhooks.models import OutboxEvent

PROBLEM = "application/problem+json"


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def count_payouts(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Payout))).scalar_one()


async def test_create_get_and_list(client: httpx.AsyncClient) -> None:
    body = {"to": ADDR_A, "amount": "12.500001", "reference": "inv-1", "metadata": {"k": "v"}}
    created = await client.post("/v1/payouts", json=body, headers=key())
    assert created.status_code == 201, created.text
    payout = created.json()
    assert payout["id"].startswith("po_")
    assert payout["amount"] == "12.500001"
    assert payout["asset"] == "USDT"
    assert payout["status"] == "queued"
    assert payout["created_by"] == "alice"
    assert created.headers["location"] == f"/v1/payouts/{payout['id']}"
    assert created.headers["x-request-id"]

    fetched = await client.get(f"/v1/payouts/{payout['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == payout

    listed = await client.get("/v1/payouts", params={"reference": "inv-1"})
    assert [p["id"] for p in listed.json()["items"]] == [payout["id"]]


async def test_idempotent_replay_and_key_reuse(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = key()
    body = {"to": ADDR_A, "amount": "1"}
    first = await client.post("/v1/payouts", json=body, headers=headers)
    second = await client.post("/v1/payouts", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers

    other = await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "2"}, headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["code"] == "idempotency_key_reused"
    assert await count_payouts(app) == 1


async def test_idempotency_key_required(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "1"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_missing"
    assert await count_payouts(app) == 0


async def test_fifty_concurrent_identical_requests_create_one_payout(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    headers = key()
    body = {"to": ADDR_A, "amount": "3.25", "reference": "once"}
    responses = await asyncio.gather(
        *(client.post("/v1/payouts", json=body, headers=headers) for _ in range(50))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    assert await count_payouts(app) == 1


async def test_concurrent_requests_cannot_overshoot_the_daily_limit(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # daily_per_destination for USDT is 60000: 20 x 5000 = 100000 asks for too much.
    responses = await asyncio.gather(
        *(
            client.post("/v1/payouts", json={"to": ADDR_A, "amount": "5000"}, headers=key())
            for _ in range(20)
        )
    )
    ok = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(ok) == 12
    assert {r.json()["code"] for r in refused} == {"policy_daily_destination"}
    assert await count_payouts(app) == 12


async def test_validation_errors_are_problems_with_fields(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    cases = [
        ({"to": ADDR_A[:-1] + "9", "amount": "1"}, "to", "checksum"),
        ({"to": "0OIl", "amount": "1"}, "to", "alphabet"),
        ({"to": ADDR_A, "amount": "1.0000001"}, "amount", None),
        ({"to": ADDR_A, "amount": "0"}, "amount", None),
        ({"to": ADDR_A, "amount": "-1"}, "amount", None),
        ({"to": ADDR_A, "amount": "1e3"}, "amount", None),
        ({"to": ADDR_A, "amount": 1.5}, "amount", None),
        ({"to": ADDR_A, "amount": "1", "asset": "BTC"}, "asset", None),
        ({"to": ADDR_A, "amount": "1", "surprise": True}, "surprise", None),
    ]
    for body, field, reason in cases:
        response = await client.post("/v1/payouts", json=body, headers=key())
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert response.headers["content-type"] == PROBLEM
        assert problem["code"] == "validation_error"
        assert problem["request_id"] == response.headers["x-request-id"]
        fields = {e["field"]: e for e in problem["errors"]}
        assert field in fields, problem
        if reason:
            assert fields[field]["reason"] == reason
    assert await count_payouts(app) == 0


async def test_hot_wallet_and_denied_destinations_are_refused(client: httpx.AsyncClient) -> None:
    hot = await client.post("/v1/payouts", json={"to": ADDR_B, "amount": "1"}, headers=key())
    assert hot.status_code == 422
    assert hot.json()["code"] == "recipient_is_hot_wallet"
    denied = await client.post("/v1/payouts", json={"to": ADDR_C, "amount": "1"}, headers=key())
    assert denied.status_code == 422
    assert denied.json()["code"] == "policy_denied_destination"


async def test_duplicate_reference_conflicts(client: httpx.AsyncClient) -> None:
    body = {"to": ADDR_A, "amount": "1", "reference": "dup"}
    assert (await client.post("/v1/payouts", json=body, headers=key())).status_code == 201
    again = await client.post("/v1/payouts", json=body, headers=key())
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_reference"


async def test_approval_flow_four_eyes(
    client: httpx.AsyncClient, app: FastAPI, token: TokenFactory
) -> None:
    created = await client.post(
        "/v1/payouts", json={"to": ADDR_A, "amount": "15000"}, headers=key()
    )
    payout = created.json()
    assert payout["status"] == "pending_approval"

    own = await client.post(f"/v1/payouts/{payout['id']}/approve")
    assert own.status_code == 403
    assert own.json()["code"] == "approver_is_creator"

    writer_only = {"Authorization": f"Bearer {token('bob', 'payouts:read payouts:write')}"}
    no_scope = await client.post(f"/v1/payouts/{payout['id']}/approve", headers=writer_only)
    assert no_scope.status_code == 403

    bob = {"Authorization": f"Bearer {token('bob', 'payouts:approve')}"}
    approved = await client.post(f"/v1/payouts/{payout['id']}/approve", headers=bob)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "queued"
    assert approved.json()["approved_by"] == "bob"

    again = await client.post(f"/v1/payouts/{payout['id']}/approve", headers=bob)
    assert again.status_code == 409
    assert again.json()["code"] == "not_pending_approval"

    async with app.state.sessionmaker() as session:
        topics = (
            await session.execute(
                select(OutboxEvent.topic)
                .where(OutboxEvent.entity_id == payout["id"])
                .order_by(OutboxEvent.id)
            )
        ).scalars()
        assert list(topics) == ["payout.created", "payout.queued"]


async def test_cancel_then_not_again_and_retry_only_failed(client: httpx.AsyncClient) -> None:
    payout = (
        await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "1"}, headers=key())
    ).json()
    retry = await client.post(f"/v1/payouts/{payout['id']}/retry")
    assert retry.status_code == 409
    assert retry.json()["code"] == "not_retryable"
    cancelled = await client.post(f"/v1/payouts/{payout['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = await client.post(f"/v1/payouts/{payout['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["code"] == "not_cancellable"


async def test_cancel_releases_the_policy_reservation(client: httpx.AsyncClient) -> None:
    # daily_per_destination 60000: fill it, cancel one, and the room comes back.
    ids = []
    for _ in range(6):
        r = await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "10000"}, headers=key())
        assert r.status_code == 201
        ids.append(r.json()["id"])
    full = await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "1"}, headers=key())
    assert full.json()["code"] == "policy_daily_destination"
    assert (await client.post(f"/v1/payouts/{ids[0]}/cancel")).status_code == 200
    room = await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "1"}, headers=key())
    assert room.status_code == 201


async def test_pagination_is_stable_and_complete(client: httpx.AsyncClient) -> None:
    created = []
    for i in range(7):
        r = await client.post(
            "/v1/payouts", json={"to": ADDR_A, "amount": f"{i + 1}"}, headers=key()
        )
        created.append(r.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/payouts", params=params)).json()
        seen.extend(p["id"] for p in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))
    bad = await client.get("/v1/payouts", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"


async def test_list_filters(client: httpx.AsyncClient) -> None:
    a = (await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "1"}, headers=key())).json()
    big = await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "20000"}, headers=key())
    assert big.json()["status"] == "pending_approval"
    queued = (await client.get("/v1/payouts", params={"status": "queued"})).json()["items"]
    assert [p["id"] for p in queued] == [a["id"]]
    later = (
        await client.get("/v1/payouts", params={"created_after": "2100-01-01T00:00:00Z"})
    ).json()
    assert later["items"] == []
    bad = await client.get("/v1/payouts", params={"status": "nope"})
    assert bad.status_code == 422


async def test_auth_is_required_and_scoped(anon: httpx.AsyncClient, token: TokenFactory) -> None:
    missing = await anon.get("/v1/payouts")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == PROBLEM
    reader = {"Authorization": f"Bearer {token('carol', 'payouts:read')}"}
    assert (await anon.get("/v1/payouts", headers=reader)).status_code == 200
    denied = await anon.post(
        "/v1/payouts", json={"to": ADDR_A, "amount": "1"}, headers={**reader, **key()}
    )
    assert denied.status_code == 403
    garbage = await anon.get("/v1/payouts", headers={"Authorization": "Bearer x.y.z"})
    assert garbage.status_code == 401


async def test_not_found_and_method_not_allowed(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/payouts/po_nope")
    assert missing.status_code == 404
    assert missing.json()["code"] == "payout_not_found"
    route = await client.get("/v1/nothing-here")
    assert route.status_code == 404
    assert route.headers["content-type"] == PROBLEM
    assert route.json()["code"] == "not_found"
    method = await client.delete("/v1/payouts")
    assert method.status_code == 405
    assert method.json()["code"] == "method_not_allowed"


async def test_malformed_json_and_oversized_body(client: httpx.AsyncClient) -> None:
    broken = await client.post(
        "/v1/payouts",
        content=b"{not json",
        headers={**key(), "content-type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["code"] == "validation_error"
    huge = await client.post(
        "/v1/payouts",
        content=b'{"to": "' + b"x" * 2_000_000 + b'"}',
        headers={**key(), "content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["code"] == "payload_too_large"


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/payouts/po_x", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json()["request_id"] == "abc-123"
    unsafe = await client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"].startswith("req_")


async def test_health_and_ready(anon: httpx.AsyncClient, app: FastAPI) -> None:
    assert (await anon.get("/health")).json()["status"] == "ok"
    ready = await anon.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] is True

    async def broken() -> None:
        raise ConnectionError("node down")

    app.state.readiness.register("node", broken)
    not_ready = await anon.get("/ready")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["node"] == {
        "ok": False,
        "state": "error",
        "error": "ConnectionError",
    }


async def test_nul_characters_are_refused_not_crashed_on(client: httpx.AsyncClient) -> None:
    query = await client.get("/v1/payouts", params={"reference": "a\x00b"})
    assert query.status_code == 422
    path = await client.get("/v1/payouts/po_%00")
    assert path.status_code == 422
    audit = await client.get("/v1/audit", params={"entity_id": "\x00"})
    assert audit.status_code == 422
    for body in (
        {"to": ADDR_A, "amount": "1", "memo": "a\x00b"},
        {"to": ADDR_A, "amount": "1", "metadata": {"k": "\x00"}},
    ):
        response = await client.post("/v1/payouts", json=body, headers=key())
        assert response.status_code == 422, response.text


async def test_retry_a_failed_payout(client: httpx.AsyncClient, app: FastAPI) -> None:
    payout = (
        await client.post("/v1/payouts", json={"to": ADDR_A, "amount": "7"}, headers=key())
    ).json()
    # What the engine does when a payout fails: a checked transition + releasing the policy hold.
    async with write_transaction(app.state.sessionmaker) as session:
        row = await session.get(Payout, payout["id"])
        assert row is not None
        await transition(
            session,
            row,
            PayoutStatus.FAILED,
            actor=Actor(principal="system:engine"),
            action="payout.fail",
            now=utcnow(),
            failure_reason="contract reverted",
        )
        await app.state.policy.release(session, row.id)
    failed = (await client.get(f"/v1/payouts/{payout['id']}")).json()
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "contract reverted"
    retried = await client.post(f"/v1/payouts/{payout['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "queued"
    assert retried.json()["failure_reason"] is None
    async with app.state.sessionmaker() as session:
        verification = await verify_chain(session)
        assert verification.ok, verification
        topics = (
            await session.execute(
                select(OutboxEvent.topic)
                .where(OutboxEvent.entity_id == payout["id"])
                .order_by(OutboxEvent.id)
            )
        ).scalars()
        assert list(topics) == ["payout.created", "payout.failed", "payout.queued"]
