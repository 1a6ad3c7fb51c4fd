"""Property-based fuzzing of every operation in /openapi.json (schemathesis) against a real
`tronpay serve` on SQLite and on PostgreSQL, with a valid all-scopes token: never a 5xx."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
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
