"""Webhooks belong to a tenant: an endpoint is seen and changed only by its own tenant, and
a payout's events reach only the endpoints of the payout's tenant (SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook
from tests.webhooks.conftest import tenant_client
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import create_payout, pump, register

from tronpay.webhooks.worker import WorkerConfig, dispatch_once


async def test_each_tenant_sees_and_hears_only_its_own(
    tenant_app: FastAPI, jwt_secret: bytes, receiver: Receiver, config: WorkerConfig
) -> None:
    maker: async_sessionmaker[AsyncSession] = tenant_app.state.sessionmaker
    async with (
        tenant_client(tenant_app, jwt_secret, "acme") as acme,
        tenant_client(tenant_app, jwt_secret, "globex") as globex,
    ):
        acme_hook = await register(acme, receiver.url + "/acme")
        globex_hook = await register(globex, receiver.url + "/globex")

        # Registration, reads and changes are the tenant's own.
        assert [w["id"] for w in (await acme.get("/v1/webhooks")).json()["items"]] == [
            acme_hook["id"]
        ]
        assert (await globex.get(f"/v1/webhooks/{acme_hook['id']}")).status_code == 404
        assert (await globex.delete(f"/v1/webhooks/{acme_hook['id']}")).status_code == 404
        assert (await globex.get(f"/v1/webhooks/{acme_hook['id']}/deliveries")).status_code == 404

        # acme's payout is heard by acme's endpoint only.
        payout = await create_payout(acme, "acme-1")
        await pump(maker, config, lambda: len(receiver.snapshot()) == 1)
        await dispatch_once(maker, retry_for=config.retry_for)
        got = receiver.snapshot()
        assert [r.path for r in got] == ["/hooks/acme"]
        body = Webhook(acme_hook["secret"]).verify(got[0].body, got[0].headers)
        assert body["data"]["id"] == payout["id"]
        assert (await globex.get(f"/v1/webhooks/{globex_hook['id']}/deliveries")).json()[
            "items"
        ] == []
