"""Readiness checks: a small registry others add to (node, wallet, ...).

A check is an async callable that returns normally when its dependency is usable and raises
otherwise (``NotReady`` by convention). ``GET /ready`` runs every check with a timeout and
answers 200 or 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tronpay.errors import TronpayError

ReadinessCheck = Callable[[], Awaitable[None]]


class NotReady(TronpayError):
    code = "not_ready"
    status = 503
    title = "A dependency is not usable"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    error: str | None


@dataclass
class ReadinessRegistry:
    timeout_s: float = 2.0
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)

    def register(self, name: str, check: ReadinessCheck) -> None:
        self.checks[name] = check

    async def _run(self, name: str, check: ReadinessCheck) -> CheckResult:
        try:
            await asyncio.wait_for(check(), timeout=self.timeout_s)
        except TimeoutError:
            return CheckResult(name, ok=False, error="timeout")
        except Exception as exc:  # a failing dependency is a result, not a crash
            return CheckResult(name, ok=False, error=type(exc).__name__)
        return CheckResult(name, ok=True, error=None)

    async def run(self) -> list[CheckResult]:
        return list(
            await asyncio.gather(*(self._run(name, fn) for name, fn in self.checks.items()))
        )
