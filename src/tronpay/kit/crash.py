"""Crash points for the SIGKILL tests: ``TRONPAY_CRASH_AT=<point>`` makes the process kill
itself with SIGKILL (no clean-up, no ``finally``) the moment it reaches that point, so a test
can stop a real engine between two exact instructions. Unset (always, outside tests) nothing
happens.

Points: ``wallet_operation.signed`` — a staking operation's signed transaction is committed
and nothing has been broadcast yet (``wallet/executor.py``).
"""

from __future__ import annotations

import os
import signal
from typing import Final

CRASH_ENV: Final = "TRONPAY_CRASH_AT"
WALLET_OPERATION_SIGNED: Final = "wallet_operation.signed"


def crash_point(name: str) -> None:
    """SIGKILL this process if ``TRONPAY_CRASH_AT`` names ``name``."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
