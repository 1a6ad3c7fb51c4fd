"""Readiness checks: a small registry others add to (node, wallet, ...).

A check is an async callable that returns normally when its dependency is usable and raises
otherwise (``NotReady`` by convention); it may return a small mapping of what it saw (head
block, lag, latency, backlog), shown with its state in ``/ready``'s body. ``GET /ready`` runs
every check with a timeout and answers 200 or 503.

``/ready`` needs no token, so a check that costs something elsewhere (a node request, which
spends a TronGrid key's quota and takes the whole timeout against a hung node) is registered
with ``cache_s``: its result is reused for that long, and concurrent calls share the one
check in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tronpay.errors import TronpayError

CheckDetail = Mapping[str, Any]
ReadinessCheck = Callable[[], Awaitable[CheckDetail | None]]
_NO_DETAIL: Final[CheckDetail] = {}


class NotReady(TronpayError):
    code = "not_ready"
    status = 503
    title = "A dependency is not usable"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    error: str | None
    detail: CheckDetail = field(default_factory=dict)

    @property
    def state(self) -> str:
        """``ok``, ``timeout`` or ``error``."""
        if self.ok:
            return "ok"
        return "timeout" if self.error == "timeout" else "error"

    def body(self) -> dict[str, Any]:
        """This check's part of ``/ready``'s body."""
        return {
            "ok": self.ok,
            "state": self.state,
            **({"error": self.error} if self.error else {}),
            **self.detail,
        }


@dataclass
class _Cache:
    ttl_s: float
    result: CheckResult | None = None
    at: float = 0.0
    pending: asyncio.Task[CheckResult] | None = None


@dataclass
class ReadinessRegistry:
    timeout_s: float = 2.0
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    _caches: dict[str, _Cache] = field(default_factory=dict)

    def register(self, name: str, check: ReadinessCheck, *, cache_s: float = 0.0) -> None:
        """Add a check; with ``cache_s`` > 0 its result is reused for that many seconds."""
        self.checks[name] = check
        if cache_s > 0:
            self._caches[name] = _Cache(cache_s)
        else:
            self._caches.pop(name, None)

    async def _run_cached(self, name: str, check: ReadinessCheck, cache: _Cache) -> CheckResult:
        if cache.result is not None and time.monotonic() - cache.at < cache.ttl_s:
            return cache.result
        if cache.pending is None or cache.pending.done():
            cache.pending = asyncio.ensure_future(self._run(name, check))
        pending = cache.pending
        # shield: a caller that goes away (client disconnect) does not cancel the others' check
        result = await asyncio.shield(pending)
        if cache.pending is pending:
            cache.result, cache.at = result, time.monotonic()
        return result

    async def _run(self, name: str, check: ReadinessCheck) -> CheckResult:
        try:
            detail = await asyncio.wait_for(check(), timeout=self.timeout_s)
        except TimeoutError:
            return CheckResult(name, ok=False, error="timeout")
        except Exception as exc:  # a failing dependency is a result, not a crash
            return CheckResult(name, ok=False, error=type(exc).__name__)
        return CheckResult(name, ok=True, error=None, detail=detail or _NO_DETAIL)

    def _one(self, name: str, check: ReadinessCheck) -> Awaitable[CheckResult]:
        cache = self._caches.get(name)
        return self._run(name, check) if cache is None else self._run_cached(name, check, cache)

    async def run(self) -> list[CheckResult]:
        return list(
            await asyncio.gather(*(self._one(name, fn) for name, fn in self.checks.items()))
        )
