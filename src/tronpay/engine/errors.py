"""The errors of the payout engine."""

from __future__ import annotations

from tronpay.api.readiness import NotReady
from tronpay.errors import TronpayError


class EngineStartError(TronpayError):
    code = "engine_start_error"
    status = 500
    title = "The payout engine cannot start"


class EngineStalled(NotReady):
    """``/ready``: an engine step has failed (or hung) for longer than ``stall_after_s`` while
    payouts wait for the engine (``engine/health.py``)."""

    code = "engine_stalled"
    title = "The payout engine is not making progress"
