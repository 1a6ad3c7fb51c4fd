"""Prometheus metrics of the payout engine, in the default registry: served with every other
family (``tronpay.observability.metrics``) by the API's ``GET /metrics`` and by the worker's
``TRONPAY_METRICS_PORT`` listener; documented in docs/operations.md."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PAYOUT_EVENTS = Counter(
    "tronpay_engine_payout_events_total",
    "Payout state changes and decisions made by the engine",
    ["event"],  # submitted, confirmed, finalized, failed, requeued, expired, blocked
)
BROADCASTS = Counter(
    "tronpay_engine_broadcasts_total",
    "Broadcast outcomes by kind",
    ["kind"],  # accepted, known, dead, hold, unknown, bug
)
STEP_ERRORS = Counter(
    "tronpay_engine_step_errors_total", "Engine steps that failed and will be retried", ["step"]
)
LIVE_ATTEMPTS = Gauge(
    "tronpay_engine_live_attempts", "Signed attempts not yet included or proven dead"
)
FOLLOWER_CURSOR = Gauge("tronpay_engine_follower_block", "Last block the follower processed")
