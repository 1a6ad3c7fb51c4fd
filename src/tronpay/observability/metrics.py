"""Every Prometheus metric family tronpay exports, in the default registry.

The names are a stable contract (documented in docs/operations.md, used by
deploy/prometheus/alerts.yml and deploy/grafana/tronpay.json). Label values are bounded:
statuses, assets, stages, outcomes, rule codes, route templates and node hosts, never an id
or an address. Families without labels (and labelled ones with their known values
pre-created) appear in every scrape from the first one.

Gauges named ``tronpay_payouts*`` and ``tronpay_payout_oldest_seconds`` come from the
database at scrape time (``tronpay.observability.scrape``), so they are the same on every
replica; the counters and histograms count what this process did.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Final
from urllib.parse import urlsplit

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# No ``*_created`` series next to every counter and histogram: they double the series
# count and no alert or dashboard needs them.
disable_created_metrics()  # type: ignore[no-untyped-call]

ASSETS: Final = ("USDT", "TRX")
STATUSES: Final = (
    "pending_approval",
    "queued",
    "submitted",
    "confirmed",
    "finalized",
    "failed",
    "cancelled",
)
STAGES: Final = ("queued_to_submitted", "submitted_to_confirmed", "confirmed_to_finalized")
# The engine's block reasons (engine.fees.BlockReason), "policy" for a policy re-check that
# refused, "other" for anything else.
BLOCK_REASONS: Final = (
    "insufficient_trx",
    "insufficient_token",
    "fee_limit_cap",
    "hot_wallet_blacklisted",
    "energy_estimate_failed",
    "node_unavailable",
    "insufficient_energy",
    "fee_above_max",
    "policy",
    "other",
)
ATTEMPT_OUTCOMES: Final = ("signed", "success", "failed", "expired")
WEBHOOK_OUTCOMES: Final = ("delivered", "failed", "retrying")
_SECONDS_BUCKETS: Final = (1, 3, 6, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200)
_NODE_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# -- payouts ------------------------------------------------------------------------------------
PAYOUTS_CREATED = Counter(
    "tronpay_payouts_created", "Payouts created by this process (API and batches)", ["asset"]
)
PAYOUTS = Gauge(
    "tronpay_payouts", "Payouts by status and asset (from the database)", ["status", "asset"]
)
PAYOUTS_BLOCKED = Gauge(
    "tronpay_payouts_blocked", "Queued payouts held back, by reason (from the database)", ["reason"]
)
PAYOUT_OLDEST_SECONDS = Gauge(
    "tronpay_payout_oldest_seconds",
    "Age of the oldest payout in each open status, since its last change (from the database)",
    ["status"],
)
PAYOUT_STAGE_SECONDS = Histogram(
    "tronpay_payout_stage_seconds",
    "Time a payout spent in one stage of its way to finalized",
    ["stage"],
    buckets=_SECONDS_BUCKETS,
)
ATTEMPTS = Counter(
    "tronpay_attempts", "Signed transactions (attempts) by what became of them", ["outcome"]
)
FEES_BURNED_SUN = Counter(
    "tronpay_fees_burned_sun", "TRX burned for energy and bandwidth by included attempts, in sun"
)
ENERGY_USED = Counter(
    "tronpay_energy_used", "Energy used by included attempts, by where it came from", ["source"]
)
POLICY_REJECTIONS = Counter(
    "tronpay_policy_rejections", "Payouts the policy refused, by rule code", ["rule"]
)
RECONCILE_MISMATCHES = Counter(
    "tronpay_reconcile_mismatches",
    "Finalized payouts whose on-chain transfer did not match the database",
)

# -- the node -----------------------------------------------------------------------------------
NODE_REQUESTS = Counter(
    "tronpay_node_requests",
    "Requests to TRON nodes by outcome (ok, rejected, unavailable)",
    ["node", "endpoint", "outcome"],
)
NODE_REQUEST_SECONDS = Histogram(
    "tronpay_node_request_seconds",
    "Duration of requests to TRON nodes",
    ["node", "endpoint"],
    buckets=_NODE_BUCKETS,
)
NODE_HEAD_LAG = Gauge(
    "tronpay_node_head_lag_blocks", "Blocks each node's head is behind the best head", ["node"]
)

# -- the hot wallet -----------------------------------------------------------------------------
WALLET_BALANCE = Gauge(
    "tronpay_wallet_balance", "Hot wallet balance in whole units (TRX, USDT)", ["asset"]
)
WALLET_ENERGY = Gauge("tronpay_wallet_energy_available", "Hot wallet energy available now")
WALLET_BANDWIDTH = Gauge(
    "tronpay_wallet_bandwidth_available", "Hot wallet bandwidth available now (free + staked)"
)
WALLET_LOW_KINDS: Final = ("TRX", "USDT", "energy")
WALLET_LOW = Gauge(
    "tronpay_wallet_low",
    "1 while a wallet.low threshold is fired (the reading went below it), else 0",
    ["kind"],
)
for _kind in WALLET_LOW_KINDS:
    WALLET_LOW.labels(_kind).set(0)

# -- webhooks (recorded by the webhooks package) ------------------------------------------------
WEBHOOK_DELIVERIES = Counter(
    "tronpay_webhook_deliveries", "Webhook delivery attempts by outcome", ["outcome"]
)
WEBHOOK_QUEUE_DEPTH = Gauge(
    "tronpay_webhook_queue_depth", "Webhook deliveries waiting to be sent (from the database)"
)

# -- HTTP: tronpay_http_requests_total, tronpay_http_request_seconds (observability.http) -----

for _asset in ASSETS:
    PAYOUTS_CREATED.labels(_asset)
    for _status in STATUSES:
        PAYOUTS.labels(_status, _asset)
for _stage in STAGES:
    PAYOUT_STAGE_SECONDS.labels(_stage)
for _reason in BLOCK_REASONS:
    PAYOUTS_BLOCKED.labels(_reason)
for _outcome in ATTEMPT_OUTCOMES:
    ATTEMPTS.labels(_outcome)
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_DELIVERIES.labels(_outcome)
for _source in ("staked", "burned"):
    ENERGY_USED.labels(_source)

_CREATED_BY_ASSET: Final = {asset: PAYOUTS_CREATED.labels(asset) for asset in ASSETS}
_ATTEMPT_BY_OUTCOME: Final = {outcome: ATTEMPTS.labels(outcome) for outcome in ATTEMPT_OUTCOMES}
_STAGE_OF: Final = {
    ("queued", "submitted"): PAYOUT_STAGE_SECONDS.labels("queued_to_submitted"),
    ("submitted", "confirmed"): PAYOUT_STAGE_SECONDS.labels("submitted_to_confirmed"),
    ("confirmed", "finalized"): PAYOUT_STAGE_SECONDS.labels("confirmed_to_finalized"),
}
_ENERGY_STAKED: Final = ENERGY_USED.labels("staked")
_ENERGY_BURNED: Final = ENERGY_USED.labels("burned")
_BASE_UNITS: Final = Decimal(10**6)


def payouts_created(asset: str, count: int = 1) -> None:
    child = _CREATED_BY_ASSET.get(asset)
    if child is not None:
        child.inc(count)


def stage_transition(old: str, new: str, entered_at: datetime, now: datetime) -> None:
    """A payout moved ``old`` -> ``new``; ``entered_at`` is when it entered ``old``."""
    child = _STAGE_OF.get((old, new))
    if child is not None:
        child.observe(max(0.0, (now - entered_at).total_seconds()))


def attempts(outcome: str, count: int = 1) -> None:
    _ATTEMPT_BY_OUTCOME[outcome].inc(count)


def receipt(fee_sun: int, energy_total: int, energy_staked: int) -> None:
    """An included attempt's receipt: TRX burned and energy by source."""
    FEES_BURNED_SUN.inc(max(0, fee_sun))
    staked = min(max(0, energy_staked), max(0, energy_total))
    _ENERGY_STAKED.inc(staked)
    _ENERGY_BURNED.inc(max(0, energy_total - staked))


def block_reason_label(reason: str | None) -> str:
    """The bounded label of a stored ``blocked_reason``."""
    if reason is None:
        return "other"
    if reason.startswith("policy:"):
        return "policy"
    return reason if reason in BLOCK_REASONS else "other"


def wallet(*, trx_sun: int, token_units: int, energy: int, bandwidth: int) -> None:
    """The hot wallet's balances and resources as last read from the node."""
    WALLET_BALANCE.labels("TRX").set(float(Decimal(trx_sun) / _BASE_UNITS))
    WALLET_BALANCE.labels("USDT").set(float(Decimal(token_units) / _BASE_UNITS))
    WALLET_ENERGY.set(energy)
    WALLET_BANDWIDTH.set(bandwidth)


def node_label(url: str) -> str:
    """A node's label: its host and port only (never a path, query or credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or "unknown"
    return f"{host}:{parts.port}" if parts.port else host


NodeObserver = Callable[[str, str, str, float], None]

# Every request to a node is counted: the children of each (node URL, endpoint, outcome) are
# looked up once (``labels()`` takes a lock and builds a key) and the URL parsed once. The keys
# are bounded like the labels: configured node URLs, the client's endpoints, three outcomes.
_NODE_CHILDREN: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def node_request(url: str, endpoint: str, outcome: str, seconds: float) -> None:
    """A ``NodeObserver``: one request to the node at ``url``."""
    key = (url, endpoint, outcome)
    children = _NODE_CHILDREN.get(key)
    if children is None:
        node = node_label(url)
        children = _NODE_CHILDREN[key] = (
            NODE_REQUESTS.labels(node, endpoint, outcome),
            NODE_REQUEST_SECONDS.labels(node, endpoint),
        )
    requests, durations = children
    requests.inc()
    durations.observe(seconds)


def node_heads(heads: dict[str, int | None]) -> None:
    """Each node's head block number (``None``: it did not answer) -> lag behind the best."""
    known = [n for n in heads.values() if n is not None]
    best = max(known, default=0)
    for url, number in heads.items():
        if number is not None:
            NODE_HEAD_LAG.labels(node_label(url)).set(best - number)
