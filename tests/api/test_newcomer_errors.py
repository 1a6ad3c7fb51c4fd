"""The mistakes a newcomer makes first get an answer that says what to do: a JSON body
without its Content-Type, a number for an amount, a token without ``Bearer ``, a ``0x``/``41``
hex address. The create fast lane gives the same answers as the route (with the lane on and
off the bodies match), and every code and ``errors[].type`` returned is in docs/api.md."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.api.conftest import ADDR_A, TokenFactory
from tests.test_error_table import documented_errors, documented_validation_types

from tronpay.state import AppState

ETH_STYLE = "0x" + "a6" * 20
TRON_HEX = "41" + "a6" * 20
# The base58check form of the same 20 bytes.
BASE58_OF_HEX = "TRANp1sx5NdxVE1Uoo3kmpYY23F9X8J5st"


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tronpay.test"
    ) as http:
        yield http


def _headers(token: TokenFactory, **extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token()}",
        "Idempotency-Key": str(uuid.uuid4()),
        "Content-Type": "application/json",
        **extra,
    }


def _body(**fields: Any) -> bytes:
    return json.dumps({"to": ADDR_A, "amount": "1", **fields}).encode()


async def _both_lanes(
    app: FastAPI, client: httpx.AsyncClient, path: str, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POST with the fast lane on and off; the answers must be the same."""
    state = app.state
    assert isinstance(state, AppState)
    answers = []
    for lane in (True, False):
        state.payout_fast_lane = lane
        response = await client.post(path, content=content, headers=headers)
        body = response.json()
        body.pop("request_id", None)
        answers.append((response.status_code, response.headers["content-type"], body))
    state.payout_fast_lane = True
    assert answers[0] == answers[1]
    return response


def _check_documented(response: httpx.Response) -> None:
    body = response.json()
    row = documented_errors()[body["code"]]
    assert (row.status, row.title) == (response.status_code, body["title"])
    types = documented_validation_types()
    assert [e["type"] for e in body.get("errors", []) if e["type"] not in types] == []


@pytest.mark.parametrize("path", ["/v1/payouts", "/v1/payouts/quote"])
@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
async def test_a_json_body_without_its_content_type(
    app: FastAPI,
    client: httpx.AsyncClient,
    token: TokenFactory,
    path: str,
    content_type: str | None,
) -> None:
    headers = _headers(token)
    del headers["Content-Type"]
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await _both_lanes(app, client, path, _body(), headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unsupported_media_type"
    assert response.json()["detail"] == "send the body with Content-Type: application/json"
    _check_documented(response)


async def test_a_json_body_that_is_not_an_object_is_still_a_validation_error(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    response = await _both_lanes(app, client, "/v1/payouts", b"[1, 2]", _headers(token))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("path", ["/v1/payouts", "/v1/payouts/quote"])
@pytest.mark.parametrize("amount", [12.5, 12, 0.1])
async def test_a_numeric_amount_says_send_a_string(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory, path: str, amount: float
) -> None:
    response = await _both_lanes(app, client, path, _body(amount=amount), _headers(token))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"] == 'amount: send amounts as strings, e.g. "12.5"'
    assert [(e["field"], e["type"]) for e in body["errors"]] == [("amount", "invalid_amount")]
    _check_documented(response)


async def test_a_bad_amount_string_has_the_same_type(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    response = await _both_lanes(app, client, "/v1/payouts", _body(amount="1e3"), _headers(token))
    body = response.json()
    assert (response.status_code, body["code"]) == (422, "validation_error")
    assert [e["type"] for e in body["errors"]] == ["invalid_amount"]
    _check_documented(response)


@pytest.mark.parametrize("path", ["/v1/payouts", "/v1/payouts/quote"])
@pytest.mark.parametrize(
    ("authorization", "said"),
    [
        ("{token}", "the Authorization header lacks the Bearer prefix"),
        ("Token {token}", "the Authorization scheme must be Bearer"),
        ("Bearer", "the Authorization header carries no token"),
        (None, "no Authorization header"),
    ],
)
async def test_a_token_without_bearer_says_how_to_send_it(  # noqa: PLR0917 - fixtures
    app: FastAPI,
    client: httpx.AsyncClient,
    token: TokenFactory,
    path: str,
    authorization: str | None,
    said: str,
) -> None:
    headers = _headers(token)
    raw = headers.pop("Authorization").removeprefix("Bearer ")
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=raw)
    response = await _both_lanes(app, client, path, _body(), headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "missing_token"
    assert body["detail"] == f"{said}; use: Authorization: Bearer <token>"
    assert raw not in response.text  # the token is never echoed
    assert response.headers["www-authenticate"].startswith("Bearer")
    _check_documented(response)


@pytest.mark.parametrize("path", ["/v1/payouts", "/v1/payouts/quote"])
@pytest.mark.parametrize("address", [ETH_STYLE, TRON_HEX, "0x" + TRON_HEX, ETH_STYLE.upper()[1:]])
async def test_a_hex_address_says_convert_it_to_base58(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory, path: str, address: str
) -> None:
    if address.startswith("X"):  # "0X..." upper-case
        address = "0" + address
    response = await _both_lanes(app, client, path, _body(to=address), _headers(token))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"].startswith("to: TRON addresses start with T; convert the 0x/41-hex")
    assert body["detail"].endswith(f"this one is {BASE58_OF_HEX}")
    assert [(e["type"], e["reason"]) for e in body["errors"]] == [("invalid_address", "hex")]
    _check_documented(response)


async def test_the_suggested_address_is_the_same_account(
    app: FastAPI, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    response = await client.post(
        "/v1/payouts", content=_body(to=BASE58_OF_HEX), headers=_headers(token)
    )
    assert response.status_code == 201, response.text


async def test_a_hex_address_in_a_csv_batch_row(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    csv = f"to,amount\n{ETH_STYLE},1\n".encode()
    response = await client.post(
        "/v1/batches", content=csv, headers=_headers(token, **{"Content-Type": "text/csv"})
    )
    assert response.status_code == 422
    [row] = response.json()["errors"]
    assert row["reason"] == "invalid_address_hex"
    assert BASE58_OF_HEX in row["message"]


WALK: list[tuple[str, str, Any]] = [
    ("POST", "/v1/payouts", {"to": ADDR_A, "amount": "1", "colour": "red"}),
    ("POST", "/v1/payouts", {"amount": "1"}),
    ("POST", "/v1/payouts", {"to": ADDR_A, "amount": "1", "asset": "BTC"}),
    ("POST", "/v1/payouts", {"to": ADDR_A, "amount": "1", "reference": "x" * 201}),
    ("POST", "/v1/payouts", {"to": ADDR_A, "amount": "1", "reference": "é"}),
    ("POST", "/v1/payouts", {"to": ADDR_A, "amount": "1", "reference": ""}),
    ("POST", "/v1/payouts", {"to": ADDR_A, "amount": "1", "memo": "é" * 257}),
    ("POST", "/v1/payouts", {"to": ADDR_A, "amount": "1", "metadata": {"a": "\x00"}}),
    ("POST", "/v1/payouts", {"to": ADDR_A, "amount": "1", "metadata": [1]}),
    ("POST", "/v1/payouts", {"to": ADDR_A, "amount": "-1", "memo": 5}),
    ("POST", "/v1/payouts", {"to": "TJRabPrwbZy45sbavfcjinPJC18kjpRTv9", "amount": "1"}),
    ("POST", "/v1/payouts/quote", {"to": ADDR_A, "amount": "0"}),
    ("GET", "/v1/payouts?limit=0", None),
    ("GET", "/v1/payouts?limit=abc", None),
    ("GET", "/v1/payouts?limit=100000", None),
    ("GET", "/v1/payouts?status=paid", None),
    ("GET", "/v1/payouts?created_after=yesterday", None),
    ("GET", "/v1/payouts?created_after=0001-01-01T00:00:00%2B01:00", None),
    ("GET", "/v1/audit?limit=-1", None),
]


async def test_every_validation_answer_is_documented(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    """A walk over the validation errors the payout, quote, list and audit routes return:
    each answer's code is a row of the error table, each errors[].type a documented type."""
    seen: set[str] = set()
    for method, path, body in WALK:
        content = None if body is None else json.dumps(body).encode()
        response = await client.request(method, path, content=content, headers=_headers(token))
        assert response.status_code == 422, (path, body, response.text)
        _check_documented(response)
        seen.update(e["type"] for e in response.json().get("errors", []))
    assert {"extra_forbidden", "missing", "enum", "invalid_address", "invalid_amount"} <= seen
