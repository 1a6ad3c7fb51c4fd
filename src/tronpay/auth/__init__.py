"""JWT authentication: verification with pinned algorithms, scopes and principals.

Public names: ``Principal``, ``Scope``, ``AuthConfig``, ``JWTVerifier``, ``mint_token`` and the
FastAPI dependency factory ``tronpay.auth.dependencies.require_scopes``.
"""

from tronpay.auth.config import AuthConfig
from tronpay.auth.errors import (
    AuthMisconfigured,
    InsufficientScope,
    InvalidAudience,
    InvalidIssuer,
    InvalidToken,
    TokenExpired,
    TokenMissing,
    TokenNotYetValid,
)
from tronpay.auth.principal import Principal
from tronpay.auth.scopes import ALL_SCOPES, Scope
from tronpay.auth.tokens import mint_token
from tronpay.auth.verifier import JWTVerifier

__all__ = [
    "ALL_SCOPES",
    "AuthConfig",
    "AuthMisconfigured",
    "InsufficientScope",
    "InvalidAudience",
    "InvalidIssuer",
    "InvalidToken",
    "JWTVerifier",
    "Principal",
    "Scope",
    "TokenExpired",
    "TokenMissing",
    "TokenNotYetValid",
    "mint_token",
]
