"""The tenant every row belongs to when no tenant claim is configured, and the column size.

A deployment without ``TRONPAY_JWT_TENANT_CLAIM`` is one platform: every token, payout,
batch, idempotency key and audit entry is in the tenant ``default``; rows written before
tenants existed were moved there by the migration that introduced them.
"""

from __future__ import annotations

from typing import Final

DEFAULT_TENANT: Final = "default"
MAX_TENANT_CHARS: Final = 64
