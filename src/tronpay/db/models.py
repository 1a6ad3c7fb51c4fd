"""Imports every model module so ``Base.metadata`` knows every table (for create_all,
Alembic autogenerate and the migration test)."""

from __future__ import annotations

from tronpay.api import models as api_models
from tronpay.audit import models as audit_models
from tronpay.batches import models as batch_models
from tronpay.db.base import Base
from tronpay.payouts import models as payout_models
from tronpay.policy import models as policy_models
from tronpay.wallet import models as wallet_models
from tronpay.webhooks import models as webhook_models

__all__ = [
    "Base",
    "api_models",
    "audit_models",
    "batch_models",
    "payout_models",
    "policy_models",
    "wallet_models",
    "webhook_models",
]
