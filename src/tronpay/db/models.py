"""Imports every model module so ``Base.metadata`` knows every table (for create_all,
Alembic autogenerate and the migration test)."""

from __future__ import annotations

from tronpay.audit import models as audit_models
from tronpay.db.base import Base
from tronpay.policy import models as policy_models

__all__ = ["Base", "audit_models", "policy_models"]
