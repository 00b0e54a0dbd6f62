from __future__ import annotations

import random

import pytest

from cmc_mqtt.util.backoff import Backoff


def test_delays_double_up_to_the_cap_within_jitter_bounds() -> None:
    backoff = Backoff(1.0, 60.0, rng=random.Random(7))
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60, 60]
    for ceiling in ceilings:
        delay = backoff.next_delay()
        assert ceiling / 2 <= delay <= ceiling


def test_jitter_spreads_delays() -> None:
    delays = {round(Backoff(8.0, 8.0, rng=random.Random(i)).next_delay(), 6) for i in range(20)}
    assert len(delays) > 10


def test_reset_starts_again_from_the_initial_delay() -> None:
    backoff = Backoff(1.0, 60.0)
    for _ in range(10):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(0, 1)
    with pytest.raises(ValueError):
        Backoff(5, 1)
