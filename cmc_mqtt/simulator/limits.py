"""CoinMarketCap's limits for one API key, and one connection's subscriptions counted by them.

The defaults are what CoinMarketCap documents for the stream ("up to 10 concurrent connections,
each supporting up to 100 subscriptions") and what its guide bills (0.025 credits per message, a
Startup plan's 450,000 credits a month). Two things are unconfirmed, so both are options: whether
each crypto id is one subscription or each subscribe request is, and whether a subscription costs
credits of its own (the overview says 0.1 each, the guide bills only messages).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, get_args

SubscriptionCounting = Literal["id", "request"]
COUNTINGS: Final = get_args(SubscriptionCounting)
#: What `Limits.off()` reports as `sub_limit`: acks always carry a number, and no test or
#: benchmark subscribes this many ids on one connection.
NO_SUB_LIMIT: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class Limits:
    """One API key's limits and prices; `None` means unlimited."""

    sub_limit: int = 100
    counting: SubscriptionCounting = "id"
    max_connections: int | None = 10
    monthly_credits: float | None = 450_000
    #: CoinMarketCap reports a daily limit in `/v1/key/info` (the month's over 30 in its
    #: example) but whether paid plans are held to it is unconfirmed: enforced (error 1009)
    #: only when set.
    daily_credits: float | None = None
    credits_per_message: float = 0.025
    credits_per_subscription: float = 0.0
    #: REST calls a minute (error 1008 past it). Unconfirmed for the Startup plan.
    rate_limit_minute: int | None = 30

    def __post_init__(self) -> None:
        problems = []
        if self.sub_limit < 1:
            problems.append(f"sub_limit must be at least 1, got {self.sub_limit}")
        if self.counting not in COUNTINGS:
            problems.append(f"counting must be one of {COUNTINGS}, got {self.counting!r}")
        for name in ("max_connections", "rate_limit_minute"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name} must be at least 1 or None, got {value}")
        for name in ("monthly_credits", "daily_credits"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                problems.append(f"{name} must be positive or None, got {value}")
        for name in ("credits_per_message", "credits_per_subscription"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative, got {getattr(self, name)}")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def off(cls) -> Limits:
        """No limit at all (benchmarks, soak, many coins on one connection); still billed and
        counted at the documented prices, so the counters stay meaningful."""
        return cls(
            sub_limit=NO_SUB_LIMIT,
            max_connections=None,
            monthly_credits=None,
            daily_credits=None,
            rate_limit_minute=None,
        )


class Subscriptions:
    """One connection's subscribed ids and `sub_count` under either way of counting.

    Counted per request, a subscribe that adds new ids is one subscription; unsubscribing ids
    shrinks the requests that hold them, and a request left with none no longer counts.
    """

    def __init__(self, counting: SubscriptionCounting = "id") -> None:
        self.counting = counting
        self.ids: set[int] = set()  # the live set: the push loop reads it under the server lock
        self._requests: list[set[int]] = []

    @property
    def count(self) -> int:
        return len(self.ids) if self.counting == "id" else len(self._requests)

    def growth(self, ids: Iterable[int]) -> int:
        """How much `count` would grow if these ids were subscribed."""
        new = set(ids) - self.ids
        if not new:
            return 0
        return len(new) if self.counting == "id" else 1

    def add(self, ids: Iterable[int]) -> int:
        """Subscribe; returns the growth of `count`."""
        new = set(ids) - self.ids
        if not new:
            return 0
        self.ids.update(new)
        if self.counting == "request":
            self._requests.append(new)
            return 1
        return len(new)

    def remove(self, ids: Iterable[int]) -> None:
        gone = set(ids)
        self.ids.difference_update(gone)
        for request in self._requests:
            request.difference_update(gone)
        self._requests = [r for r in self._requests if r]

    def clear(self) -> None:
        self.ids.clear()
        self._requests.clear()
