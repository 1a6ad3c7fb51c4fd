"""Destinations that can never receive are refused at the API (issue 13.2), for single
payouts and batches, on SQLite and PostgreSQL: the zero address, the token contract itself,
and for TRX any address a live devnet (over real HTTP) reports as a contract. A replica
whose node does not answer defers the contract check to the engine."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from api.conftest import ADDR_A, TokenFactory
from node.support import USDT_HEX, addr, free_port_url
from tron_devnet.testing import DevnetHandle, run_devnet
from tronpay.app import create_app
from tronpay.config import Settings
from tronpay.db.models import Base
from tronpay.db.session import read_transaction
from tronpay.payouts.models import Payout
from tronpay.tron.address import ZERO_ADDRESS, from_hex

DEVNET_CONTRACT = from_hex(USDT_HEX)  # a smart contract on the devnet
# The token this API is configured with (not the devnet's contract, so that TRX to the
# devnet's contract can only be refused by asking the node).
CONFIGURED_TOKEN = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"


@pytest.fixture
def devnet() -> Iterator[DevnetHandle]:
    with run_devnet() as handle:
        yield handle


async def _app(settings: Settings, node_url: str) -> FastAPI:
    configured = settings.model_copy(
        update={
            "node_urls": [node_url],
            "token_contract": CONFIGURED_TOKEN,
            "hot_wallet_address": addr(900),
        }
    )
    application = create_app(configured)
    async with application.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return application


@pytest.fixture
async def client_for(
    settings: Settings, token: TokenFactory
) -> AsyncIterator[list[tuple[FastAPI, httpx.AsyncClient]]]:
    made: list[tuple[FastAPI, httpx.AsyncClient]] = []
    yield made
    for application, http in made:
        await http.aclose()
        await application.state.engine.dispose()
        await application.state.chain.aclose()


async def _client(
    made: list[tuple[FastAPI, httpx.AsyncClient]],
    settings: Settings,
    token: TokenFactory,
    node_url: str,
) -> tuple[FastAPI, httpx.AsyncClient]:
    application = await _app(settings, node_url)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application),
        base_url="http://tronpay.test",
        headers={"Authorization": f"Bearer {token()}"},
    )
    made.append((application, http))
    return application, http


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _count(application: FastAPI) -> int:
    async with read_transaction(application.state.sessionmaker) as session:
        return int(await session.scalar(select(func.count()).select_from(Payout)) or 0)


async def test_destinations_that_cannot_receive_are_refused(
    settings: Settings,
    token: TokenFactory,
    devnet: DevnetHandle,
    client_for: list[tuple[FastAPI, httpx.AsyncClient]],
) -> None:
    application, http = await _client(client_for, settings, token, devnet.url)
    cases = [
        ({"to": ZERO_ADDRESS, "amount": "1", "asset": "USDT"}, "recipient_is_zero_address"),
        ({"to": ZERO_ADDRESS, "amount": "1", "asset": "TRX"}, "recipient_is_zero_address"),
        ({"to": CONFIGURED_TOKEN, "amount": "1"}, "recipient_is_token_contract"),
        ({"to": CONFIGURED_TOKEN, "amount": "1", "asset": "TRX"}, "recipient_is_contract"),
        ({"to": DEVNET_CONTRACT, "amount": "1", "asset": "TRX"}, "recipient_is_contract"),
    ]
    for body, code in cases:
        for _ in range(2):  # the second answer comes from the cache: the same refusal
            response = await http.post("/v1/payouts", json=body, headers=_key())
            assert response.status_code == 422, (body, response.text)
            assert response.json()["code"] == code, body
    # USDT to a contract other than the token is the holder's business; TRX to a plain
    # account is fine
    for body in (
        {"to": DEVNET_CONTRACT, "amount": "1", "asset": "USDT"},
        {"to": ADDR_A, "amount": "1", "asset": "TRX"},
    ):
        response = await http.post("/v1/payouts", json=body, headers=_key())
        assert response.status_code == 201, response.text
    assert await _count(application) == 2

    rows = "\n".join(
        [
            "to,amount,asset,reference,memo",
            f"{ADDR_A},1,TRX,,",  # line 2: fine
            f"{DEVNET_CONTRACT},1,TRX,,",  # line 3: a contract (asked of the node)
            f"{ZERO_ADDRESS},1,USDT,,",  # line 4: burned
            f"{CONFIGURED_TOKEN},1,USDT,,",  # line 5: the token itself
        ]
    )
    batch = await http.post(
        "/v1/batches", content=rows, headers={**_key(), "content-type": "text/csv"}
    )
    assert batch.status_code == 422, batch.text
    assert {(e["row"], e["reason"]) for e in batch.json()["errors"]} == {
        (3, "recipient_is_contract"),
        (4, "recipient_is_zero_address"),
        (5, "recipient_is_token_contract"),
    }
    assert await _count(application) == 2


async def test_without_a_node_the_contract_check_is_left_to_the_engine(
    settings: Settings, token: TokenFactory, client_for: list[tuple[FastAPI, httpx.AsyncClient]]
) -> None:
    application, http = await _client(client_for, settings, token, free_port_url())
    response = await http.post(
        "/v1/payouts", json={"to": DEVNET_CONTRACT, "amount": "1", "asset": "TRX"}, headers=_key()
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "queued"
    # what needs no node is still refused
    zero = await http.post(
        "/v1/payouts", json={"to": ZERO_ADDRESS, "amount": "1", "asset": "TRX"}, headers=_key()
    )
    assert zero.json()["code"] == "recipient_is_zero_address"
    assert await _count(application) == 1
