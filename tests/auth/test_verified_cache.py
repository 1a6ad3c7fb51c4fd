"""The verifier remembers tokens it verified, but never past their expiry, and the cache
never lets a different (tampered) token through."""

from __future__ import annotations

import secrets
import time

import pytest

from tronpay.auth import InvalidToken, JWTVerifier, TokenExpired, mint_token


def _verifier(secret: bytes) -> JWTVerifier:
    return JWTVerifier(algorithms=["HS256"], hmac_secret=secret, leeway_s=0)


def test_a_cached_token_still_expires() -> None:
    secret = secrets.token_bytes(32)
    verifier = _verifier(secret)
    token = mint_token(secret, sub="alice", scopes=["payouts:read"], ttl_s=1)
    assert verifier.verify(token).subject == "alice"
    assert verifier.verify(token).subject == "alice"  # from the cache
    time.sleep(2.1)
    with pytest.raises(TokenExpired):
        verifier.verify(token)


def test_a_tampered_token_is_checked_in_full() -> None:
    secret = secrets.token_bytes(32)
    verifier = _verifier(secret)
    token = mint_token(secret, sub="alice", scopes=["payouts:read"], ttl_s=600)
    verifier.verify(token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(InvalidToken):
        verifier.verify(forged)
    other = mint_token(secrets.token_bytes(32), sub="alice", scopes=["payouts:read"], ttl_s=600)
    with pytest.raises(InvalidToken):
        verifier.verify(other)
