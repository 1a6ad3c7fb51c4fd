"""A simple, documented test of whether a shared secret looks random.

No test can prove that bytes are random; this one refuses secrets that clearly are not
(``aaaa…``, ``abab…``, ``0123…``, a word repeated) while every secret made by a random
generator passes. The rule, applied to the secret's bytes:

1. at least ``MIN_SECRET_BYTES`` (32) bytes;
2. it is not a shorter pattern repeated (``abcabcabc…``);
3. the estimated entropy is at least ``MIN_ESTIMATED_BITS`` (128): the length times the
   Shannon entropy per byte of the byte frequencies, or of the differences between
   neighbouring bytes when that is lower (so ``abcdefgh…`` counts as the one step it is).

The estimate is capped by the length and by the number of distinct bytes, so 32 random
hexadecimal characters (16 bytes of real entropy, about 115 estimated bits) are refused
while 64 of them (``openssl rand -hex 32``), 32 random raw bytes and a 43-character
base64 secret pass with room to spare.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from typing import Final

MIN_SECRET_BYTES: Final = 32
MIN_ESTIMATED_BITS: Final = 128


def _shannon_bits_per_symbol(symbols: Iterable[int]) -> float:
    counts = Counter(symbols)
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def smallest_period(data: bytes) -> int:
    """The length of the shortest unit that ``data`` repeats (``len(data)`` if none)."""
    # The prefix function of Knuth-Morris-Pratt: the longest proper border gives the period.
    border = [0] * len(data)
    k = 0
    for i in range(1, len(data)):
        while k and data[i] != data[k]:
            k = border[k - 1]
        if data[i] == data[k]:
            k += 1
        border[i] = k
    return len(data) - border[-1] if data else 0


def estimated_entropy_bits(data: bytes) -> float:
    """Length times the lower of the per-byte Shannon entropies of the bytes and of their
    neighbour differences (modulo 256)."""
    if not data:
        return 0.0
    deltas = ((b - a) % 256 for a, b in itertools.pairwise(data))
    per_byte = min(_shannon_bits_per_symbol(data), _shannon_bits_per_symbol(deltas))
    return len(data) * per_byte


def weak_secret_reason(data: bytes) -> str | None:
    """Why ``data`` is not acceptable as a shared secret, or ``None`` when it is."""
    if len(data) < MIN_SECRET_BYTES:
        return f"it must be at least {MIN_SECRET_BYTES} bytes (got {len(data)})"
    period = smallest_period(data)
    if period * 2 <= len(data):
        return f"it repeats a {period}-byte pattern"
    bits = estimated_entropy_bits(data)
    if bits < MIN_ESTIMATED_BITS:
        return (
            f"it does not look random (about {int(bits)} estimated bits of entropy, "
            f"at least {MIN_ESTIMATED_BITS} needed)"
        )
    return None
