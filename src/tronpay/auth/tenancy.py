"""Tenants: which tenant a token belongs to, and which one a request acts in.

A tenant is one client platform of the service. With ``TRONPAY_JWT_TENANT_CLAIM`` set, a
token's tenant is the value of that claim, which must be a short safe name (letters, digits,
``.``, ``_`` and ``-``, starting with a letter or digit, at most 64 characters); a token
without it is refused (``invalid_tenant_claim``). Unset, every token belongs to the one
tenant ``default``: a single-platform deployment.

A request acts in its token's tenant. A token with the ``admin`` scope may name another one
in the ``X-Tenant`` header; without that scope, naming another tenant is refused
(``tenant_forbidden``). Naming one's own tenant is always allowed and changes nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Final

import structlog

from tronpay.auth.errors import InvalidTenantClaim, InvalidTenantHeader, TenantForbidden
from tronpay.auth.principal import Principal
from tronpay.auth.scopes import Scope
from tronpay.kit.tenants import DEFAULT_TENANT, MAX_TENANT_CHARS

log = structlog.get_logger(__name__)

TENANT_HEADER: Final = "X-Tenant"
_TENANT_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def is_tenant_name(value: object) -> bool:
    """Whether ``value`` is a usable tenant name (see the module docstring)."""
    return isinstance(value, str) and _TENANT_RE.fullmatch(value) is not None


def tenant_from_claims(claims: Mapping[str, Any], claim: str | None) -> str:
    """The token's tenant: the value of ``claim``, or ``default`` when no claim is configured."""
    if claim is None:
        return DEFAULT_TENANT
    value = claims.get(claim)
    if value is None:
        raise InvalidTenantClaim(f"the token lacks the {claim!r} claim that names its tenant")
    if not is_tenant_name(value):
        raise InvalidTenantClaim(
            f"the token's {claim!r} claim must be 1-{MAX_TENANT_CHARS} letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    tenant: str = value
    return tenant


def acting_as(principal: Principal, requested: str | None) -> Principal:
    """The principal acting in the tenant named by ``X-Tenant`` (``None``: its own)."""
    if requested is None or requested == principal.home_tenant:
        return principal
    if not is_tenant_name(requested):
        raise InvalidTenantHeader(
            f"{TENANT_HEADER} must be 1-{MAX_TENANT_CHARS} letters, digits, '.', '_' or '-'"
        )
    if not principal.has(Scope.ADMIN):
        log.warning(
            "auth.tenant.denied",
            subject=principal.subject,
            home_tenant=principal.home_tenant,
            tenant=requested,
        )
        raise TenantForbidden(
            f"this token belongs to another tenant; acting in {requested!r} needs the "
            f"{Scope.ADMIN!r} scope"
        )
    return dataclasses.replace(principal, tenant=requested)
