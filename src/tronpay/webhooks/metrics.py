"""Prometheus metrics of webhook delivery (default registry, served by the app's /metrics).

The names are the ones the observability metrics module uses; when that module lands, these
two move there unchanged."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

WEBHOOK_DELIVERIES = Counter(
    "tronpay_webhook_deliveries_total",
    "Webhook delivery attempts by outcome",
    ["outcome"],  # delivered, retry, failed
)
WEBHOOK_QUEUE_DEPTH = Gauge(
    "tronpay_webhook_queue_depth", "Webhook deliveries waiting to be sent (pending)"
)
