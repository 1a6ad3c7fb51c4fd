"""Verification configuration: pinned algorithms, key files, expected audience and issuer."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tronpay.auth.errors import AuthMisconfigured

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = frozenset({"ES256", "ES384", "ES512"})
SUPPORTED_ALGORITHMS = HMAC_ALGORITHMS | RSA_ALGORITHMS | EC_ALGORITHMS


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """What ``JWTVerifier.from_config`` needs.

    ``algorithms`` is the pinned allow-list; the token header only selects among them.
    HMAC algorithms need ``hs256_secret_file``; RSA/EC ones need ``public_key_file`` or
    ``jwks_file``. ``tenant_claim`` names the claim that carries a token's tenant (``None``:
    every token belongs to the one tenant ``default``).
    """

    algorithms: list[str] = field(default_factory=lambda: ["HS256"])
    hs256_secret_file: Path | None = None
    public_key_file: Path | None = None
    jwks_file: Path | None = None
    audience: str | None = None
    issuer: str | None = None
    leeway_s: int = 30
    tenant_claim: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthConfig:
        """Build from ``TRONPAY_JWT_*`` variables (docs/configuration.md).

        Without ``TRONPAY_JWT_ALGORITHMS`` the algorithms follow the configured keys:
        a secret file gives HS256, a public key or JWKS file gives RS256 and ES256.
        """
        env = os.environ if environ is None else environ

        def path(name: str) -> Path | None:
            value = env.get(name, "").strip()
            return Path(value) if value else None

        secret = path("TRONPAY_JWT_HS256_SECRET_FILE")
        public_key = path("TRONPAY_JWT_PUBLIC_KEY_FILE")
        jwks = path("TRONPAY_JWT_JWKS_FILE")
        raw_algorithms = env.get("TRONPAY_JWT_ALGORITHMS", "").replace(",", " ").split()
        algorithms = raw_algorithms or default_algorithms(
            hs256=secret is not None, asymmetric=public_key is not None or jwks is not None
        )
        leeway_text = env.get("TRONPAY_JWT_LEEWAY_S", "30").strip() or "30"
        try:
            leeway = int(leeway_text)
        except ValueError as exc:
            raise AuthMisconfigured("TRONPAY_JWT_LEEWAY_S must be an integer") from exc
        return cls(
            algorithms=algorithms,
            hs256_secret_file=secret,
            public_key_file=public_key,
            jwks_file=jwks,
            audience=env.get("TRONPAY_JWT_AUDIENCE", "").strip() or None,
            issuer=env.get("TRONPAY_JWT_ISSUER", "").strip() or None,
            leeway_s=leeway,
            tenant_claim=env.get("TRONPAY_JWT_TENANT_CLAIM", "").strip() or None,
        )


def default_algorithms(*, hs256: bool, asymmetric: bool) -> list[str]:
    """The algorithms implied by the configured keys."""
    algorithms: list[str] = []
    if hs256:
        algorithms.append("HS256")
    if asymmetric:
        algorithms.extend(["RS256", "ES256"])
    return algorithms
