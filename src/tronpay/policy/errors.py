"""Policy violations: 422 with a stable ``policy_*`` code. Callers catch ``PolicyViolation``."""

from __future__ import annotations

from tronpay.errors import TronpayError


class PolicyViolation(TronpayError):
    code = "policy_violation"
    status = 422
    title = "The payout violates the payout policy"


class MaxPerPayoutExceeded(PolicyViolation):
    code = "policy_max_per_payout"
    title = "The amount is above the per-payout limit"


class DailyTotalExceeded(PolicyViolation):
    code = "policy_daily_total"
    title = "The rolling 24 h total for this asset would be exceeded"


class DailyDestinationExceeded(PolicyViolation):
    code = "policy_daily_destination"
    title = "The rolling 24 h total for this destination would be exceeded"


class DeniedDestination(PolicyViolation):
    code = "policy_denied_destination"
    title = "The destination is on the deny list"


class DestinationNotAllowed(PolicyViolation):
    code = "policy_not_allowed_destination"
    title = "The destination is not on the allow list"


class ReservationMissing(PolicyViolation):
    code = "policy_no_reservation"
    title = "The payout holds no active policy reservation"


class PolicyConfigError(TronpayError):
    code = "policy_config_invalid"
    status = 500
    title = "The policy configuration is not valid"
