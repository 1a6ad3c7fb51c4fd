"""Red-team review: retry lets one person re-send a payout that needs four eyes.

``payouts/service.py::retry_payout`` re-queues a failed payout (``pending_approval`` when it
is above the approval threshold) and clears ``approved_by``, but it records nobody as the
one who asked for the new send; ``approve_payout`` only refuses ``created_by``. So the
original approver (any holder of ``payouts:write`` + ``payouts:approve``) can retry a large
failed payout and approve their own retry: a new transfer above the threshold decided by one
person. The fix: remember the retrier (``retried_by``, in the audit entry and on the row) and
refuse an approval by the creator OR the retrier.

Real parts: the app over httpx.ASGITransport on SQLite and PostgreSQL, real JWTs; the failed
receipt is recorded with the engine's own transition (``payouts.states.transition``).
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from api.conftest import ADDR_A, TokenFactory
from tronpay.db.session import write_transaction
from tronpay.engine.repository import ENGINE_ACTOR
from tronpay.kit.clock import utcnow
from tronpay.payouts.models import Payout
from tronpay.payouts.states import PayoutStatus, transition

ALL = "payouts:read payouts:write payouts:approve"


def _client(app: FastAPI, bearer: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {bearer}"},
    )


async def test_retrier_cannot_approve_their_own_retry(app: FastAPI, token: TokenFactory) -> None:
    async with (
        _client(app, token(sub="alice", scopes=ALL)) as alice,
        _client(app, token(sub="bob", scopes=ALL)) as bob,
    ):
        created = await alice.post(
            "/v1/payouts",
            json={"to": ADDR_A, "asset": "USDT", "amount": "20000"},
            headers={"Idempotency-Key": "review-5"},
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert created.json()["status"] == "pending_approval"
        assert (await bob.post(f"/v1/payouts/{pid}/approve")).status_code == 200
        # The engine sends it and the chain says REVERT.
        async with write_transaction(app.state.sessionmaker) as session:
            payout = (await session.scalars(select(Payout).where(Payout.id == pid))).one()
            for status in (PayoutStatus.SUBMITTED, PayoutStatus.FAILED):
                await transition(
                    session,
                    payout,
                    status,
                    actor=ENGINE_ACTOR,
                    action="payout.review",
                    now=utcnow(),
                )
        # Bob alone: retry, then approve his own retry.
        retried = await bob.post(f"/v1/payouts/{pid}/retry")
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "pending_approval"
        approved = await bob.post(f"/v1/payouts/{pid}/approve")
        assert approved.status_code == 403, (
            f"{approved.status_code}: bob retried and approved a 20000 USDT payout alone "
            f"(status {approved.json().get('status')})"
        )
        assert approved.json()["code"] == "approver_is_retrier"
        # the creator may not approve either; a third person can
        assert (await alice.post(f"/v1/payouts/{pid}/approve")).status_code == 403
        async with _client(app, token(sub="carol", scopes=ALL)) as carol:
            third = await carol.post(f"/v1/payouts/{pid}/approve")
        assert third.status_code == 200, third.text
        assert third.json()["status"] == "queued"
        assert third.json()["approved_by"] == "carol"
