"""The webhooks API: registration (secret shown once), read, change, delete, scopes, secret
rotation, the delivery log, resend and the test ping."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.webhooks.conftest import SCOPES

from tronpay.auth import mint_token
from tronpay.webhooks.models import WebhookEndpoint


async def test_register_shows_the_secret_once_and_never_again(
    client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post(
        "/v1/webhooks",
        json={
            "url": "https://hooks.example.test/tronpay",
            "events": ["payout.finalized", "payout.failed", "payout.finalized"],
            "description": "billing",
        },
    )
    # hooks.example.test does not resolve: a name that cannot be checked is refused.
    assert created.status_code == 422
    assert created.json()["code"] == "webhook_url_refused"

    created = await client.post(
        "/v1/webhooks",
        json={
            "url": "http://127.0.0.1:9/tronpay",
            "events": ["payout.finalized", "payout.failed", "payout.finalized"],
            "description": "billing",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert body["events"] == ["payout.failed", "payout.finalized"]
    assert body["enabled"] is True
    assert body["created_by"] == "alice"

    one = await client.get(f"/v1/webhooks/{body['id']}")
    assert one.status_code == 200
    listed = await client.get("/v1/webhooks")
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    for text in (one.text, listed.text):
        assert secret not in text
        assert 'secret"' not in text
    async with maker() as session:
        stored = (await session.execute(select(WebhookEndpoint))).scalar_one()
        assert stored.secret == secret  # retrievable, so the worker can sign


async def test_unknown_event_types_and_fields_are_refused(client: httpx.AsyncClient) -> None:
    for body in (
        {"url": "http://127.0.0.1:9/x", "events": ["payout.exploded"]},
        {"url": "http://127.0.0.1:9/x", "events": []},
        {"url": "http://127.0.0.1:9/x", "secret": "whsec_mine"},
    ):
        answer = await client.post("/v1/webhooks", json=body)
        assert answer.status_code == 422, body


async def test_patch_and_delete(client: httpx.AsyncClient) -> None:
    hook = (await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/a"})).json()
    assert hook["events"] is None
    patched = await client.patch(
        f"/v1/webhooks/{hook['id']}",
        json={"url": "http://127.0.0.1:9/b", "events": ["payout.created"], "enabled": False},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["url"] == "http://127.0.0.1:9/b"
    assert patched.json()["events"] == ["payout.created"]
    assert patched.json()["enabled"] is False
    assert patched.json()["description"] is None
    back_to_all = await client.patch(f"/v1/webhooks/{hook['id']}", json={"events": None})
    assert back_to_all.json()["events"] is None
    assert back_to_all.json()["url"] == "http://127.0.0.1:9/b"
    refused = await client.patch(f"/v1/webhooks/{hook['id']}", json={"url": "gopher://x"})
    assert refused.status_code == 422

    deleted = await client.delete(f"/v1/webhooks/{hook['id']}")
    assert deleted.status_code == 204
    gone = await client.get(f"/v1/webhooks/{hook['id']}")
    assert gone.status_code == 404
    assert gone.json()["code"] == "webhook_not_found"
    assert (await client.delete(f"/v1/webhooks/{hook['id']}")).status_code == 404


async def test_every_route_needs_the_webhooks_admin_scope(
    client: httpx.AsyncClient, jwt_secret: bytes
) -> None:
    hook = (await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/a"})).json()
    reader = mint_token(
        jwt_secret, sub="bob", scopes=[s for s in SCOPES.split() if s != "webhooks:admin"]
    )
    headers = {"Authorization": f"Bearer {reader}"}
    calls = [
        ("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/a"}),
        ("GET", "/v1/webhooks", None),
        ("GET", f"/v1/webhooks/{hook['id']}", None),
        ("PATCH", f"/v1/webhooks/{hook['id']}", {"enabled": False}),
        ("DELETE", f"/v1/webhooks/{hook['id']}", None),
        ("POST", f"/v1/webhooks/{hook['id']}/rotate-secret", {}),
        ("POST", f"/v1/webhooks/{hook['id']}/test", None),
        ("GET", f"/v1/webhooks/{hook['id']}/deliveries", None),
        ("POST", f"/v1/webhooks/{hook['id']}/deliveries/dlv_x/resend", None),
    ]
    for method, path, body in calls:
        answer = await client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 403, (method, path)
        assert answer.json()["code"] == "insufficient_scope"


async def test_rotation_returns_a_new_secret_and_the_overlap(client: httpx.AsyncClient) -> None:
    hook = (await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/a"})).json()
    rotated = await client.post(
        f"/v1/webhooks/{hook['id']}/rotate-secret", json={"overlap_seconds": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != hook["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    shown = (await client.get(f"/v1/webhooks/{hook['id']}")).json()
    assert shown["previous_secret_expires_at"] == rotated.json()["previous_secret_expires_at"]
    at_once = await client.post(
        f"/v1/webhooks/{hook['id']}/rotate-secret", json={"overlap_seconds": 0}
    )
    assert at_once.json()["previous_secret_expires_at"] is None
    too_long = await client.post(
        f"/v1/webhooks/{hook['id']}/rotate-secret", json={"overlap_seconds": 8 * 86400}
    )
    assert too_long.status_code == 422


@pytest.mark.parametrize("path", ["/deliveries", "/test", "/rotate-secret"])
async def test_unknown_endpoint_is_404(client: httpx.AsyncClient, path: str) -> None:
    method = "GET" if path == "/deliveries" else "POST"
    answer = await client.request(method, f"/v1/webhooks/wh_01JDX4Z6W8Q1V9M2N3B4C5D6E7{path}")
    assert answer.status_code == 404
    assert answer.json()["code"] == "webhook_not_found"


async def test_ping_queues_a_delivery_and_resend_of_an_unknown_one_is_404(
    client: httpx.AsyncClient,
) -> None:
    hook = (await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/a"})).json()
    ping = await client.post(f"/v1/webhooks/{hook['id']}/test")
    assert ping.status_code == 202, ping.text
    assert ping.json()["event_type"] == "webhook.test"
    assert ping.json()["status"] == "pending"
    assert ping.json()["attempts"] == 0
    log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()
    assert [d["id"] for d in log["items"]] == [ping.json()["id"]]
    assert log["next_cursor"] is None
    missing = await client.post(f"/v1/webhooks/{hook['id']}/deliveries/dlv_nope/resend")
    assert missing.status_code == 404
    assert missing.json()["code"] == "webhook_delivery_not_found"
    bad_cursor = await client.get(f"/v1/webhooks/{hook['id']}/deliveries?cursor=forged")
    assert bad_cursor.status_code == 422
