"""The group-commit writer of POST /v1/payouts: per-item answers inside one group, keys
repeated inside a group, a key or reference taken by another app instance meanwhile, client
cancellation, and a drained shutdown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from tests.api.conftest import ADDR_A, ADDR_B, ADDR_C, TokenFactory

from tronpay.api import idempotency
from tronpay.api.models import IdempotencyRecord
from tronpay.app import create_app
from tronpay.audit import verify_chain
from tronpay.audit.models import AuditEntry
from tronpay.config import Settings
from tronpay.kit.clock import utcnow
from tronpay.payouts import service
from tronpay.payouts.models import Payout
from tronpay.payouts.schemas import PayoutCreate
from tronpay.payouts.states import Actor
from tronpay.payouts.writer import OPERATION, CreateIntent, PayoutWriter
from tronpay.policy.models import PolicyReservation
from tronpay.webhooks.models import OutboxEvent

LINGER_S = 0.3  # long enough that every request of a test lands in ONE group


def key() -> str:
    return str(uuid.uuid4())


async def count(app: FastAPI, model: Any) -> int:
    async with app.state.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def lingering(app: FastAPI, linger_s: float = LINGER_S) -> PayoutWriter:
    """Replace the app's writer with one that waits ``linger_s`` to fill each group."""
    await app.state.payout_writer.stop()
    writer = PayoutWriter(app.state.sessionmaker, app.state.policy, linger_s=linger_s)
    writer.start()
    app.state.payout_writer = writer  # the lifespan stops whatever writer is installed
    return writer


def intent(app: FastAPI, body: dict[str, Any], idem: str, subject: str = "alice") -> CreateIntent:
    data = PayoutCreate.model_validate(body)
    actor = Actor(principal=subject, request_id=f"req-{idem}")
    now = utcnow()
    return CreateIntent(
        tenant=actor.tenant,
        subject=subject,
        key=idem,
        fingerprint=idempotency.request_hash(OPERATION, data.model_dump(mode="json")),
        payout=service.prepare_payout(
            app.state.payout_context, data, actor=actor, idempotency_key=idem, now=now
        ),
        actor=actor,
        now=now,
    )


async def test_one_group_answers_every_item_on_its_own(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    replayed_key, refused_key = key(), key()
    first = await client.post(
        "/v1/payouts",
        json={"to": ADDR_A, "amount": "1", "reference": "taken"},
        headers={"Idempotency-Key": replayed_key},
    )
    assert first.status_code == 201
    writer = await lingering(app)
    groups_before = writer.groups_written
    cases: list[tuple[dict[str, Any], str, int, str | None]] = [
        ({"to": ADDR_A, "amount": "2"}, key(), 201, None),
        ({"to": ADDR_C, "amount": "2"}, refused_key, 422, "policy_denied_destination"),
        ({"to": ADDR_A, "amount": "50001"}, key(), 422, "policy_max_per_payout"),
        ({"to": ADDR_A, "amount": "3", "reference": "taken"}, key(), 409, "duplicate_reference"),
        ({"to": ADDR_A, "amount": "4", "reference": "twice"}, key(), 201, None),
        ({"to": ADDR_A, "amount": "5", "reference": "twice"}, key(), 409, "duplicate_reference"),
        ({"to": ADDR_A, "amount": "1", "reference": "taken"}, replayed_key, 201, None),
        ({"to": ADDR_A, "amount": "9"}, replayed_key, 422, "idempotency_key_reused"),
        ({"to": ADDR_A, "amount": "15000", "asset": "USDT"}, key(), 201, None),
        ({"to": ADDR_A, "amount": "7", "asset": "TRX"}, key(), 201, None),
    ]
    responses = await asyncio.gather(
        *(
            client.post("/v1/payouts", json=b, headers={"Idempotency-Key": k})
            for b, k, _, _ in cases
        )
    )
    assert writer.groups_written == groups_before + 1, "the requests were not one group"
    for (body, _, status, code), response in zip(cases, responses, strict=True):
        assert response.status_code == status, (body, response.text)
        if code is not None:
            assert response.json()["code"] == code, (body, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        else:
            assert response.json()["amount"] == body["amount"]
            assert response.headers["location"] == f"/v1/payouts/{response.json()['id']}"
    replay = responses[6]
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert responses[8].json()["status"] == "pending_approval"
    created = [r.json()["id"] for r in responses if r.status_code == 201]
    fresh = [i for i in created if i != first.json()["id"]]
    assert len(fresh) == 4
    # Exactly the accepted items were written, each with its row, event, hold and entry.
    assert await count(app, Payout) == 5
    assert await count(app, OutboxEvent) == 5
    assert await count(app, PolicyReservation) == 5
    assert await count(app, AuditEntry) == 5
    async with app.state.sessionmaker() as session:
        assert (await verify_chain(session)).ok
        stored = await session.execute(
            select(IdempotencyRecord.key).where(IdempotencyRecord.key == refused_key)
        )
        assert stored.first() is None, "a refused request must not keep its key"
    for payout_id in fresh:
        fetched = await client.get(f"/v1/payouts/{payout_id}")
        assert fetched.status_code == 200
        assert fetched.json() == next(
            r.json() for r in responses if r.status_code == 201 and r.json()["id"] == payout_id
        )
    # The refused key is free again: a corrected request with it goes through.
    corrected = await client.post(
        "/v1/payouts", json={"to": ADDR_A, "amount": "2"}, headers={"Idempotency-Key": refused_key}
    )
    assert corrected.status_code == 201


async def test_group_limits_count_earlier_items_first(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # daily_per_destination 60000 USDT: in one group, 4 x 15000 fit and the rest is refused.
    writer = await lingering(app)
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/payouts",
                json={"to": ADDR_A, "amount": "15000"},
                headers={"Idempotency-Key": key()},
            )
            for _ in range(7)
        )
    )
    assert writer.groups_written == 1
    assert sorted(r.status_code for r in responses) == [201] * 4 + [422] * 3
    assert {r.json()["code"] for r in responses if r.status_code == 422} == {
        "policy_daily_destination"
    }
    assert await count(app, Payout) == 4


async def test_duplicate_keys_inside_one_group(client: httpx.AsyncClient, app: FastAPI) -> None:
    writer = await lingering(app)
    same = key()
    body = {"to": ADDR_A, "amount": "3.25", "reference": "once"}
    requests = [
        client.post("/v1/payouts", json=body, headers={"Idempotency-Key": same}) for _ in range(10)
    ]
    requests.append(
        client.post(
            "/v1/payouts", json={"to": ADDR_A, "amount": "4"}, headers={"Idempotency-Key": same}
        )
    )
    responses = await asyncio.gather(*requests)
    assert writer.groups_written == 1
    identical, different = responses[:10], responses[10]
    assert {r.status_code for r in identical} == {201}
    assert len({r.json()["id"] for r in identical}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in identical) == 9
    assert different.status_code == 422
    assert different.json()["code"] == "idempotency_key_reused"
    assert await count(app, Payout) == 1
    assert await count(app, IdempotencyRecord) == 1


async def test_cancelled_caller_is_still_written_and_replays(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    writer = await lingering(app)
    item = intent(app, {"to": ADDR_A, "amount": "6", "reference": "gone"}, key())
    waiting = asyncio.create_task(writer.submit(item))
    await asyncio.sleep(0.05)  # queued, the group still filling
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await writer.stop()  # drains: the queued intent is written anyway
    assert await count(app, Payout) == 1
    retry = await client.post(
        "/v1/payouts",
        json={"to": ADDR_A, "amount": "6", "reference": "gone"},
        headers={"Idempotency-Key": item.key},
    )
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == item.payout.id


async def test_shutdown_drains_the_queue(app: FastAPI) -> None:
    writer = await lingering(app, linger_s=0.5)
    items = [intent(app, {"to": ADDR_A, "amount": f"{i + 1}"}, key()) for i in range(20)]
    waiting = [asyncio.create_task(writer.submit(item)) for item in items]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in waiting)
    await writer.stop()
    # Written (and answered) before stop returns; the callers then pick their answers up.
    assert await count(app, Payout) == 20
    outcomes = await asyncio.gather(*waiting)
    assert [outcome.status for outcome in outcomes] == [201] * 20
    # After the stop, creates still work (one at a time, in the caller's task).
    late = await writer.submit(intent(app, {"to": ADDR_A, "amount": "99"}, key()))
    assert late.status == 201
    assert await count(app, Payout) == 21


async def test_hot_wallet_is_refused_before_the_writer(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/payouts", json={"to": ADDR_B, "amount": "1"}, headers={"Idempotency-Key": key()}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "recipient_is_hot_wallet"


@pytest.fixture
async def second_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """Another instance of the service on the same database (another replica)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_app_instances_same_key_make_one_payout(
    app: FastAPI, second_app: FastAPI, token: TokenFactory
) -> None:
    headers = {"Authorization": f"Bearer {token()}", "Idempotency-Key": key()}
    body = {"to": ADDR_A, "amount": "8", "reference": "replicas"}
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t")
        for a in (app, second_app)
    ]
    try:
        responses = await asyncio.gather(
            *(clients[i % 2].post("/v1/payouts", json=body, headers=headers) for i in range(30))
        )
    finally:
        for http in clients:
            await http.aclose()
    assert {r.status_code for r in responses} == {201}, {r.text for r in responses}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count(app, Payout) == 1
    async with app.state.sessionmaker() as session:
        assert (await verify_chain(session)).ok


async def claim_elsewhere(
    conn: AsyncConnection, claimed: CreateIntent, answer: dict[str, Any] | None = None
) -> None:
    """Claim ``claimed``'s key in ``conn``'s open transaction, as another replica would (with
    its stored 201 ``answer``, if given)."""
    stored = {} if answer is None else {"response_status": 201, "response_body": answer}
    await conn.execute(
        IdempotencyRecord.__table__.insert().values(
            subject=claimed.subject,
            key=claimed.key,
            operation=OPERATION,
            request_hash=claimed.fingerprint,
            created_at=utcnow(),
            **stored,
        )
    )


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_replicas_claiming_the_same_keys_in_opposite_orders_never_deadlock(
    app: FastAPI, second_app: FastAPI
) -> None:
    """Each replica writes ONE group holding the same 40 keys, one in the reverse order of
    the other, while a third transaction holds the middle key: unordered, both groups would
    claim half the keys, meet at the middle one, and once it is free wait for each other in
    a cycle (PostgreSQL aborts one: a deadlock). The claims go in key order, so one group
    simply waits for the other. Every key ends with one payout and both answers agree."""
    writers = [await lingering(a, linger_s=0.05) for a in (app, second_app)]
    keys = [key() for _ in range(40)]
    bodies = {
        k: {"to": ADDR_A, "amount": f"{n + 1}", "reference": f"r-{n}"} for n, k in enumerate(keys)
    }
    middle = intent(app, bodies[keys[20]], keys[20])
    async with app.state.engine.connect() as conn:
        holding = await conn.begin()
        await claim_elsewhere(conn, middle)
        forward = [writers[0].submit(intent(app, bodies[k], k)) for k in keys]
        backward = [writers[1].submit(intent(second_app, bodies[k], k)) for k in reversed(keys)]
        pending = asyncio.gather(*forward, *backward)
        await asyncio.sleep(0.5)  # both groups are now waiting for the held key
        await holding.rollback()
        answers = await pending
    assert [w.groups_retried for w in writers] == [0, 0]
    assert {a.status for a in answers} == {201}
    by_key: dict[str, set[str]] = {}
    for k, answer in zip([*keys, *reversed(keys)], answers, strict=True):
        assert answer.body is not None
        by_key.setdefault(k, set()).add(answer.body["id"])
    assert all(len(ids) == 1 for ids in by_key.values())
    assert sum(a.replayed for a in answers) == len(keys)
    assert await count(app, Payout) == len(keys)
    async with app.state.sessionmaker() as session:
        assert (await verify_chain(session)).ok


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_key_taken_by_another_replica_mid_group_waits_and_replays(
    app: FastAPI,
) -> None:
    """Another replica inserts the same key while this group is being written: the group's
    claim waits on the unique index; when the other commits, the taken key replays the
    other's answer and its neighbour is still created, in the same group (no retry)."""
    writer = await lingering(app, linger_s=0.0)
    taken = intent(app, {"to": ADDR_A, "amount": "11", "reference": "raced"}, key())
    neighbour = intent(app, {"to": ADDR_A, "amount": "12"}, key())
    other = {"id": "po_other_replica", "status": "queued", "amount": "11"}
    async with app.state.engine.connect() as conn:
        transaction = await conn.begin()
        await claim_elsewhere(conn, taken, answer=other)
        group = asyncio.gather(writer.submit(taken), writer.submit(neighbour))
        await asyncio.sleep(0.3)  # the group is now blocked on the uncommitted key
        assert writer.groups_retried == 0
        await transaction.commit()
        replayed, created = await group
    assert writer.groups_retried == 0
    assert replayed.replayed
    assert replayed.body == other
    assert created.status == 201
    assert not created.replayed
    assert created.body is not None
    assert created.body["id"] == neighbour.payout.id
    assert await count(app, Payout) == 1
    async with app.state.sessionmaker() as session:
        assert (await verify_chain(session)).ok
        assert (
            await session.execute(text("SELECT count(*) FROM payouts WHERE reference = 'raced'"))
        ).scalar_one() == 0


async def test_a_group_that_cannot_be_written_answers_500_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # A real broken database: the outbox table is gone, so every write of a create fails.
    async with app.state.engine.begin() as conn:
        await conn.execute(text("DROP TABLE outbox_events"))
    writer = await lingering(app, linger_s=0.05)
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/payouts",
                json={"to": ADDR_A, "amount": f"{i + 1}"},
                headers={"Idempotency-Key": key()},
            )
            for i in range(3)
        )
    )
    assert [r.status_code for r in responses] == [500] * 3
    assert {r.json()["code"] for r in responses} == {"internal_error"}
    assert writer.groups_retried == 1  # the group, then each item alone, all rolled back
    assert await count(app, Payout) == 0
    assert await count(app, IdempotencyRecord) == 0
