"""No secret in any response, header or log line: not the JWT secret, not the bearer token,
not even when a handler crashes with the secret in its exception message."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from tests.api.conftest import ADDR_A


async def test_no_secret_in_responses_or_logs(
    app: FastAPI,
    client: httpx.AsyncClient,
    jwt_secret: bytes,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = client.headers["Authorization"].removeprefix("Bearer ")
    secret = jwt_secret.decode()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"leaky failure {secret} {token}")

    responses = [
        await client.post(
            "/v1/payouts", json={"to": ADDR_A, "amount": "1"}, headers={"Idempotency-Key": "k"}
        ),
        await client.post(
            "/v1/payouts", json={"to": "bad", "amount": "x"}, headers={"Idempotency-Key": "j"}
        ),
        await client.get("/v1/payouts"),
        await client.get("/v1/audit"),
        await client.get("/boom"),
        await client.get("/openapi.json"),
        await client.get("/v1/payouts", headers={"Authorization": f"Bearer {token}x"}),
        await client.get("/ready"),
    ]
    boom_response = responses[4]
    assert boom_response.status_code == 500
    assert boom_response.json()["code"] == "internal_error"
    assert "leaky" not in boom_response.text
    captured = capsys.readouterr()
    haystacks = [r.text for r in responses]
    haystacks += [str(dict(r.headers)) for r in responses]
    haystacks += [captured.out, captured.err, caplog.text]
    for haystack in haystacks:
        assert secret not in haystack
        assert token not in haystack
        assert token.split(".")[2] not in haystack  # not even the signature
    assert "api.unhandled_exception" in captured.out + captured.err + caplog.text
