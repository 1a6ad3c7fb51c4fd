"""Who is calling: the verified subject of a token, its scopes and its tenant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tronpay.kit.tenants import DEFAULT_TENANT


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``subject`` is the token's ``sub`` claim.

    ``home_tenant`` is the tenant the token belongs to (its configured tenant claim, or
    ``default`` when no claim is configured); ``tenant`` is the tenant the request acts in:
    the home tenant, unless an ``admin`` token names another one (``X-Tenant``).
    """

    subject: str
    scopes: frozenset[str]
    tenant: str = DEFAULT_TENANT
    home_tenant: str = DEFAULT_TENANT

    @property
    def crossing(self) -> bool:
        """True when the request acts in a tenant other than the token's own."""
        return self.tenant != self.home_tenant

    def has(self, *scopes: str) -> bool:
        """True when every given scope is granted."""
        return all(scope in self.scopes for scope in scopes)

    def missing(self, scopes: Iterable[str]) -> list[str]:
        """The given scopes that are not granted, in the order given."""
        return [scope for scope in scopes if scope not in self.scopes]
