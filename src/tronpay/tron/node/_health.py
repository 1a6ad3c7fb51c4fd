"""Health of the configured nodes: which answered lately, which cool down after a failure
(exponentially, up to a minute) and the order the client tries them in (healthy first, then
the sick ones by the end of their cooldown)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

_MAX_COOLDOWN_S = 60.0


@dataclass
class NodeHealth:
    """The mutable health record of one node (owned by its :class:`NodePool`)."""

    url: str
    failures: int = 0
    cooldown_until: float = 0.0
    last_error: str = ""
    requests: int = 0

    def healthy(self, now: float) -> bool:
        return now >= self.cooldown_until


@dataclass(frozen=True)
class NodeHealthView:
    url: str
    healthy: bool
    failures: int
    last_error: str


class NodePool:
    """The configured nodes in the order given, each with its health."""

    def __init__(self, urls: Sequence[str], *, cooldown_s: float) -> None:
        self.nodes = [NodeHealth(url.rstrip("/")) for url in urls]
        self._cooldown_s = cooldown_s

    def ordered(self) -> list[NodeHealth]:
        """Healthy nodes in configured order, then the sick ones, soonest recovered first."""
        now = time.monotonic()
        healthy = [n for n in self.nodes if n.healthy(now)]
        sick = sorted((n for n in self.nodes if not n.healthy(now)), key=lambda n: n.cooldown_until)
        return healthy + sick

    def views(self) -> tuple[NodeHealthView, ...]:
        now = time.monotonic()
        return tuple(
            NodeHealthView(n.url, n.healthy(now), n.failures, n.last_error) for n in self.nodes
        )

    @staticmethod
    def mark_ok(node: NodeHealth) -> None:
        node.failures = 0
        node.cooldown_until = 0.0

    def mark_bad(self, node: NodeHealth, reason: str) -> None:
        node.failures += 1
        node.last_error = reason
        backoff = min(self._cooldown_s * (2 ** min(node.failures - 1, 5)), _MAX_COOLDOWN_S)
        node.cooldown_until = time.monotonic() + backoff
        log.warning("node.unhealthy", node=node.url, reason=reason, failures=node.failures)
