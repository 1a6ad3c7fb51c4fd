"""Test support: a tiny FastAPI app guarded by ``require_scopes`` (with the real app's error
handlers, so a challenge is checked as clients receive it), key material helpers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI

from tronpay.api.problems import install_problem_handlers
from tronpay.auth import AuthConfig, JWTVerifier, Principal, Scope
from tronpay.auth.dependencies import require_scopes

AUDIENCE = "tronpay-api"
ISSUER = "https://idp.example.test/"


@dataclass(frozen=True)
class Keys:
    secret: bytes
    secret_file: Path
    rsa_private: rsa.RSAPrivateKey
    rsa_public_pem: bytes
    rsa_public_file: Path
    ec_private: ec.EllipticCurvePrivateKey
    ec_public_file: Path
    jwks_rsa_private: rsa.RSAPrivateKey
    jwks_ec_private: ec.EllipticCurvePrivateKey
    jwks_file: Path


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


ReadPrincipal = Annotated[Principal, Depends(require_scopes(Scope.PAYOUTS_READ))]
ApprovePrincipal = Annotated[
    Principal, Depends(require_scopes(Scope.PAYOUTS_READ, Scope.PAYOUTS_APPROVE))
]


def build_app(verifier: JWTVerifier) -> FastAPI:
    app = FastAPI()
    app.state.jwt_verifier = verifier

    install_problem_handlers(app)

    @app.get("/read")
    async def read(principal: ReadPrincipal) -> dict[str, object]:
        return {"sub": principal.subject, "scopes": sorted(principal.scopes)}

    @app.post("/approve")
    async def approve(principal: ApprovePrincipal) -> dict[str, str]:
        return {"sub": principal.subject}

    return app


def verifier_for(keys: Keys, algorithms: list[str], **overrides: Any) -> JWTVerifier:
    config = AuthConfig(
        algorithms=algorithms,
        hs256_secret_file=keys.secret_file,
        public_key_file=keys.rsa_public_file,
        jwks_file=None,
        audience=AUDIENCE,
        issuer=ISSUER,
        leeway_s=5,
    )
    return JWTVerifier.from_config(replace(config, **overrides))
