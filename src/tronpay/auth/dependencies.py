"""FastAPI dependencies: ``require_scopes(*scopes)`` returns the verified ``Principal``.

The verifier comes from ``request.app.state.jwt_verifier`` (set by ``create_app``). The
principal is also stored on ``request.state.principal`` for logging and audit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tronpay.auth.errors import AuthMisconfigured, InsufficientScope, TokenMissing
from tronpay.auth.principal import Principal
from tronpay.auth.verifier import JWTVerifier

log = structlog.get_logger(__name__)

bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer", bearerFormat="JWT")


def get_verifier(request: Request) -> JWTVerifier:
    verifier = getattr(request.app.state, "jwt_verifier", None)
    if not isinstance(verifier, JWTVerifier):
        raise AuthMisconfigured("app.state.jwt_verifier is not set")
    return verifier


def require_scopes(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller and demands every scope in ``scopes``."""
    required = tuple(scopes)

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    ) -> Principal:
        if credentials is None:
            raise TokenMissing()
        principal = get_verifier(request).verify(credentials.credentials)
        missing = principal.missing(required)
        if missing:
            log.info("auth.scope.denied", subject=principal.subject, missing=missing)
            raise InsufficientScope(
                f"this operation needs the scope(s): {' '.join(missing)}",
                required_scopes=list(required),
            )
        request.state.principal = principal
        return principal

    return dependency
