"""Property-based fuzzing of every operation in /openapi.json (schemathesis) against a real
`tronpay serve` on SQLite and on PostgreSQL, with a valid all-scopes token: never a 5xx."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import BaseSchema as BaseOpenAPISchema
from schemathesis.checks import not_a_server_error
from tests.api.conftest import POLICY_TOML
from tests.api.servers import Server, postgres_database, running_server

from tron_devnet.genesis import demo_address_hex
from tron_devnet.testing import DevnetHandle, run_devnet
from tronpay.auth import mint_token
from tronpay.tron.address import from_hex

ALL_SCOPES = ["payouts:read", "payouts:write", "payouts:approve", "audit:read"]


@pytest.fixture(scope="module")
def fuzz_devnet() -> Iterator[DevnetHandle]:
    with run_devnet() as handle:
        yield handle


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    workdir = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    secret = secrets.token_hex(32).encode()
    (workdir / "jwt.secret").write_bytes(secret)
    (workdir / "jwt.secret").chmod(0o600)
    (workdir / "policy.toml").write_text(POLICY_TOML)
    # A real devnet answers POST /v1/payouts/quote (the quote needs a node and a hot wallet).
    devnet = request.getfixturevalue("fuzz_devnet")
    env = {
        "TRONPAY_JWT_HS256_SECRET_FILE": str(workdir / "jwt.secret"),
        "TRONPAY_POLICY_FILE": str(workdir / "policy.toml"),
        "TRONPAY_NODE_URLS": devnet.url,
        "TRONPAY_HOT_WALLET_ADDRESS": from_hex(demo_address_hex()),
    }
    token = mint_token(secret, sub="fuzzer", scopes=ALL_SCOPES, ttl_s=3600)
    if request.param == "sqlite":
        with running_server(workdir, **env) as server:
            yield server, token
        return
    with (
        postgres_database() as url,
        running_server(workdir, TRONPAY_DATABASE_URL=url, **env) as server,
    ):
        yield server, token


@pytest.fixture(scope="module")
def api_schema(fuzz_server: tuple[Server, str]) -> BaseOpenAPISchema:
    server, _ = fuzz_server
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


def test_no_server_errors(api_schema: BaseOpenAPISchema, fuzz_server: tuple[Server, str]) -> None:
    server, token = fuzz_server
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=server.url,
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error],
            )

        fuzz()


def test_fuzzer_saw_the_whole_api(api_schema: BaseOpenAPISchema) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {
        "/v1/payouts",
        "/v1/payouts/{payout_id}",
        "/v1/payouts/{payout_id}/cancel",
        "/v1/payouts/{payout_id}/approve",
        "/v1/payouts/{payout_id}/retry",
        "/v1/payouts/quote",
        "/v1/batches",
        "/v1/batches/{batch_id}",
        "/v1/batches/{batch_id}/payouts",
        "/v1/audit",
        "/health",
        "/ready",
    } <= paths


# -- hostile inputs the schema-driven fuzzer does not think of ----------------------------
# Strings with lone surrogates, NUL and multi-byte characters; metadata nested far too deep;
# NaN; dates whose UTC value overflows; forged cursors; amounts with whitespace. Every
# endpoint must answer 4xx (or 2xx), and whatever was accepted must list and show again.

_ADDRESS = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
_hostile_text = st.text(st.characters(exclude_categories=()), max_size=40) | st.sampled_from(
    ["\ud800", "a\udfff", "\x00", "\u00e9" * 257, "1\n", " 1", "\t"]
)


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = {"k": value}
    return value


_json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | _hostile_text
_metadata = st.one_of(
    st.dictionaries(_hostile_text, _json_leaf, max_size=4),
    st.builds(_nest, _json_leaf, st.integers(min_value=1, max_value=600)),
    st.recursive(
        st.dictionaries(_hostile_text, _json_leaf, max_size=3),
        lambda children: st.dictionaries(_hostile_text, children | st.lists(children), max_size=3),
        max_leaves=20,
    ),
)
_item = st.fixed_dictionaries(
    {"to": st.just(_ADDRESS) | _hostile_text, "amount": st.sampled_from(["1", "1\n", "0.5"])},
    optional={
        "metadata": _metadata,
        "memo": _hostile_text,
        "reference": _hostile_text,
        "asset": st.sampled_from(["USDT", "TRX", "usdt", "\ud800"]),
    },
)
_offsets = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
_time_text = st.one_of(
    st.builds(
        lambda when, offset: when.replace(tzinfo=timezone(offset)).isoformat(),
        st.datetimes(min_value=datetime.min, max_value=datetime.max),
        _offsets,
    ),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]),
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_cursor = st.one_of(
    st.builds(
        lambda a, b: _b64(json.dumps([a, b]).encode()),
        _time_text | _hostile_text,
        _hostile_text | st.integers(),
    ),
    st.builds(_b64, st.binary(max_size=60)),
    _hostile_text,
)


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.url, response.text[:300])


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    item=_item,
    cursor=_cursor,
    after=_time_text,
    before=_time_text,
)
def test_hostile_inputs_never_give_a_5xx(
    fuzz_server: tuple[Server, str], item: dict[str, Any], cursor: str, after: str, before: str
) -> None:
    server, token = fuzz_server
    body = json.dumps(item)  # lone surrogates become \udXXX escapes; NaN stays NaN
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        created = http.post("/v1/payouts", content=body, headers=key)
        _check(created)
        _check(http.post("/v1/payouts/quote", content=body))
        batch_body = json.dumps({"items": [item]})
        batch = http.post(
            "/v1/batches", content=batch_body, headers={**key, "Idempotency-Key": str(uuid.uuid4())}
        )
        _check(batch)
        csv_row = ",".join(str(item.get(c, "")).replace(",", " ") for c in ("to", "amount", "memo"))
        csv = http.post(
            "/v1/batches",
            content=f"to,amount,memo\n{csv_row}\n".encode("utf-8", "surrogatepass"),
            headers={"Content-Type": "text/csv", "Idempotency-Key": str(uuid.uuid4())},
        )
        _check(csv)
        for params in ({"cursor": cursor}, {"created_after": after, "created_before": before}):
            # Encoded by hand: lone surrogates go out as the (invalid) UTF-8 bytes they spell.
            query = urlencode(params, encoding="utf-8", errors="surrogatepass")
            _check(http.get(f"/v1/payouts?{query}"))
            _check(http.get(f"/v1/audit?{query}"))
        listing = http.get("/v1/payouts", params={"limit": "20"})
        assert listing.status_code == 200, listing.text[:300]
        for accepted in (created, batch):
            if accepted.status_code == 201 and "id" in accepted.json():
                ident = accepted.json()["id"]
                path = f"/v1/payouts/{ident}" if ident.startswith("po_") else f"/v1/batches/{ident}"
                assert http.get(path).status_code == 200
                if ident.startswith("ba_"):
                    query = urlencode({"cursor": cursor}, errors="surrogatepass")
                    _check(http.get(f"{path}/payouts?{query}"))
                    assert http.get(f"{path}/payouts").status_code == 200
