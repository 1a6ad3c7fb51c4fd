"""Payout policy: limits, allow/deny lists, approval thresholds.

Public names: ``PolicyConfig``, ``AssetLimits``, ``load_policy``, ``PolicyService``,
``PolicyDecision``, ``ReservationRequest``, ``PolicyViolation`` and its subclasses.
"""

from tronpay.policy.config import AssetLimits, PolicyConfig, load_policy
from tronpay.policy.errors import (
    DailyDestinationExceeded,
    DailyTotalExceeded,
    DeniedDestination,
    DestinationNotAllowed,
    MaxPerPayoutExceeded,
    PolicyConfigError,
    PolicyViolation,
    ReservationMissing,
)
from tronpay.policy.rules import PolicyDecision, ReservationRequest
from tronpay.policy.service import PolicyService

__all__ = [
    "AssetLimits",
    "DailyDestinationExceeded",
    "DailyTotalExceeded",
    "DeniedDestination",
    "DestinationNotAllowed",
    "MaxPerPayoutExceeded",
    "PolicyConfig",
    "PolicyConfigError",
    "PolicyDecision",
    "PolicyService",
    "PolicyViolation",
    "ReservationMissing",
    "ReservationRequest",
    "load_policy",
]
