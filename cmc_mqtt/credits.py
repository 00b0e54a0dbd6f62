"""What the stream costs in CoinMarketCap credits: estimated from the configuration before it
runs, counted while it runs, and checked against the key's own figures (`/v1/key/info`).

CoinMarketCap's guide bills 0.025 credits per data message (a top-500 coin, pushed every 5 s,
costs about 12,960 credits a month); its overview speaks of 0.1 credit per subscription. Both
prices are settings, and the key's own `credits_used` shows which one applies.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .config import CreditSettings
from .rest import Cancel, RestError, get_json
from .secret import Secret

LOG = logging.getLogger(__name__)
FAST_CADENCE_S: Final = 5.0  # the top 500 coins by rank
SLOW_CADENCE_S: Final = 15.0  # the rest
FAST_RANKS: Final = 500
#: How long the count must run before its own rate is trusted over the configuration's estimate.
MIN_OBSERVATION_S: Final = 300.0


@dataclass(frozen=True, slots=True)
class Estimate:
    """A month's stream cost for a set of coins."""

    coins: int
    fast: int  # coins pushed about every 5 s
    messages: float
    credits: float
    per_message: float
    per_subscription: float


def month_seconds(now: dt.datetime) -> float:
    return calendar.monthrange(now.year, now.month)[1] * 86400.0


def estimate(
    ids: Sequence[int],
    ranks: Mapping[int, int | None],
    prices: CreditSettings,
    *,
    seconds: float = 30 * 86400.0,
) -> Estimate:
    """Messages and credits over `seconds` (a 30-day month by default). A coin whose rank is
    unknown is counted at the faster cadence: the estimate errs on the side of cost."""
    fast = sum(1 for cid in ids if (ranks.get(cid) or 0) <= FAST_RANKS)
    messages = fast * seconds / FAST_CADENCE_S + (len(ids) - fast) * seconds / SLOW_CADENCE_S
    credits = messages * prices.per_message + len(ids) * prices.per_subscription
    return Estimate(len(ids), fast, messages, credits, prices.per_message, prices.per_subscription)


def month_of(now: dt.datetime) -> str:
    return f"{now.year:04d}-{now.month:02d}"


def month_end(now: dt.datetime) -> dt.datetime:
    days = calendar.monthrange(now.year, now.month)[1]
    return now.replace(day=days, hour=23, minute=59, second=59, microsecond=0)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """The key's own figures, as `/v1/key/info` reported them."""

    used: float | None
    left: float | None
    limit: float | None
    day_used: float | None
    checked: str


def fetch_key_info(rest_url: str, api_key: Secret, *, timeout: float, cancel: Cancel) -> KeyInfo:
    """`GET /v1/key/info` (no credits). Raises `RestError` when it gives no usable answer."""
    body = get_json(rest_url, "/v1/key/info", {}, api_key, timeout=timeout, cancel=cancel)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise RestError("unexpected answer shape")
    plan, usage = _table(data, "plan"), _table(data, "usage")
    month, day = _table(usage, "current_month"), _table(usage, "current_day")
    return KeyInfo(
        used=_number(month.get("credits_used")),
        left=_number(month.get("credits_left")),
        limit=_number(plan.get("credit_limit_monthly")),
        day_used=_number(day.get("credits_used")),
        checked=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) and value >= 0 else None


Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CreditMeter:
    """Counts this month's credits from the messages the connections received; projects them to
    the month's end; holds the key's own figures; decides when a budget is passed."""

    def __init__(
        self,
        prices: CreditSettings,
        messages: Callable[[], int],
        *,
        baseline: Estimate,
        month_usage: tuple[str | None, float] = (None, 0.0),
        save: Callable[[str, float], None] | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.prices = prices
        self._messages = messages
        self._baseline = baseline
        self._save = save
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._month = month_of(now)
        saved_month, saved = month_usage
        self._carried = saved if saved_month == self._month else 0.0
        self._mark_messages = messages()
        self._mark_time = now
        self.key: KeyInfo | None = None
        self.key_error: str | None = None  # why the last /v1/key/info gave no answer
        self.warned = False

    def set_baseline(self, baseline: Estimate) -> None:
        with self._lock:
            self._baseline = baseline

    def used(self) -> float:
        """Credits counted this month, by this bridge, across restarts."""
        with self._lock:
            return self._used_locked()

    def _used_locked(self) -> float:
        counted = self._messages() - self._mark_messages
        return self._carried + counted * self.prices.per_message

    def roll(self) -> bool:
        """Call about once a minute: saves the count, and starts afresh when the month turned.
        True when it did."""
        now = self._clock()
        with self._lock:
            used = self._used_locked()
            if month_of(now) == self._month:
                if self._save is not None:
                    self._save(self._month, used)
                return False
            self._month = month_of(now)
            self._carried = 0.0
            self._mark_messages = self._messages()
            self._mark_time = now
            self.warned = False
            if self._save is not None:
                self._save(self._month, 0.0)
            return True

    def rate_per_second(self) -> float:
        """Credits a second: as observed once the count ran long enough, else as estimated."""
        now = self._clock()
        with self._lock:
            observed = (now - self._mark_time).total_seconds()
            if observed >= MIN_OBSERVATION_S:
                counted = self._messages() - self._mark_messages
                return counted * self.prices.per_message / observed
            return self._baseline.credits / (30 * 86400.0)

    def projected(self) -> float:
        """This month's credits at its end, at the current rate."""
        now = self._clock()
        left = max(0.0, (month_end(now) - now).total_seconds())
        return self.used() + self.rate_per_second() * left

    def over_budget(self) -> bool:
        budget = self.prices.monthly_budget
        return budget is not None and self.projected() > budget

    def budget_spent(self, margin: float) -> bool:
        """Whether this month's count is within `margin` credits of the budget."""
        budget = self.prices.monthly_budget
        return budget is not None and self.used() + margin >= budget

    def payload(self, *, stopped: bool) -> str:
        """The retained `<prefix>/bridge/credits` JSON."""
        budget = self.prices.monthly_budget
        key = self.key
        data: dict[str, Any] = {
            "month": self._month,
            "estimated_used": round(self.used(), 2),
            "projected": round(self.projected(), 2),
            "configured_estimate": round(self._baseline.credits, 2),
            "credits_per_message": self.prices.per_message,
            "credits_per_subscription": self.prices.per_subscription,
            "budget": budget,
            "over_budget": self.over_budget(),
            "stopped": stopped,
            "key_error": self.key_error if key is None else None,
            "key": None
            if key is None
            else {
                "used": key.used,
                "left": key.left,
                "limit": key.limit,
                "day_used": key.day_used,
                "checked": key.checked,
            },
        }
        return json.dumps(data, separators=(",", ":"))
