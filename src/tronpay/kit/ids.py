"""Prefixed, time-sortable identifiers: ``po_01J...`` (a ULID in Crockford base32).

48 bits of milliseconds then 80 random bits; within one millisecond the random part is
incremented so ids made by one process sort in creation order.
"""

from __future__ import annotations

import secrets
import threading
from typing import Final

from tronpay.kit.clock import now_ms as wall_ms

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS: Final = 80
_lock = threading.Lock()
_last_ms = -1
_last_random = 0


# Two base32 characters (10 bits) per lookup: 13 lookups for a whole 26-character ULID.
_PAIRS: Final = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_SHIFTS: Final = tuple(range(120, -1, -10))


def _encode128(value: int) -> str:
    """26 Crockford base32 characters of a 128-bit value (two leading zero bits)."""
    return "".join([_PAIRS[(value >> shift) & 0x3FF] for shift in _SHIFTS])


def new_ulid(now_ms: int | None = None) -> str:
    """A 26-character ULID string, monotonic within this process."""
    global _last_ms, _last_random  # noqa: PLW0603 - process-wide monotonic state
    ms = wall_ms() if now_ms is None else now_ms
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            _last_random = (_last_random + 1) % (1 << _RANDOM_BITS)
        else:
            _last_ms = ms
            _last_random = secrets.randbits(_RANDOM_BITS - 1)
        rand = _last_random
    return _encode128((ms << _RANDOM_BITS) | rand)


def new_id(prefix: str) -> str:
    """``prefix_`` + ULID, e.g. ``new_id("po")`` -> ``po_01JD...``."""
    return f"{prefix}_{new_ulid()}"
