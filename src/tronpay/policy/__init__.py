"""Payout policy: limits, allow/deny lists, approval thresholds."""
