"""How often each request over MQTT may be carried out, and how often refusals are answered.

Anyone who may publish to the broker may send requests, as fast as the broker carries them. A
request costs what it does (a `reconnect` reopens every stream connection and resubscribes
every coin, a `coins/add` asks CoinMarketCap's REST API), so each action has an allowance: a
burst, then one more every so many seconds. What comes beyond it is refused with `rate limited:
retry in N s` — and even those answers are capped, so a flood costs a bounded amount of CPU and
of broker traffic, whatever its rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Allowance:
    """`burst` requests at once, then one more every `every` seconds."""

    burst: int
    every: float


#: The documented allowance of each action (README: "Requests over MQTT").
ALLOWANCES: Final[Mapping[str, Allowance]] = {
    "coins/add": Allowance(10, 6.0),
    "coins/remove": Allowance(10, 6.0),
    "holdings/set": Allowance(10, 6.0),
    "republish": Allowance(1, 10.0),
    "reconnect": Allowance(1, 30.0),
    "discovery/set": Allowance(2, 10.0),
}
#: Refusals answered per second, over every action; beyond it a refusal is only counted.
ANSWERS: Final = Allowance(20, 0.05)


class TokenBucket:
    """One allowance's state. Thread-safe."""

    def __init__(self, allowance: Allowance, clock: Callable[[], float] = time.monotonic) -> None:
        self._allowance = allowance
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(allowance.burst)
        self._at = clock()

    def take(self) -> float | None:
        """None when allowed now (and counted); else the seconds until the next one is."""
        with self._lock:
            now = self._clock()
            burst, every = self._allowance.burst, self._allowance.every
            self._tokens = min(float(burst), self._tokens + (now - self._at) / every)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) * every


class RequestLimiter:
    """The allowances of every action, and of the refusals' answers."""

    def __init__(
        self,
        allowances: Mapping[str, Allowance] = ALLOWANCES,
        *,
        answers: Allowance = ANSWERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._buckets = {action: TokenBucket(a, clock) for action, a in allowances.items()}
        self._answers = TokenBucket(answers, clock)

    def wait(self, action: str) -> int | None:
        """None when `action` may be carried out now; else whole seconds to wait (at least 1)."""
        bucket = self._buckets.get(action)
        if bucket is None:
            return None
        delay = bucket.take()
        return None if delay is None else max(1, math.ceil(delay))

    def may_answer(self) -> bool:
        """Whether one more refusal may be answered now."""
        return self._answers.take() is None
