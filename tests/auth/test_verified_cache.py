"""The verifier remembers tokens it verified, but never past their expiry, and the cache
never lets a different (tampered) token through."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from tronpay.auth import InvalidToken, JWTVerifier, TokenExpired, TokenNotYetValid, mint_token


@dataclass
class ManualClock:
    """Seconds since the epoch that only move when a test moves them."""

    now: float

    def __call__(self) -> float:
        return self.now


def _verifier(secret: bytes, clock: ManualClock | None = None) -> JWTVerifier:
    if clock is None:
        return JWTVerifier(algorithms=["HS256"], hmac_secret=secret, leeway_s=0)
    return JWTVerifier(algorithms=["HS256"], hmac_secret=secret, leeway_s=0, clock=clock)


def test_a_cached_token_still_expires() -> None:
    secret = secrets.token_bytes(32)
    clock = ManualClock(now=1_800_000_000.0)
    verifier = _verifier(secret, clock)
    token = mint_token(secret, sub="alice", scopes=["payouts:read"], ttl_s=1, now=int(clock.now))
    assert verifier.verify(token).subject == "alice"
    assert verifier.verify(token).subject == "alice"  # from the cache
    clock.now += 0.5
    assert verifier.verify(token).subject == "alice"  # still within its second
    clock.now += 0.5  # exp reached: refused, from the cache as from the full check
    with pytest.raises(TokenExpired):
        verifier.verify(token)
    with pytest.raises(TokenExpired):
        verifier.verify(token)


def test_the_clock_decides_not_before_and_expiry_with_the_leeway() -> None:
    secret = secrets.token_bytes(32)
    clock = ManualClock(now=1_800_000_000.0)
    verifier = JWTVerifier(algorithms=["HS256"], hmac_secret=secret, leeway_s=30, clock=clock)
    token = mint_token(secret, sub="bob", scopes=["payouts:read"], ttl_s=60, now=int(clock.now))
    clock.now -= 31  # issued 31 s in the future: more than the leeway
    with pytest.raises(TokenNotYetValid):
        verifier.verify(token)
    clock.now += 1  # 30 s early: within the leeway
    assert verifier.verify(token).subject == "bob"
    clock.now += 30 + 60 + 30 - 1  # one second before exp + leeway
    assert verifier.verify(token).subject == "bob"
    clock.now += 1
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
