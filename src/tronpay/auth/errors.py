"""Authentication and authorization errors.

401 errors carry ``headers`` with a ``WWW-Authenticate: Bearer ...`` challenge (RFC 6750):
``error="invalid_token"`` for a token that was sent and is not good, no error code when no
token was sent (section 3.1). The app's renderer copies ``headers`` onto the response.
"""

from __future__ import annotations

from typing import Any

from tronpay.errors import AuthenticationRequired, Forbidden, TronpayError, ValidationFailed


class _Challenge(AuthenticationRequired):
    """A 401 with a Bearer challenge header."""

    bearer_error: str | None = "invalid_token"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        challenge = 'Bearer realm="tronpay"'
        if self.bearer_error is not None:
            challenge += f', error="{self.bearer_error}"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge}, **extra)


BEARER_USAGE = "use: Authorization: Bearer <token>"


class TokenMissing(_Challenge):
    """No ``Authorization: Bearer`` header (RFC 6750: no error code in the challenge). The
    detail says how to send one, and when a header was sent without the ``Bearer `` scheme,
    says so."""

    code = "missing_token"
    title = "A bearer token is required"
    bearer_error = None

    @classmethod
    def for_header(cls, authorization: str | None) -> TokenMissing:
        if not authorization or not authorization.strip():
            return cls(f"no Authorization header; {BEARER_USAGE}")
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":  # the scheme and nothing after it
            return cls(f"the Authorization header carries no token; {BEARER_USAGE}")
        if rest.strip():
            return cls(f"the Authorization scheme must be Bearer; {BEARER_USAGE}")
        return cls(f"the Authorization header lacks the Bearer prefix; {BEARER_USAGE}")


class InvalidToken(_Challenge):
    """Malformed token, bad signature, algorithm not allowed, unknown key, bad claims."""

    code = "invalid_token"
    title = "The bearer token is not valid"


class TokenExpired(InvalidToken):
    code = "token_expired"
    title = "The bearer token has expired"


class TokenNotYetValid(InvalidToken):
    code = "token_not_yet_valid"
    title = "The bearer token is not valid yet"


class InvalidAudience(InvalidToken):
    code = "invalid_audience"
    title = "The bearer token is meant for another audience"


class InvalidIssuer(InvalidToken):
    code = "invalid_issuer"
    title = "The bearer token comes from an unexpected issuer"


class InsufficientScope(Forbidden):
    """The token is valid but lacks a scope the endpoint needs."""

    code = "insufficient_scope"
    title = "The bearer token lacks a required scope"


class AuthMisconfigured(TronpayError):
    """Verification keys or algorithms are configured wrongly (refuse to start)."""

    code = "auth_misconfigured"
    status = 500
    title = "Authentication is not configured correctly"


class InvalidTenantClaim(InvalidToken):
    """The configured tenant claim is missing from the token or not a short safe name."""

    code = "invalid_tenant_claim"
    title = "The bearer token names no usable tenant"


class TenantForbidden(Forbidden):
    """``X-Tenant`` names another tenant and the token lacks the ``admin`` scope."""

    code = "tenant_forbidden"
    title = "Acting in another tenant needs the admin scope"


class InvalidTenantHeader(ValidationFailed):
    """``X-Tenant`` is not a tenant name."""

    code = "invalid_tenant_header"
    title = "The X-Tenant header is not a tenant name"
