"""FastAPI dependencies: ``require_scopes(*scopes)`` returns the verified ``Principal``.

The verifier comes from ``request.app.state.jwt_verifier`` (set by ``create_app``). The
principal is also stored on ``request.state.principal`` for logging and audit.

The principal acts in its token's tenant, or in the one the ``X-Tenant`` header names when
the token has the ``admin`` scope (``tronpay.auth.tenancy``). Such a crossing is recorded in
the audit log (``tenant.cross``, in the tenant acted in) in its own transaction before the
endpoint runs, whatever the endpoint then answers. Endpoints list the principal before any
write session, so that transaction never waits behind the request's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tronpay.audit.service import record as audit_record
from tronpay.auth.errors import AuthMisconfigured, InsufficientScope, TokenMissing
from tronpay.auth.principal import Principal
from tronpay.auth.tenancy import TENANT_HEADER, acting_as
from tronpay.auth.verifier import JWTVerifier
from tronpay.db.session import sessionmaker_of, write_transaction

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
        tenant: Annotated[
            str | None,
            Header(
                alias=TENANT_HEADER,
                max_length=200,
                description="the tenant to act in; another tenant than the token's own "
                "needs the admin scope (and is audited)",
            ),
        ] = None,
    ) -> Principal:
        if credentials is None:
            raise TokenMissing.for_header(request.headers.get("authorization"))
        principal = acting_as(get_verifier(request).verify(credentials.credentials), tenant)
        missing = principal.missing(required)
        if missing:
            log.info("auth.scope.denied", subject=principal.subject, missing=missing)
            raise InsufficientScope(
                f"this operation needs the scope(s): {' '.join(missing)}",
                required_scopes=list(required),
            )
        if principal.crossing:
            await _record_crossing(request, principal)
        request.state.principal = principal
        return principal

    return dependency


async def _record_crossing(request: Request, principal: Principal) -> None:
    """Audit an admin acting in another tenant (committed before the endpoint runs)."""
    request_id = getattr(request.state, "request_id", None)
    async with write_transaction(sessionmaker_of(request)) as session:
        await audit_record(
            session,
            action="tenant.cross",
            principal=principal.subject,
            request_id=request_id if isinstance(request_id, str) else None,
            entity_type="tenant",
            entity_id=principal.tenant,
            before=None,
            after={
                "home_tenant": principal.home_tenant,
                "method": request.method,
                "path": request.url.path,
            },
            tenant=principal.tenant,
        )
    log.info(
        "auth.tenant.crossed",
        subject=principal.subject,
        home_tenant=principal.home_tenant,
        tenant=principal.tenant,
    )
