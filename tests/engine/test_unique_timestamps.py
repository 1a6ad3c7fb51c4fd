"""The per-process transaction timestamp counter: strictly increasing while time moves
normally, and never stuck in the future after one far-ahead reference block."""

from __future__ import annotations

from tronpay.engine.signing import TS_RESET_AHEAD_MS, unique_timestamp_ms
from tronpay.kit.clock import now_ms


def test_strictly_increasing_for_the_same_floor() -> None:
    floor = now_ms() + 5_000
    got = [unique_timestamp_ms(floor) for _ in range(1_000)]
    assert got == sorted(set(got))
    assert got[0] >= floor


def test_a_far_future_floor_does_not_stick() -> None:
    """A node once reported a head a day ahead (the devnet's time travel, a wrong clock):
    the next batch, built against a normal head, gets a timestamp near now again, so its
    expiration is one the chain accepts."""
    day_ahead = now_ms() + 86_400_000
    assert unique_timestamp_ms(day_ahead) >= day_ahead
    normal = now_ms()
    ts = unique_timestamp_ms(normal)
    assert normal <= ts < normal + TS_RESET_AHEAD_MS
    assert unique_timestamp_ms(normal) == ts + 1  # and increasing again from there


def test_a_small_lead_is_kept_for_uniqueness() -> None:
    base = now_ms() + 30_000  # a head a little ahead of this machine's clock
    first = unique_timestamp_ms(base)
    # the next floor is behind the counter but within the window: still strictly after
    assert unique_timestamp_ms(base - 20_000) == first + 1
