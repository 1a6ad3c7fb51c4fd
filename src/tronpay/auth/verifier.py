"""Token verification with pinned algorithms.

The configured algorithm list is the only source of truth: the token header merely selects
one of them, and each algorithm family verifies only with its own key material (an HMAC
algorithm only ever with the configured secret, never with a public key), so ``none`` and
HS/RS confusion are rejected by construction.

The time claims (``iat``, ``nbf``, ``exp``) are checked here against an injectable clock
(``kit.clock``), after the signature, audience and issuer, so tests can move time instead
of sleeping.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric.ec import (
    SECP256R1,
    SECP384R1,
    SECP521R1,
    EllipticCurve,
    EllipticCurvePublicKey,
)
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from tronpay.auth.config import (
    EC_ALGORITHMS,
    HMAC_ALGORITHMS,
    RSA_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    AuthConfig,
)
from tronpay.auth.errors import (
    AuthMisconfigured,
    InvalidAudience,
    InvalidIssuer,
    InvalidToken,
    TokenExpired,
    TokenNotYetValid,
)
from tronpay.auth.keys import PublicKey, load_hs256_secret, load_public_key, read_jwks
from tronpay.auth.principal import Principal
from tronpay.auth.tenancy import is_tenant_name, tenant_from_claims
from tronpay.kit.clock import Clock, epoch_seconds

log = structlog.get_logger(__name__)

MAX_TOKEN_CHARS = 8192
# Verified tokens remembered (exact token text -> caller and expiry): a client sends the same
# bearer token on every request, and a signature check costs more than the rest of a create.
VERIFIED_CACHE_SIZE = 4096
MAX_LEEWAY_S = 600
REQUIRED_CLAIMS = ["exp", "iat", "sub"]
EC_CURVES: dict[str, type[EllipticCurve]] = {
    "ES256": SECP256R1,
    "ES384": SECP384R1,
    "ES512": SECP521R1,
}


@dataclass(frozen=True, slots=True)
class JWKSKey:
    """One signing key from a JWKS document."""

    kid: str | None
    alg: str | None
    key: PublicKey


class JWTVerifier:
    """Verifies bearer tokens and turns them into ``Principal`` objects."""

    def __init__(
        self,
        *,
        algorithms: list[str],
        hmac_secret: bytes | None = None,
        public_key: PublicKey | None = None,
        jwks: list[JWKSKey] | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        leeway_s: int = 30,
        tenant_claim: str | None = None,
        clock: Clock = epoch_seconds,
    ) -> None:
        if not algorithms:
            raise AuthMisconfigured("no JWT algorithms configured")
        unsupported = [alg for alg in algorithms if alg not in SUPPORTED_ALGORITHMS]
        if unsupported:
            raise AuthMisconfigured(f"unsupported JWT algorithms: {', '.join(unsupported)}")
        if any(alg in HMAC_ALGORITHMS for alg in algorithms) and hmac_secret is None:
            raise AuthMisconfigured("an HMAC algorithm is configured but no HS256 secret file")
        asymmetric = [alg for alg in algorithms if alg not in HMAC_ALGORITHMS]
        if asymmetric and public_key is None and not jwks:
            raise AuthMisconfigured(
                f"{', '.join(asymmetric)} configured but no public key or JWKS file"
            )
        if leeway_s < 0 or leeway_s > MAX_LEEWAY_S:
            raise AuthMisconfigured(f"JWT leeway must be between 0 and {MAX_LEEWAY_S} seconds")
        self._algorithms = frozenset(algorithms)
        self._hmac_secret = hmac_secret
        self._public_key = public_key
        self._jwks = list(jwks or [])
        self._audience = audience
        self._issuer = issuer
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._leeway = leeway_s
        if tenant_claim is not None and not is_tenant_name(tenant_claim):
            raise AuthMisconfigured("the tenant claim name must be a plain claim name")
        self._tenant_claim = tenant_claim
        self._clock = clock

    @classmethod
    def from_config(cls, config: AuthConfig) -> JWTVerifier:
        """Load the key files named in ``config`` and build a verifier (fails fast)."""
        secret = (
            load_hs256_secret(config.hs256_secret_file)
            if config.hs256_secret_file is not None
            else None
        )
        public_key = (
            load_public_key(config.public_key_file) if config.public_key_file is not None else None
        )
        jwks = parse_jwks(read_jwks(config.jwks_file)) if config.jwks_file is not None else None
        return cls(
            algorithms=list(config.algorithms),
            hmac_secret=secret,
            public_key=public_key,
            jwks=jwks,
            audience=config.audience,
            issuer=config.issuer,
            leeway_s=config.leeway_s,
            tenant_claim=config.tenant_claim,
        )

    @property
    def algorithms(self) -> frozenset[str]:
        return self._algorithms

    def verify(self, token: str) -> Principal:
        """Check signature and claims; return the caller or raise an ``InvalidToken``.

        A token that verified before is answered from a small cache until its ``exp`` (plus
        the leeway) passes; after that it goes through the full check again, which refuses it.
        """
        hit = self._verified.get(token)
        if hit is not None:
            principal, valid_until = hit
            if self._clock() < valid_until:  # the full check refuses from exp + leeway on
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, valid_until = self._verify(token)
        self._verified[token] = (principal, valid_until)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("the token is empty or too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("the token is malformed") from exc
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken("the token's algorithm is not accepted")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the token's key id is malformed")
        key = self._key_for(alg, kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_aud": self._audience is not None,
                    "verify_iss": self._issuer is not None,
                    # checked below against our clock
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_exp": False,
                },
            )
        except jwt.InvalidAudienceError as exc:
            raise InvalidAudience() from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidIssuer() from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"the token lacks the {exc.claim!r} claim") from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken("the token's signature or claims are not valid") from exc
        valid_until = self._check_times(claims)
        return principal_from_claims(claims, tenant_claim=self._tenant_claim), valid_until

    def _check_times(self, claims: Mapping[str, Any]) -> float:
        """Refuse a token issued or valid only in the future, or expired (each with the
        leeway); return the time until which it may be answered from the cache."""
        now = self._clock()
        if _whole_seconds(claims, "iat") > now + self._leeway:
            raise TokenNotYetValid()
        if "nbf" in claims and _whole_seconds(claims, "nbf") > now + self._leeway:
            raise TokenNotYetValid()
        expires = claims["exp"]
        if isinstance(expires, bool) or not isinstance(expires, int | float):
            raise InvalidToken("the token's exp claim is not a number")
        if _whole_seconds(claims, "exp") <= now - self._leeway:
            raise TokenExpired()
        return float(expires) + self._leeway

    def _key_for(self, alg: str, kid: str | None) -> bytes | PublicKey:
        if alg in HMAC_ALGORITHMS:
            if self._hmac_secret is None:  # pragma: no cover - excluded by __init__
                raise InvalidToken("the token's algorithm is not accepted")
            return self._hmac_secret
        candidates: list[PublicKey] = []
        if self._jwks:
            for entry in self._jwks:
                if kid is not None and entry.kid != kid:
                    continue
                if entry.alg is not None and entry.alg != alg:
                    continue
                if _key_fits(alg, entry.key):
                    candidates.append(entry.key)
            if kid is None and len(candidates) > 1:
                raise InvalidToken("the token names no key id and several keys could match")
        if not candidates and self._public_key is not None and _key_fits(alg, self._public_key):
            candidates.append(self._public_key)
        if not candidates:
            raise InvalidToken("no configured key matches the token")
        return candidates[0]


def _whole_seconds(claims: Mapping[str, Any], name: str) -> int:
    """A NumericDate claim as whole seconds (truncated, as the JWT library compares them)."""
    try:
        return int(claims[name])
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidToken(f"the token's {name} claim is not a number") from exc


def _key_fits(alg: str, key: PublicKey) -> bool:
    """Whether ``key`` is the right kind of key for ``alg`` (RSA for RS/PS, EC curve for ES)."""
    if alg in RSA_ALGORITHMS:
        return isinstance(key, RSAPublicKey)
    if alg in EC_ALGORITHMS:
        return isinstance(key, EllipticCurvePublicKey) and isinstance(key.curve, EC_CURVES[alg])
    return False


def parse_jwks(document: str) -> list[JWKSKey]:
    """Parse a JWKS document into signing keys; symmetric (``oct``) keys are refused."""
    try:
        data = json.loads(document)
    except json.JSONDecodeError as exc:
        raise AuthMisconfigured("the JWKS file is not JSON") from exc
    raw_keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(raw_keys, list) or not raw_keys:
        raise AuthMisconfigured("the JWKS file has no keys")
    keys: list[JWKSKey] = []
    for raw in raw_keys:
        if not isinstance(raw, dict):
            raise AuthMisconfigured("a JWKS entry is not an object")
        if raw.get("use", "sig") != "sig":
            continue
        if raw.get("kty") not in ("RSA", "EC"):
            raise AuthMisconfigured("JWKS keys must be RSA or EC public keys")
        try:
            jwk = jwt.PyJWK.from_dict(raw)
        except jwt.PyJWTError as exc:
            raise AuthMisconfigured(f"unusable JWKS key: {exc}") from exc
        public = jwk.key
        if not isinstance(public, RSAPublicKey | EllipticCurvePublicKey):
            raise AuthMisconfigured("JWKS keys must be public keys")
        kid = raw.get("kid")
        alg = raw.get("alg")
        keys.append(
            JWKSKey(
                kid=kid if isinstance(kid, str) else None,
                alg=alg if isinstance(alg, str) else None,
                key=public,
            )
        )
    if not keys:
        raise AuthMisconfigured("the JWKS file has no signing keys")
    return keys


def principal_from_claims(
    claims: Mapping[str, Any], *, tenant_claim: str | None = None
) -> Principal:
    """Subject from ``sub``; scopes from ``scope`` (space-separated) and/or ``scp`` (list);
    the tenant from ``tenant_claim`` (``default`` when no claim is configured)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidToken("the token's subject is empty")
    scopes: set[str] = set()
    scope = claims.get("scope")
    if scope is not None:
        if not isinstance(scope, str):
            raise InvalidToken("the scope claim must be a space-separated string")
        scopes.update(scope.split())
    scp = claims.get("scp")
    if scp is not None:
        if isinstance(scp, str):
            scopes.update(scp.split())
        elif isinstance(scp, list) and all(isinstance(item, str) for item in scp):
            scopes.update(scp)
        else:
            raise InvalidToken("the scp claim must be a list of strings")
    tenant = tenant_from_claims(claims, tenant_claim)
    return Principal(subject=subject, scopes=frozenset(scopes), tenant=tenant, home_tenant=tenant)
