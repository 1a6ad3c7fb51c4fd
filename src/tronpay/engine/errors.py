"""The errors of the payout engine."""

from __future__ import annotations

from tronpay.errors import TronpayError


class EngineStartError(TronpayError):
    code = "engine_start_error"
    status = 500
    title = "The payout engine cannot start"
