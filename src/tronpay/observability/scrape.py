"""Serving the metrics: the database-derived gauges, the exposition, the worker's listener.

``DatabaseGauges.refresh`` runs three small grouped queries (payouts by status and asset,
blocked reasons, the oldest open payout per status), the webhook backlog count and the
fired ``wallet.low`` thresholds, at most
once per ``refresh_s`` however often Prometheus scrapes (every replica reports the same
numbers: they come from the shared database); and, at most once per ``chain_refresh_s``,
every node's head and the hot wallet's balances.

``MetricsListener`` is the small HTTP/1.1 server of ``TRONPAY_METRICS_PORT``: ``GET
/metrics`` (and ``/health``) and nothing else, one request per connection.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import structlog
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tronpay.db.session import read_transaction
from tronpay.observability import metrics
from tronpay.payouts.models import Payout
from tronpay.tron.node import NodeClient
from tronpay.wallet.low import fired_kinds, set_gauge
from tronpay.webhooks.models import OutboxEvent, WebhookDelivery
from tronpay.webhooks.repository import DeliveryStatus

log = structlog.get_logger(__name__)

OPEN_STATUSES: Final = ("pending_approval", "queued", "submitted", "confirmed")
_MAX_REQUEST_BYTES: Final = 8192
_READ_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class _Answer:
    status: str
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Backlog:
    """Webhook events not delivered yet, and the age of the oldest."""

    count: int
    oldest_s: float


async def webhook_backlog(session: AsyncSession, now: datetime) -> Backlog:
    """Webhook work waiting: deliveries not yet sent (pending, retries included) plus outbox
    events the webhooks worker has not yet turned into deliveries; the oldest one's age."""
    pending = (
        await session.execute(
            select(func.count(), func.min(WebhookDelivery.created_at)).where(
                WebhookDelivery.status == DeliveryStatus.PENDING.value
            )
        )
    ).one()
    undispatched = (
        await session.execute(
            select(func.count(), func.min(OutboxEvent.created_at)).where(
                OutboxEvent.delivered_at.is_(None)
            )
        )
    ).one()
    oldest = [_utc(moment) for moment in (pending[1], undispatched[1]) if moment is not None]
    age = max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0
    return Backlog(int(pending[0] or 0) + int(undispatched[0] or 0), age)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ChainProbe:
    """What a scrape reads from the chain: every node's head, the hot wallet's balances."""

    node: NodeClient
    hot_wallet: str | None
    token_contract: str

    async def read(self) -> None:
        metrics.node_heads(await self.node.heads())
        if self.hot_wallet is None:
            return
        account, resource, token = await asyncio.gather(
            self.node.account(self.hot_wallet),
            self.node.account_resource(self.hot_wallet),
            self.node.token_balance(self.token_contract, self.hot_wallet),
        )
        metrics.wallet(
            trx_sun=account.balance_sun,
            token_units=token,
            energy=resource.energy_available,
            bandwidth=resource.bandwidth_available,
        )


@dataclass
class DatabaseGauges:
    """Sets the gauges a scrape computes (from the database, and from the chain when
    ``chain`` is given), at most once per ``refresh_s``."""

    sessionmaker: async_sessionmaker[AsyncSession]
    refresh_s: float = 10.0
    chain: ChainProbe | None = None
    # Node requests cost a hosted node's API key quota: read the chain less often.
    chain_refresh_s: float = 30.0
    _at: float = field(default=-1e9, init=False)
    _chain_at: float = field(default=-1e9, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def refresh(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if now - self._at >= self.refresh_s:
                self._at = now
                try:
                    async with read_transaction(self.sessionmaker) as session:
                        await self._read(session)
                except Exception as exc:  # a scrape still answers with what it knows
                    log.warning("metrics.database_gauges_failed", error=type(exc).__name__)
            if self.chain is not None and now - self._chain_at >= self.chain_refresh_s:
                self._chain_at = now
                try:
                    await self.chain.read()
                except Exception as exc:  # the node request metrics show the failure
                    log.warning("metrics.chain_gauges_failed", error=type(exc).__name__)

    @staticmethod
    async def _read(session: AsyncSession) -> None:
        now = datetime.now(UTC)
        by_status = await session.execute(
            select(Payout.status, Payout.asset, func.count()).group_by(Payout.status, Payout.asset)
        )
        counts = {(s, a): 0 for s in metrics.STATUSES for a in metrics.ASSETS}
        for status, asset, count in by_status.all():
            if (status, asset) in counts:
                counts[(status, asset)] = int(count)
        for (status, asset), count in counts.items():
            metrics.PAYOUTS.labels(status, asset).set(count)
        blocked = await session.execute(
            select(Payout.blocked_reason, func.count())
            .where(Payout.status == "queued", Payout.blocked_reason.is_not(None))
            .group_by(Payout.blocked_reason)
        )
        reasons = dict.fromkeys(metrics.BLOCK_REASONS, 0)
        for reason, count in blocked.all():
            reasons[metrics.block_reason_label(reason)] += int(count)
        for reason, count in reasons.items():
            metrics.PAYOUTS_BLOCKED.labels(reason).set(count)
        oldest = await session.execute(
            select(Payout.status, func.min(Payout.updated_at))
            .where(Payout.status.in_(OPEN_STATUSES))
            .group_by(Payout.status)
        )
        ages = dict.fromkeys(OPEN_STATUSES, 0.0)
        for status, at in oldest.all():
            if at is not None:
                ages[status] = max(0.0, (now - _utc(at)).total_seconds())
        for status, age in ages.items():
            metrics.PAYOUT_OLDEST_SECONDS.labels(status).set(age)
        metrics.WEBHOOK_QUEUE_DEPTH.set((await webhook_backlog(session, now)).count)
        set_gauge(await fired_kinds(session))


async def exposition(gauges: DatabaseGauges | None) -> bytes:
    """The Prometheus text exposition of the default registry (gauges refreshed first)."""
    if gauges is not None:
        await gauges.refresh()
    return generate_latest(REGISTRY)


# The classic text format every Prometheus 2.x parses (our names need no UTF-8 escaping).
CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4


class MetricsListener:
    """``GET /metrics`` on its own port (the worker's, or an internal port of the API)."""

    def __init__(self, gauges: DatabaseGauges | None, host: str, port: int) -> None:
        self._gauges = gauges
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port bound (useful with port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        log.info("metrics.listening", host=self._host, port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            answer = await self._answer(head)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.close()
            return
        writer.write(
            f"HTTP/1.1 {answer.status}\r\nContent-Type: {answer.content_type}\r\n"
            f"Content-Length: {len(answer.body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
            + answer.body
        )
        try:
            await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def _answer(self, head: bytes) -> _Answer:
        if len(head) > _MAX_REQUEST_BYTES:
            return _Answer("431 Request Header Fields Too Large", "text/plain", b"too large\n")
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        path = rest.split(" ", 1)[0].split("?", 1)[0]
        if method != "GET":
            return _Answer("405 Method Not Allowed", "text/plain", b"method not allowed\n")
        if path == "/metrics":
            return _Answer("200 OK", CONTENT_TYPE, await exposition(self._gauges))
        if path == "/health":
            return _Answer("200 OK", "application/json", b'{"status":"ok"}')
        return _Answer("404 Not Found", "text/plain", b"not found\n")
