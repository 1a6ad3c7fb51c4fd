"""Minting development tokens (``tronpay token``, tests). Production tokens come from an IdP."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from tronpay.auth.keys import check_hs256_secret
from tronpay.kit.clock import epoch_seconds


def mint_token(
    secret: bytes,
    *,
    sub: str,
    scopes: Iterable[str],
    ttl_s: int = 3600,
    audience: str | None = None,
    issuer: str | None = None,
    now: int | None = None,
    algorithm: str = "HS256",
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """An HMAC-signed JWT with ``sub``, ``scope``, ``iat``, ``nbf``, ``exp`` and ``jti``, plus
    ``extra_claims`` (e.g. the configured tenant claim)."""
    check_hs256_secret(secret)
    if not sub:
        raise ValueError("sub must not be empty")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    issued = int(epoch_seconds()) if now is None else now
    claims: dict[str, Any] = {
        "sub": sub,
        "scope": " ".join(sorted(set(scopes))),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_s,
        "jti": secrets.token_hex(12),
    }
    if extra_claims is not None:
        claims.update(extra_claims)
    if audience is not None:
        claims["aud"] = audience
    if issuer is not None:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm=algorithm)
