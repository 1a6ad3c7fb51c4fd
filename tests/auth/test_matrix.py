"""Authorization matrix through a FastAPI app using ``require_scopes`` over ASGITransport."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from tronpay.auth import JWTVerifier, Scope, mint_token

from .support import AUDIENCE, ISSUER, Keys, verifier_for

Client = Callable[[JWTVerifier], httpx.AsyncClient]


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "alice",
        "scope": "payouts:read payouts:write",
        "iat": now,
        "exp": now + 300,
        "aud": AUDIENCE,
        "iss": ISSUER,
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def hs(keys: Keys, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), keys.secret, algorithm="HS256")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any], alg: str = "none") -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}."


def hs_with_public_key_as_secret(keys: Keys) -> str:
    """The classic HS/RS confusion token: HMAC keyed with the RSA public key PEM."""
    import hashlib
    import hmac

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims()).encode())
    signing_input = f"{header}.{body}".encode()
    signature = hmac.new(keys.rsa_public_pem, signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


def assert_problem(
    response: httpx.Response, status: int, code: str, *, challenge: bool = True
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    if challenge:
        assert response.headers["www-authenticate"].startswith("Bearer")


async def get(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return await client.get("/read", headers=headers)


# --- rejections -------------------------------------------------------------------------


async def test_no_token(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    response = await get(client, None)
    assert_problem(response, 401, "missing_token")
    assert "error=" not in response.headers["www-authenticate"]


async def test_basic_scheme_is_not_a_bearer_token(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    response = await client.get("/read", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert_problem(response, 401, "missing_token")


@pytest.mark.parametrize(
    "token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30", "x" * 9000, "...."]
)
async def test_malformed(keys: Keys, client_for: Client, token: str) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    response = await get(client, token)
    assert_problem(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_expired(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    now = int(time.time())
    token = hs(keys, iat=now - 600, exp=now - 60)
    assert_problem(await get(client, token), 401, "token_expired")


async def test_expired_within_leeway_is_accepted(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    now = int(time.time())
    response = await get(client, hs(keys, iat=now - 600, exp=now - 2))
    assert response.status_code == 200


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_not_yet_valid(keys: Keys, client_for: Client, claim: str) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    now = int(time.time())
    token = hs(keys, **{claim: now + 600, "exp": now + 1200})
    assert_problem(await get(client, token), 401, "token_not_yet_valid")


async def test_wrong_signature(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    token = jwt.encode(claims(), b"another-secret-that-is-long-enough!!", algorithm="HS256")
    assert_problem(await get(client, token), 401, "invalid_token")


async def test_tampered_payload(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    header, _, signature = hs(keys).split(".")
    forged = b64(json.dumps(claims(scope="payouts:read payouts:approve")).encode())
    assert_problem(await get(client, f"{header}.{forged}.{signature}"), 401, "invalid_token")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none(keys: Keys, client_for: Client, alg: str) -> None:
    client = client_for(verifier_for(keys, ["HS256", "RS256"]))
    assert_problem(await get(client, unsigned(claims(), alg)), 401, "invalid_token")


async def test_algorithm_not_pinned(keys: Keys, client_for: Client) -> None:
    """An RS256 token with a valid signature is refused when only HS256 is configured."""
    client = client_for(verifier_for(keys, ["HS256"]))
    token = jwt.encode(claims(), keys.rsa_private, algorithm="RS256")
    assert_problem(await get(client, token), 401, "invalid_token")


@pytest.mark.parametrize("algorithms", [["RS256"], ["RS256", "HS256"]])
async def test_hs_rs_confusion(keys: Keys, client_for: Client, algorithms: list[str]) -> None:
    client = client_for(verifier_for(keys, algorithms))
    assert_problem(await get(client, hs_with_public_key_as_secret(keys)), 401, "invalid_token")


async def test_hs512_not_configured(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    token = jwt.encode(claims(), keys.secret * 2, algorithm="HS512")
    assert_problem(await get(client, token), 401, "invalid_token")


async def test_wrong_audience(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    assert_problem(await get(client, hs(keys, aud="someone-else")), 401, "invalid_audience")


async def test_missing_audience(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    assert_problem(await get(client, hs(keys, aud=None)), 401, "invalid_token")


async def test_wrong_issuer(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    assert_problem(await get(client, hs(keys, iss="https://evil.test/")), 401, "invalid_issuer")


@pytest.mark.parametrize("claim", ["exp", "iat", "sub"])
async def test_required_claims(keys: Keys, client_for: Client, claim: str) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    assert_problem(await get(client, hs(keys, **{claim: None})), 401, "invalid_token")


@pytest.mark.parametrize(
    "overrides",
    [{"sub": ""}, {"sub": 42}, {"scope": ["payouts:read"]}, {"scp": "x", "scope": 7}],
)
async def test_bad_claim_types(keys: Keys, client_for: Client, overrides: dict[str, Any]) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    assert_problem(await get(client, hs(keys, **overrides)), 401, "invalid_token")


async def test_missing_scope(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    response = await get(client, hs(keys, scope="payouts:write"))
    assert_problem(response, 403, "insufficient_scope", challenge=False)
    assert response.json()["required_scopes"] == ["payouts:read"]


async def test_one_of_two_scopes_is_not_enough(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    token = hs(keys, scope="payouts:read")
    response = await client.post("/approve", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 403, "insufficient_scope", challenge=False)
    response = await client.post(
        "/approve",
        headers={"Authorization": f"Bearer {hs(keys, scope='payouts:read payouts:approve')}"},
    )
    assert response.status_code == 200


async def test_jwks_unknown_kid(keys: Keys, client_for: Client) -> None:
    client = client_for(
        verifier_for(keys, ["RS256"], public_key_file=None, jwks_file=keys.jwks_file)
    )
    token = jwt.encode(claims(), keys.jwks_rsa_private, algorithm="RS256", headers={"kid": "nope"})
    assert_problem(await get(client, token), 401, "invalid_token")


async def test_jwks_key_of_another_kid(keys: Keys, client_for: Client) -> None:
    """Signed by the RSA key but naming the EC key's kid: no key fits."""
    client = client_for(
        verifier_for(keys, ["RS256", "ES256"], public_key_file=None, jwks_file=keys.jwks_file)
    )
    token = jwt.encode(claims(), keys.jwks_rsa_private, algorithm="RS256", headers={"kid": "ec-1"})
    assert_problem(await get(client, token), 401, "invalid_token")


async def test_es256_signed_by_other_key(keys: Keys, client_for: Client) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    client = client_for(verifier_for(keys, ["ES256"], public_key_file=keys.ec_public_file))
    other = ec.generate_private_key(ec.SECP256R1())
    assert_problem(
        await get(client, jwt.encode(claims(), other, algorithm="ES256")), 401, "invalid_token"
    )


# --- acceptances ------------------------------------------------------------------------


async def test_valid_hs256(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    response = await get(client, hs(keys))
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "scopes": ["payouts:read", "payouts:write"]}


async def test_valid_minted_token(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"]))
    token = mint_token(
        keys.secret,
        sub="ops",
        scopes=[Scope.PAYOUTS_READ],
        ttl_s=60,
        audience=AUDIENCE,
        issuer=ISSUER,
    )
    response = await get(client, token)
    assert response.status_code == 200
    assert response.json()["sub"] == "ops"


async def test_valid_rs256(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["RS256"]))
    token = jwt.encode(
        claims(scope=None, scp=["payouts:read"]), keys.rsa_private, algorithm="RS256"
    )
    response = await get(client, token)
    assert response.status_code == 200
    assert response.json()["scopes"] == ["payouts:read"]


async def test_valid_es256(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["ES256"], public_key_file=keys.ec_public_file))
    response = await get(client, jwt.encode(claims(), keys.ec_private, algorithm="ES256"))
    assert response.status_code == 200


@pytest.mark.parametrize(("kid", "alg"), [("rsa-1", "RS256"), ("ec-1", "ES256")])
async def test_valid_jwks(keys: Keys, client_for: Client, kid: str, alg: str) -> None:
    client = client_for(
        verifier_for(keys, ["RS256", "ES256"], public_key_file=None, jwks_file=keys.jwks_file)
    )
    private = keys.jwks_rsa_private if alg == "RS256" else keys.jwks_ec_private
    token = jwt.encode(claims(), private, algorithm=alg, headers={"kid": kid})
    response = await get(client, token)
    assert response.status_code == 200, response.text


async def test_no_audience_or_issuer_configured(keys: Keys, client_for: Client) -> None:
    client = client_for(verifier_for(keys, ["HS256"], audience=None, issuer=None))
    assert (await get(client, hs(keys, aud=None, iss=None))).status_code == 200
