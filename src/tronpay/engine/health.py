"""Whether the engine is making progress: what ``/ready`` and the logs say when it is not.

Every engine step reports to ``EngineHealth`` through the step guard: started, succeeded or
failed (with the error's type only). A step is *stalled* when it has failed on every run for
longer than ``stall_after_s``, or when one run has been going on for longer than that (a
hang). The guard logs ``engine.stalled`` once when a step becomes stalled and
``engine.recovered`` once when it succeeds again, instead of a quiet retry loop; the
readiness check of a process running the engine answers 503 while a step is stalled and
payouts are waiting for the engine.

Pure bookkeeping over a monotonic clock: no database, no node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_STALL_AFTER_S = 120.0


@dataclass(frozen=True)
class Stall:
    """A stalled step: which one, since when it has made no progress, and why."""

    step: str
    seconds: float
    error: str  # the last error's type, or "running" for a run that has not returned
    failures: int

    def describe(self) -> str:
        if self.error == "running":
            return f"engine step {self.step} has been running for {int(self.seconds)} s"
        return (
            f"engine step {self.step} has failed {self.failures} times in a row for "
            f"{int(self.seconds)} s ({self.error})"
        )


@dataclass
class _StepState:
    failing_since: float | None = None
    failures: int = 0
    last_error: str = ""
    running_since: float | None = None
    reported: bool = False


@dataclass
class EngineHealth:
    """Progress of the engine's steps (one object per engine, shared with ``/ready``)."""

    stall_after_s: float = DEFAULT_STALL_AFTER_S
    clock: Callable[[], float] = time.monotonic
    _steps: dict[str, _StepState] = field(default_factory=dict)

    def _state(self, step: str) -> _StepState:
        return self._steps.setdefault(step, _StepState())

    def started(self, step: str) -> None:
        self._state(step).running_since = self.clock()

    def succeeded(self, step: str) -> bool:
        """Record a successful run; True when the step was reported stalled before."""
        state = self._state(step)
        was_reported = state.reported
        self._steps[step] = _StepState()
        return was_reported

    def failed(self, step: str, error: str) -> Stall | None:
        """Record a failed run; returns the stall the first time the step counts as stalled
        (the caller logs it once), None otherwise."""
        state = self._state(step)
        now = self.clock()
        state.running_since = None
        if state.failing_since is None:
            state.failing_since = now
        state.failures += 1
        state.last_error = error
        stall = self._stall_of(step, state, now)
        if stall is None or state.reported:
            return None
        state.reported = True
        return stall

    def newly_hung(self) -> list[Stall]:
        """Runs that have not returned for longer than ``stall_after_s`` and were not
        reported yet (each is returned once; another step's guard logs it)."""
        now = self.clock()
        out: list[Stall] = []
        for step, state in self._steps.items():
            stall = self._stall_of(step, state, now)
            if stall is not None and stall.error == "running" and not state.reported:
                state.reported = True
                out.append(stall)
        return out

    def stalled(self) -> Stall | None:
        """The longest-stalled step, if any."""
        now = self.clock()
        found = [
            stall
            for step, state in self._steps.items()
            if (stall := self._stall_of(step, state, now)) is not None
        ]
        return max(found, key=lambda s: s.seconds, default=None)

    def _stall_of(self, step: str, state: _StepState, now: float) -> Stall | None:
        if state.running_since is not None and now - state.running_since > self.stall_after_s:
            return Stall(step, now - state.running_since, "running", state.failures)
        if state.failing_since is not None and now - state.failing_since > self.stall_after_s:
            return Stall(step, now - state.failing_since, state.last_error, state.failures)
        return None
