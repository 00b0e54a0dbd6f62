"""Exponential backoff with jitter, so many bridges restarting together do not retry in step."""

from __future__ import annotations

import random


class Backoff:
    """Delay doubling from `initial` to `cap`; each delay is drawn from its upper half."""

    def __init__(self, initial: float, cap: float, *, rng: random.Random | None = None) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError("need 0 < initial <= cap")
        self.initial = initial
        self.cap = cap
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_delay(self) -> float:
        ceiling: float = min(self.cap, self.initial * 2.0**self._attempt)
        self._attempt = min(self._attempt + 1, 62)
        jitter: float = self._rng.uniform(0, ceiling / 2)
        return ceiling / 2 + jitter

    def reset(self) -> None:
        self._attempt = 0
