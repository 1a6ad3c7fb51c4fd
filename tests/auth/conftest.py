"""Fixtures: key material for every algorithm and clients for the tiny guarded app."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tronpay.auth import JWTVerifier

from .support import Keys, build_app, public_pem


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    root = tmp_path_factory.mktemp("keys")
    secret = secrets.token_hex(32).encode()
    secret_file = root / "hs256.secret"
    secret_file.write_bytes(secret + b"\n")
    secret_file.chmod(0o600)
    rsa_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_public_file = root / "rsa.pub.pem"
    rsa_public_file.write_bytes(public_pem(rsa_private))
    ec_private = ec.generate_private_key(ec.SECP256R1())
    ec_public_file = root / "ec.pub.pem"
    ec_public_file.write_bytes(public_pem(ec_private))
    jwks_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_ec = ec.generate_private_key(ec.SECP256R1())
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(jwks_rsa.public_key()))
    rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(jwks_ec.public_key()))
    ec_jwk.update(kid="ec-1", use="sig")
    jwks_file = root / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [rsa_jwk, ec_jwk]}))
    return Keys(
        secret=secret,
        secret_file=secret_file,
        rsa_private=rsa_private,
        rsa_public_pem=public_pem(rsa_private),
        rsa_public_file=rsa_public_file,
        ec_private=ec_private,
        ec_public_file=ec_public_file,
        jwks_rsa_private=jwks_rsa,
        jwks_ec_private=jwks_ec,
        jwks_file=jwks_file,
    )


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[[JWTVerifier], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(verifier: JWTVerifier) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(verifier)), base_url="http://test"
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
