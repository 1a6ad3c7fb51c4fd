"""The retry schedule: exponential from the base, capped, jittered between half and all of
the step; the defaults retry for at least 24 hours."""

from __future__ import annotations

import random
from datetime import timedelta

from tronpay.config import Settings
from tronpay.webhooks.worker import WorkerConfig, retry_delay


def test_delays_double_up_to_the_cap_with_jitter() -> None:
    config = WorkerConfig.from_settings(Settings())
    rng = random.Random(7)
    for attempt, step in [(1, 5.0), (2, 10.0), (3, 20.0), (10, 2560.0), (11, 3600.0), (60, 3600.0)]:
        delays = [retry_delay(attempt, config, rng) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays), attempt
        assert max(delays) - min(delays) > step / 4  # jittered, not one fixed value


def test_the_defaults_retry_for_more_than_a_day_with_a_bounded_attempt() -> None:
    config = WorkerConfig.from_settings(Settings())
    assert config.retry_for >= timedelta(hours=24)
    assert config.timeout_s <= 30
    assert config.lease > timedelta(seconds=config.timeout_s)
    assert config.allow_private is False
