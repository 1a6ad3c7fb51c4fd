"""Tenants end to end on SQLite and PostgreSQL: every read, list, action, reference lookup,
idempotency key, batch and audit read is scoped to the token's tenant (the claim
``TRONPAY_JWT_TENANT_CLAIM`` names); crossing needs the ``admin`` scope and is audited."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from tests.api.conftest import ADDR_A, ALL
from tests.api.test_fastlane import lane_of

from tronpay.audit import verify_chain
from tronpay.audit.models import AuditEntry
from tronpay.auth import mint_token
from tronpay.config import Settings
from tronpay.payouts.models import Payout

CLAIM = "tid"
PROBLEM = "application/problem+json"
ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"jwt_tenant_claim": CLAIM})


@pytest.fixture
async def as_(app: FastAPI, jwt_secret: bytes) -> AsyncIterator[ClientFactory]:
    """``as_(sub, tenant, scopes=ALL, x_tenant=None)``: a client with that caller's token."""
    made: list[httpx.AsyncClient] = []

    def make(
        sub: str, tenant: str | None, scopes: str = ALL, x_tenant: str | None = None
    ) -> httpx.AsyncClient:
        claims: dict[str, Any] = {} if tenant is None else {CLAIM: tenant}
        token = mint_token(jwt_secret, sub=sub, scopes=scopes.split(), extra_claims=claims)
        headers = {"Authorization": f"Bearer {token}"}
        if x_tenant is not None:
            headers["X-Tenant"] = x_tenant
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tronpay.test", headers=headers
        )
        made.append(http)
        return http

    yield make
    for http in made:
        await http.aclose()


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def create(http: httpx.AsyncClient, **body: str) -> httpx.Response:
    return await http.post("/v1/payouts", json={"to": ADDR_A, "amount": "1", **body}, headers=key())


async def test_another_tenants_payouts_cannot_be_read_listed_or_acted_on(
    as_: ClientFactory,
) -> None:
    alice, bob = as_("alice", "acme"), as_("bob", "globex")
    mine = await create(alice, reference="alice-secret-ref")
    assert mine.status_code == 201, mine.text
    payout_id = mine.json()["id"]
    big = await create(alice, amount="20000", reference="needs-approval")
    assert big.json()["status"] == "pending_approval"

    assert (await bob.get(f"/v1/payouts/{payout_id}")).json()["code"] == "payout_not_found"
    assert (await bob.get("/v1/payouts")).json()["items"] == []
    found = await bob.get("/v1/payouts", params={"reference": "alice-secret-ref"})
    assert found.json()["items"] == []
    for action, target in (
        ("cancel", payout_id),
        ("retry", payout_id),
        ("approve", big.json()["id"]),
    ):
        refused = await bob.post(f"/v1/payouts/{target}/{action}")
        assert refused.status_code == 404, (action, refused.text)
        assert refused.json()["code"] == "payout_not_found"

    # The reference is bob's to use too; each lookup finds its own tenant's payout only.
    his = await create(bob, reference="alice-secret-ref")
    assert his.status_code == 201, his.text
    for http, expected in ((alice, payout_id), (bob, his.json()["id"])):
        listed = await http.get("/v1/payouts", params={"reference": "alice-secret-ref"})
        assert [p["id"] for p in listed.json()["items"]] == [expected]
    assert (await alice.get(f"/v1/payouts/{payout_id}")).json()["status"] == "queued"


async def test_references_are_unique_per_tenant_not_per_subject(as_: ClientFactory) -> None:
    alice, carol = as_("alice", "acme"), as_("carol", "acme")
    assert (await create(alice, reference="inv-9")).status_code == 201
    taken = await create(carol, reference="inv-9")
    assert taken.status_code == 409
    assert taken.json()["code"] == "duplicate_reference"
    batch = await carol.post(
        "/v1/batches",
        json={"items": [{"to": ADDR_A, "amount": "1", "reference": "inv-9"}]},
        headers=key(),
    )
    assert batch.status_code == 422
    assert batch.json()["errors"][0]["reason"] == "duplicate_reference"


async def test_idempotency_keys_belong_to_a_tenant(as_: ClientFactory, app: FastAPI) -> None:
    # The same subject name and key in two tenants: two independent requests.
    # Both through the create fast lane, which writes the token's tenant like the route.
    acme, globex = as_("ops", "acme"), as_("ops", "globex")
    same = key()
    before = lane_of(app).answered
    first = await acme.post("/v1/payouts", json={"to": ADDR_A, "amount": "1"}, headers=same)
    other = await globex.post("/v1/payouts", json={"to": ADDR_A, "amount": "2"}, headers=same)
    assert first.status_code == other.status_code == 201, other.text
    assert "idempotent-replayed" not in other.headers
    assert lane_of(app).answered - before == 2
    again = await globex.post("/v1/payouts", json={"to": ADDR_A, "amount": "1"}, headers=same)
    assert again.json()["code"] == "idempotency_key_reused"
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(select(Payout.tenant, Payout.amount))).all()
    assert sorted(rows) == [("acme", 1_000_000), ("globex", 2_000_000)]


async def test_batches_belong_to_a_tenant(as_: ClientFactory) -> None:
    alice, bob = as_("alice", "acme"), as_("bob", "globex")
    made = await alice.post(
        "/v1/batches",
        json={"items": [{"to": ADDR_A, "amount": "1", "reference": "b-1"}]},
        headers=key(),
    )
    assert made.status_code == 201, made.text
    batch_id = made.json()["id"]
    assert (await bob.get(f"/v1/batches/{batch_id}")).status_code == 404
    assert (await bob.get(f"/v1/batches/{batch_id}/payouts")).status_code == 404
    listed = await alice.get(f"/v1/batches/{batch_id}/payouts")
    assert [p["reference"] for p in listed.json()["items"]] == ["b-1"]


async def test_four_eyes_means_another_subject_of_the_same_tenant(as_: ClientFactory) -> None:
    alice = as_("alice", "acme")
    payout = (await create(alice, amount="20000")).json()
    assert payout["status"] == "pending_approval"
    operator = as_("root", "platform", scopes=f"{ALL} admin", x_tenant="acme")
    crossing = await operator.post(f"/v1/payouts/{payout['id']}/approve")
    assert crossing.status_code == 403
    assert crossing.json()["code"] == "approver_other_tenant"
    approved = await as_("carol", "acme").post(f"/v1/payouts/{payout['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == "carol"


async def test_audit_reads_show_the_tenants_own_entries(as_: ClientFactory) -> None:
    alice, bob = as_("alice", "acme"), as_("bob", "globex")
    payout_id = (await create(alice)).json()["id"]
    mine = (await alice.get("/v1/audit", params={"entity_id": payout_id})).json()["items"]
    assert [(e["action"], e["tenant"]) for e in mine] == [("payout.create", "acme")]
    assert (await bob.get("/v1/audit", params={"entity_id": payout_id})).json()["items"] == []
    assert (await bob.get("/v1/audit")).json()["items"] == []


async def test_a_token_without_a_usable_tenant_is_refused(as_: ClientFactory) -> None:
    for tenant in (None, "", "../etc", "a" * 65, "ünïcode", "two words"):
        refused = await as_("alice", tenant).get("/v1/payouts")
        assert refused.status_code == 401, tenant
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["code"] == "invalid_tenant_claim"
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    # The create fast lane hands such a request on to the route, which refuses it too.
    lane = await create(as_("alice", None))
    assert lane.json()["code"] == "invalid_tenant_claim"
    assert (await as_("alice", "acme.eu-1_a").get("/v1/payouts")).status_code == 200


async def test_naming_another_tenant_needs_admin_and_is_audited(
    as_: ClientFactory, app: FastAPI
) -> None:
    alice = as_("alice", "acme")
    payout_id = (await create(alice)).json()["id"]

    nosy = as_("bob", "globex", x_tenant="acme")
    for attempt in (nosy.get(f"/v1/payouts/{payout_id}"), create(nosy)):
        refused = await attempt
        assert refused.status_code == 403
        assert refused.json()["code"] == "tenant_forbidden"
    own = as_("bob", "globex", x_tenant="globex")  # naming one's own tenant is allowed
    assert (await own.get("/v1/payouts")).status_code == 200
    bad = await as_("root", "platform", scopes=f"{ALL} admin", x_tenant="no/such").get(
        "/v1/payouts"
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_tenant_header"

    operator = as_("root", "platform", scopes=f"{ALL} admin", x_tenant="acme")
    read = await operator.get(f"/v1/payouts/{payout_id}")
    assert read.status_code == 200, read.text
    cancelled = await operator.post(f"/v1/payouts/{payout_id}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    made = await create(operator, reference="made-by-operator")  # the route, not the lane
    assert made.status_code == 201, made.text
    assert (await alice.get(f"/v1/payouts/{made.json()['id']}")).status_code == 200
    # The admin's own tenant sees none of it.
    assert (await as_("root", "platform", scopes=f"{ALL} admin").get("/v1/payouts")).json()[
        "items"
    ] == []

    crossings = (await alice.get("/v1/audit", params={"action": "tenant.cross"})).json()["items"]
    assert [(e["principal"], e["after"]["method"], e["tenant"]) for e in crossings] == [
        ("root", "POST", "acme"),
        ("root", "POST", "acme"),
        ("root", "GET", "acme"),
    ]
    assert crossings[-1]["after"] == {
        "home_tenant": "platform",
        "method": "GET",
        "path": f"/v1/payouts/{payout_id}",
    }
    cancel_entry = (
        await alice.get("/v1/audit", params={"entity_id": payout_id, "action": "payout.cancel"})
    ).json()["items"]
    assert [e["principal"] for e in cancel_entry] == ["root"]
    async with app.state.sessionmaker() as session:
        assert (await verify_chain(session)).ok
        tenants = set((await session.execute(select(AuditEntry.tenant))).scalars())
    assert tenants == {"acme"}
