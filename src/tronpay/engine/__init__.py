"""The payout engine: claim, plan, sign, broadcast, follow, sweep, reconcile."""
