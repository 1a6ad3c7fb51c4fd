"""Bad input is a 4xx everywhere, never a 500 and never a stored time bomb: metadata that
cannot be stored or shown again, dates that overflow, forged cursors, absurdly nested JSON,
batch totals that overflow a 64-bit column, amounts with a trailing newline, memos counted in
characters instead of bytes. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.api.conftest import ADDR_A, TokenFactory

from tronpay.app import create_app
from tronpay.config import Settings
from tronpay.db.models import Base
from tronpay.kit.money import InvalidAmount, parse_amount

LONE_SURROGATE = '{"a": "\\ud800"}'


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"k": value}
    return value


def _cursor(*parts: object) -> str:
    raw = json.dumps(list(parts), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def _create(client: httpx.AsyncClient, body: str, key: str) -> httpx.Response:
    return await client.post(
        "/v1/payouts",
        content=body.encode(),
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )


async def _batch(client: httpx.AsyncClient, body: str) -> httpx.Response:
    return await client.post(
        "/v1/batches",
        content=body.encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
    )


async def _lists_still_work(client: httpx.AsyncClient) -> None:
    listing = await client.get("/v1/payouts")
    assert listing.status_code == 200, listing.text
    for item in listing.json()["items"]:
        one = await client.get(f"/v1/payouts/{item['id']}")
        assert one.status_code == 200, one.text


# -- metadata ------------------------------------------------------------------------------

BAD_METADATA = {
    "lone_surrogate": LONE_SURROGATE,
    "lone_surrogate_key": '{"\\udfff": 1}',
    "deep_500": json.dumps(_nested(500)),
    "deep_9": json.dumps(_nested(9)),
    "nan": '{"a": NaN}',
    "infinity": '{"a": [Infinity]}',
    "too_large": json.dumps({"a": "x" * 5000}),
    "too_large_in_utf8": json.dumps({"a": "\u00e9" * 2100}, ensure_ascii=False),
}


@pytest.mark.parametrize("name", list(BAD_METADATA))
async def test_bad_metadata_is_a_422_on_create(client: httpx.AsyncClient, name: str) -> None:
    body = f'{{"to": "{ADDR_A}", "amount": "1", "metadata": {BAD_METADATA[name]}}}'
    response = await _create(client, body, f"meta-{name}")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    await _lists_still_work(client)


@pytest.mark.parametrize("name", list(BAD_METADATA))
async def test_bad_metadata_in_a_json_batch_is_refused(
    client: httpx.AsyncClient, name: str
) -> None:
    body = (
        f'{{"items": [{{"to": "{ADDR_A}", "amount": "1", "metadata": {BAD_METADATA[name]}}},'
        f' {{"to": "{ADDR_A}", "amount": "2"}}]}}'
    )
    response = await _batch(client, body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(1, "metadata")]
    await _lists_still_work(client)


async def test_metadata_at_the_depth_limit_round_trips(client: httpx.AsyncClient) -> None:
    metadata = _nested(8)
    response = await _create(
        client, json.dumps({"to": ADDR_A, "amount": "1", "metadata": metadata}), "meta-8"
    )
    assert response.status_code == 201, response.text
    shown = await client.get(f"/v1/payouts/{response.json()['id']}")
    assert shown.json()["metadata"] == metadata


# -- JSON nesting --------------------------------------------------------------------------


async def test_absurd_nesting_is_malformed_json(client: httpx.AsyncClient) -> None:
    response = await _batch(client, "[" * 200_000)
    assert response.status_code == 422, response.text
    assert [e["reason"] for e in response.json()["errors"]] == ["malformed_json"]
    response = await _create(client, "[" * 200_000, "nest")
    assert 400 <= response.status_code < 500, response.text


# -- amounts and memos -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1\n", "1\r\n", "1.5\n", "\n1"])
def test_an_amount_with_a_newline_is_refused(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(text)


async def test_amount_with_trailing_newline_is_a_422(client: httpx.AsyncClient) -> None:
    response = await _create(client, json.dumps({"to": ADDR_A, "amount": "1\n"}), "nl")
    assert response.status_code == 422, response.text


async def test_memo_is_limited_in_utf8_bytes(client: httpx.AsyncClient) -> None:
    too_long = "\u00e9" * 257  # 514 bytes, 257 characters
    response = await _create(
        client, json.dumps({"to": ADDR_A, "amount": "1", "memo": too_long}), "m1"
    )
    assert response.status_code == 422, response.text
    assert "512 bytes" in response.text
    fits = "\u00e9" * 256  # exactly 512 bytes
    response = await _create(client, json.dumps({"to": ADDR_A, "amount": "1", "memo": fits}), "m2")
    assert response.status_code == 201, response.text
    batch = await _batch(
        client, json.dumps({"items": [{"to": ADDR_A, "amount": "1", "memo": too_long}]})
    )
    assert batch.status_code == 422, batch.text
    assert batch.json()["errors"][0]["column"] == "memo"
    csv_body = f"to,amount,memo\n{ADDR_A},1,{too_long}\n{ADDR_A},1,{fits}\n".encode()
    csv = await client.post(
        "/v1/batches",
        content=csv_body,
        headers={"Content-Type": "text/csv", "Idempotency-Key": "csv-memo"},
    )
    assert csv.status_code == 422, csv.text
    assert [(e["row"], e["column"]) for e in csv.json()["errors"]] == [(2, "memo")]


async def test_a_lone_surrogate_memo_is_a_422(client: httpx.AsyncClient) -> None:
    body = f'{{"to": "{ADDR_A}", "amount": "1", "memo": "a\\ud800"}}'
    response = await _create(client, body, "memo-surrogate")
    assert response.status_code == 422, response.text
    await _lists_still_work(client)


# -- dates and cursors -----------------------------------------------------------------------

EXTREME_DATES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("when", EXTREME_DATES)
@pytest.mark.parametrize("name", ["created_after", "created_before"])
async def test_dates_that_overflow_utc_are_a_422(
    client: httpx.AsyncClient, name: str, when: str
) -> None:
    response = await client.get("/v1/payouts", params={name: when})
    assert response.status_code == 422, response.text


FORGED_CURSORS = {
    "overflow_low": _cursor("0001-01-01T00:00:00+01:00", "po_01JDX4Z6W8Q1V9M2N3B4C5D6E7"),
    "overflow_high": _cursor("9999-12-31T23:59:59-01:00", "po_01JDX4Z6W8Q1V9M2N3B4C5D6E7"),
    "nul_in_id": _cursor("2030-01-01T00:00:00+00:00", "po_\u0000"),
    "not_an_id": _cursor("2030-01-01T00:00:00+00:00", "zzz"),
    "naive_time": _cursor("2030-01-01T00:00:00", "po_01JDX4Z6W8Q1V9M2N3B4C5D6E7"),
    "three_parts": _cursor("2030-01-01T00:00:00+00:00", "po_01JDX4Z6W8Q1V9M2N3B4C5D6E7", 1),
    "number_id": _cursor("2030-01-01T00:00:00+00:00", 7),
    "surrogate": _cursor("2030-01-01T00:00:00+00:00", "po_\udc00"),
    "not_json": base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
}


@pytest.mark.parametrize("name", list(FORGED_CURSORS))
async def test_forged_cursors_are_invalid_cursor(client: httpx.AsyncClient, name: str) -> None:
    batch = await _batch(client, json.dumps({"items": [{"to": ADDR_A, "amount": "1"}]}))
    assert batch.status_code == 201, batch.text
    for path in ("/v1/payouts", f"/v1/batches/{batch.json()['id']}/payouts"):
        response = await client.get(path, params={"cursor": FORGED_CURSORS[name]})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_cursor"


async def test_real_cursors_still_page(client: httpx.AsyncClient) -> None:
    for index in range(3):
        created = await _create(
            client, json.dumps({"to": ADDR_A, "amount": str(index + 1)}), f"page-{index}"
        )
        assert created.status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/payouts", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3


@pytest.mark.parametrize("cursor", ["YTo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "YTox\n", "YTowMQ"])
async def test_audit_cursor_out_of_range_is_invalid(client: httpx.AsyncClient, cursor: str) -> None:
    response = await client.get("/v1/audit", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_cursor"


# -- totals ----------------------------------------------------------------------------------


@pytest.fixture
async def no_policy_client(
    settings: Settings, token: TokenFactory
) -> AsyncIterator[httpx.AsyncClient]:
    application: FastAPI = create_app(settings.model_copy(update={"policy_file": None}))
    async with application.state.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application),
            base_url="http://tronpay.test",
            headers={"Authorization": f"Bearer {token()}"},
        ) as http,
    ):
        yield http


async def test_a_batch_whose_total_overflows_is_refused(
    no_policy_client: httpx.AsyncClient,
) -> None:
    items = [{"to": ADDR_A, "amount": "9223372036854"}, {"to": ADDR_A, "amount": "9223372036854"}]
    response = await _batch(no_policy_client, json.dumps({"items": items}))
    assert response.status_code == 422, response.text
    assert "batch_total_too_large" in [e["reason"] for e in response.json()["errors"]]
    # Each alone fits, and one batch of both assets at the limit is fine.
    items = [
        {"to": ADDR_A, "amount": "9223372036854", "asset": "USDT"},
        {"to": ADDR_A, "amount": "9223372036854", "asset": "TRX"},
    ]
    response = await _batch(no_policy_client, json.dumps({"items": items}))
    assert response.status_code == 201, response.text
    shown = await no_policy_client.get(f"/v1/batches/{response.json()['id']}")
    assert shown.status_code == 200, shown.text
