"""Problem responses as clients receive them from the real app: the RFC 6750 challenge on a
401 (from the route and from the create fast lane), the headers Starlette's own errors carry,
and the refusals the request middleware sends itself."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from tests.api.conftest import ADDR_A, TokenFactory

from tronpay.kit.clock import utcnow

PROBLEM = "application/problem+json"
NO_TOKEN_CHALLENGE = 'Bearer realm="tronpay"'
INVALID_TOKEN_CHALLENGE = 'Bearer realm="tronpay", error="invalid_token"'


def expired_token(secret: bytes) -> str:
    issued = utcnow() - timedelta(hours=2)
    claims = {
        "sub": "alice",
        "scope": "payouts:read payouts:write",
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=10)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def assert_401(response: httpx.Response, code: str, challenge: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code
    assert response.headers.get_list("www-authenticate") == [challenge]


async def test_no_token_is_challenged_without_an_error_code(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/v1/payouts")
    assert_401(response, "missing_token", NO_TOKEN_CHALLENGE)


@pytest.mark.parametrize("token", ["x.y.z", "garbage"])
async def test_a_bad_token_is_challenged_with_invalid_token(
    anon: httpx.AsyncClient, token: str
) -> None:
    response = await anon.get("/v1/payouts", headers={"Authorization": f"Bearer {token}"})
    assert_401(response, "invalid_token", INVALID_TOKEN_CHALLENGE)


async def test_an_expired_token_is_challenged_with_invalid_token(
    anon: httpx.AsyncClient, jwt_secret: bytes
) -> None:
    headers = {"Authorization": f"Bearer {expired_token(jwt_secret)}"}
    response = await anon.get("/v1/payouts", headers=headers)
    assert_401(response, "token_expired", INVALID_TOKEN_CHALLENGE)


async def test_the_create_fast_lane_challenges_like_the_route(
    anon: httpx.AsyncClient, jwt_secret: bytes
) -> None:
    body = {"to": ADDR_A, "amount": "1"}
    key = {"Idempotency-Key": "problems-1"}
    missing = await anon.post("/v1/payouts", json=body, headers=key)
    assert_401(missing, "missing_token", NO_TOKEN_CHALLENGE)
    bad = {**key, "Authorization": f"Bearer {expired_token(jwt_secret)}"}
    expired = await anon.post("/v1/payouts", json=body, headers=bad)
    assert_401(expired, "token_expired", INVALID_TOKEN_CHALLENGE)


async def test_a_valid_token_without_the_scope_is_forbidden_without_a_challenge(
    anon: httpx.AsyncClient, token: TokenFactory
) -> None:
    reader = {"Authorization": f"Bearer {token('carol', 'payouts:read')}"}
    response = await anon.get("/v1/audit", headers=reader)
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert "www-authenticate" not in response.headers


async def test_method_not_allowed_keeps_the_allow_header(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/payouts")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response.json()["title"] == "Method not allowed"
    # Starlette names the methods of the first route that matched the path.
    allowed = set(response.headers["allow"].replace(" ", "").split(","))
    assert allowed
    assert allowed <= {"GET", "POST"}


async def test_middleware_refusals_are_problems_with_one_request_id(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("not for the client")

    too_large = await client.post(
        "/v1/batches",
        content=b"x" * (app.state.settings.max_json_body_bytes + 1),
        headers={"content-type": "application/json", "X-Request-ID": "rid-413"},
    )
    nul = await client.get("/v1/payouts/po_%00", headers={"X-Request-ID": "rid-422"})
    crashed = await client.get("/crash", headers={"X-Request-ID": "rid-500"})
    expected = [
        (too_large, 413, "payload_too_large", "rid-413"),
        (nul, 422, "validation_error", "rid-422"),
        (crashed, 500, "internal_error", "rid-500"),
    ]
    for response, status, code, request_id in expected:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.headers.get_list("x-request-id") == [request_id]
        problem = response.json()
        assert problem["code"] == code
        assert problem["status"] == status
        assert problem["request_id"] == request_id
        assert problem["type"] == "https://tronpay.dev/problems/" + code.replace("_", "-")
    assert nul.json()["errors"] == []
    assert "not for the client" not in crashed.text
