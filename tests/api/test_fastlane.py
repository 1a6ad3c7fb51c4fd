"""The create fast lane answers exactly as the FastAPI route does.

Every request below is sent twice on the same app and database: once with the lane on and
once with it off (``app.state.payout_fast_lane``). Statuses, the headers that matter and the
bodies (minus ids and timestamps) must be the same; and the lane must really have answered
the requests it is meant for (a lane that always stepped aside would pass the comparison).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.api.conftest import ADDR_A, ADDR_B, ADDR_C, TokenFactory

from tronpay.payouts.fastlane import PayoutCreateLane

VOLATILE = {"id", "created_at", "updated_at", "request_id"}


@dataclass
class Case:
    name: str
    body: Any  # JSON-able, or bytes sent as they are
    lane: bool  # the lane answers it (else the route does)
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = "alice"  # subject of a full-scope token; None: no Authorization
    scopes: str | None = None
    key: str | None = "fresh"  # "fresh": a new key per send; None: no key; else as given
    repeat: int = 1  # sends with the same key and body (the last answer is compared)


def cases(tag: str) -> list[Case]:
    return [
        Case("created", {"to": ADDR_A, "amount": "12.5", "memo": "m", "metadata": {"a": 1}}, True),
        Case("trx", {"to": ADDR_A, "amount": "3", "asset": "TRX", "reference": f"t-{tag}"}, True),
        Case("needs approval", {"to": ADDR_A, "amount": "20000"}, True),
        Case(
            "charset",
            {"to": ADDR_A, "amount": "1"},
            True,
            headers={"content-type": "application/json; charset=utf-8"},
        ),
        Case(
            "replayed",
            {"to": ADDR_A, "amount": "2", "reference": f"r-{tag}"},
            True,
            key=f"replay-{tag}",
            repeat=2,
        ),
        Case("duplicate reference", {"to": ADDR_A, "amount": "2", "reference": f"r-{tag}"}, True),
        Case("hot wallet", {"to": ADDR_B, "amount": "1"}, True),
        Case("denied", {"to": ADDR_C, "amount": "1"}, True),
        Case("over the maximum", {"to": ADDR_A, "amount": "50000.000001"}, True),
        Case("no token", {"to": ADDR_A, "amount": "1"}, False, token=None),
        Case(
            "bad token",
            {"to": ADDR_A, "amount": "1"},
            False,
            headers={"authorization": "Bearer not.a.jwt"},
        ),
        Case("missing scope", {"to": ADDR_A, "amount": "1"}, False, scopes="payouts:read"),
        Case("no key", {"to": ADDR_A, "amount": "1"}, False, key=None),
        Case("bad key", {"to": ADDR_A, "amount": "1"}, False, key="bad key\t"),
        Case("bad json", b'{"to": ', False),
        Case("nested too deep", b"[" * 100_000 + b"]" * 100_000, False),
        Case("unknown field", {"to": ADDR_A, "amount": "1", "colour": "red"}, False),
        Case("bad address", {"to": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv9", "amount": "1"}, False),
        Case("bad amount", {"to": ADDR_A, "amount": "1.0000001"}, False),
        Case(
            "not json", {"to": ADDR_A, "amount": "1"}, False, headers={"content-type": "text/plain"}
        ),
        Case("too large", {"to": ADDR_A, "amount": "1", "memo": "x" * 2_000_000}, False),
        Case(
            "form content type",
            {"to": ADDR_A, "amount": "1"},
            False,
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        Case("numeric amount", {"to": ADDR_A, "amount": 12.5}, False),
        Case("hex address", {"to": "0x" + "a6" * 20, "amount": "1"}, False),
        Case(
            "no bearer prefix",
            {"to": ADDR_A, "amount": "1"},
            False,
            token=None,
            headers={"authorization": "not.a.jwt"},
        ),
    ]


def lane_of(app: FastAPI) -> PayoutCreateLane:
    if app.middleware_stack is None:  # built by the first request otherwise
        app.middleware_stack = app.build_middleware_stack()
    layer: Any = app.middleware_stack
    while layer is not None and not isinstance(layer, PayoutCreateLane):
        layer = getattr(layer, "app", None)
    assert isinstance(layer, PayoutCreateLane), "the lane is not in the middleware stack"
    return layer


def normalized(response: httpx.Response, tag: str) -> dict[str, Any]:
    headers = {
        name: response.headers.get(name)
        for name in ("content-type", "idempotent-replayed", "www-authenticate")
    }
    location = response.headers.get("location")
    headers["location"] = None if location is None else location.rsplit("/", 1)[0]
    headers["x-request-id"] = bool(response.headers.get("x-request-id"))
    text = response.text.replace(tag, "TAG")  # references and keys carry the run's tag
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        body = text
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in VOLATILE}
    return {"status": response.status_code, "headers": headers, "body": body}


async def send(client: httpx.AsyncClient, token: TokenFactory, case: Case) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if case.token is not None:
        scopes = {"scopes": case.scopes} if case.scopes else {}
        headers["authorization"] = f"Bearer {token(case.token, **scopes)}"
    headers.update(case.headers)
    key = str(uuid.uuid4()) if case.key == "fresh" else case.key
    if key is not None:
        headers["idempotency-key"] = key
    content = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
    response: httpx.Response | None = None
    for _ in range(case.repeat):
        response = await client.post("/v1/payouts", content=content, headers=headers)
    assert response is not None
    return response


@pytest.fixture
async def raw(app: FastAPI) -> Callable[[], httpx.AsyncClient]:
    def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://tronpay.test"
        )

    return make


async def test_lane_answers_like_the_route(
    app: FastAPI, token: TokenFactory, raw: Callable[[], httpx.AsyncClient]
) -> None:
    answers: dict[bool, dict[str, dict[str, Any]]] = {}
    async with raw() as client:
        for lane_on in (False, True):
            app.state.payout_fast_lane = lane_on
            tag = "lane" if lane_on else "route"
            answers[lane_on] = {}
            for case in cases(tag):
                before = lane_of(app).answered
                response = await send(client, token, case)
                answered = lane_of(app).answered - before
                expected = case.repeat if (lane_on and case.lane) else 0
                assert answered == expected, (case.name, lane_on, answered)
                answers[lane_on][case.name] = normalized(response, tag)
    for case in cases("-"):
        assert answers[True][case.name] == answers[False][case.name], case.name
    statuses = {name: answer["status"] for name, answer in answers[True].items()}
    assert statuses == {
        "created": 201,
        "trx": 201,
        "needs approval": 201,
        "charset": 201,
        "replayed": 201,
        "duplicate reference": 409,
        "hot wallet": 422,
        "denied": 422,
        "over the maximum": 422,
        "no token": 401,
        "bad token": 401,
        "missing scope": 403,
        "no key": 422,
        "bad key": 422,
        "bad json": 422,
        "nested too deep": 400,
        "unknown field": 422,
        "bad address": 422,
        "bad amount": 422,
        "not json": 415,
        "too large": 413,
        "form content type": 415,
        "numeric amount": 422,
        "hex address": 422,
        "no bearer prefix": 401,
    }
    assert answers[True]["replayed"]["headers"]["idempotent-replayed"] == "true"


async def test_turned_off_lane_steps_aside(
    app: FastAPI, token: TokenFactory, raw: Callable[[], httpx.AsyncClient]
) -> None:
    app.state.payout_fast_lane = False
    async with raw() as client:
        response = await send(client, token, Case("created", {"to": ADDR_A, "amount": "1"}, True))
    assert response.status_code == 201
    assert lane_of(app).answered == 0


async def post_streamed(
    client: httpx.AsyncClient, token: TokenFactory, chunks: AsyncIterator[bytes]
) -> httpx.Response:
    """A create whose body is sent chunked (no Content-Length)."""
    return await client.post(
        "/v1/payouts",
        content=chunks,
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {token()}",
            "idempotency-key": str(uuid.uuid4()),
        },
    )


@pytest.mark.parametrize("lane_on", [True, False])
async def test_streamed_body_over_the_limit_is_413(
    app: FastAPI, token: TokenFactory, raw: Callable[[], httpx.AsyncClient], lane_on: bool
) -> None:
    """No Content-Length (chunked): the body limit still answers 413, lane or route."""
    limit = app.state.settings.max_json_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"to": "' + ADDR_A.encode() + b'", "amount": "1", "memo": "'
        for _ in range(limit // 65_536 + 2):
            yield b"x" * 65_536
        yield b'"}'

    app.state.payout_fast_lane = lane_on
    async with raw() as client:
        response = await post_streamed(client, token, chunks())
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert lane_of(app).answered == 0


async def test_streamed_body_within_the_limit_is_created(
    app: FastAPI, token: TokenFactory, raw: Callable[[], httpx.AsyncClient]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"to": "' + ADDR_A.encode() + b'", '
        yield b'"amount": "1.5"}'

    async with raw() as client:
        response = await post_streamed(client, token, chunks())
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "1.5"
    assert lane_of(app).answered == 1
