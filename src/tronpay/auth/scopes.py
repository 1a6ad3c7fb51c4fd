"""The scopes the API knows. A token carries them in ``scope`` (space-separated) or ``scp``."""

from __future__ import annotations

from typing import Final


class Scope:
    """Scope names (stable API contract)."""

    PAYOUTS_READ: Final = "payouts:read"
    PAYOUTS_WRITE: Final = "payouts:write"
    PAYOUTS_APPROVE: Final = "payouts:approve"
    WALLET_READ: Final = "wallet:read"
    WALLET_ADMIN: Final = "wallet:admin"
    WEBHOOKS_ADMIN: Final = "webhooks:admin"
    AUDIT_READ: Final = "audit:read"
    # Acting in a tenant other than the token's own (the X-Tenant header); every such
    # request is audited. Not part of "all" in `tronpay token`: ask for it by name.
    ADMIN: Final = "admin"
    METRICS_READ: Final = "metrics:read"


# The scopes of one tenant's clients (``tronpay token --scope all``).
ALL_SCOPES: Final[frozenset[str]] = frozenset(
    {
        Scope.PAYOUTS_READ,
        Scope.PAYOUTS_WRITE,
        Scope.PAYOUTS_APPROVE,
        Scope.WALLET_READ,
        Scope.WALLET_ADMIN,
        Scope.WEBHOOKS_ADMIN,
        Scope.AUDIT_READ,
        Scope.METRICS_READ,
    }
)

# Every scope a token may carry.
KNOWN_SCOPES: Final[frozenset[str]] = ALL_SCOPES | {Scope.ADMIN}
