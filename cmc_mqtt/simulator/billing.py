"""One API key's credits, as CoinMarketCap keeps them: used this month and today, REST calls this
minute, each reset when the (injectable) clock turns past it.

Credits are kept exactly (a message costs 0.025); `/v1/key/info` reports whole credits, rounded
up, as CoinMarketCap's integer fields can only carry whole ones.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from .limits import Limits

Clock = Callable[[], datetime]
MONTHLY: Final = "1010"
DAILY: Final = "1009"
PER_MINUTE: Final = "1008"
REFUSAL_MESSAGES: Final = {
    MONTHLY: "You've exceeded your API Key's monthly credit limit.",
    DAILY: "You've exceeded your API Key's daily credit limit.",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """CoinMarketCap's timestamp format: ISO 8601, milliseconds, `Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def countdown(now: datetime, until: datetime) -> str:
    """CoinMarketCap's human countdown, e.g. "In 3 days, 19 hours, 56 minutes"."""
    minutes = max(0, int((until - now).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{value} {unit}{'' if value == 1 else 's'}"
        for value, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if value
    ]
    return "In " + ", ".join(parts or ["0 minutes"])


class CreditLedger:
    """Thread-safe: the push loop, subscribes and REST calls all charge it."""

    def __init__(self, limits: Callable[[], Limits], clock: Clock) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        now = self._now()
        self._month = (now.year, now.month)
        self._day: date = now.date()
        self._minute = now.replace(second=0, microsecond=0)
        self._used_month = 0.0
        self._used_day = 0.0
        self._requests_minute = 0
        #: Every credit ever charged and every message billed, across months (for benchmarks).
        self.total_credits = 0.0
        self.messages = 0

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _roll(self, now: datetime) -> None:
        """Start a new month, day or minute when the clock has passed into one (lock held)."""
        if (now.year, now.month) != self._month:
            self._month = (now.year, now.month)
            self._used_month = 0.0
        if now.date() != self._day:
            self._day = now.date()
            self._used_day = 0.0
        minute = now.replace(second=0, microsecond=0)
        if minute != self._minute:
            self._minute = minute
            self._requests_minute = 0

    @property
    def used_month(self) -> float:
        with self._lock:
            self._roll(self._now())
            return self._used_month

    @property
    def used_day(self) -> float:
        with self._lock:
            self._roll(self._now())
            return self._used_day

    def refusal(self) -> str | None:
        """The error code this key is refused with now (1010, 1009), or None."""
        with self._lock:
            self._roll(self._now())
            return self._refusal(self._limits())

    def _refusal(self, limits: Limits) -> str | None:
        # A hair of tolerance: ten charges of 0.1 add up to 0.9999999999999999 in floats.
        if limits.monthly_credits is not None and self._used_month >= limits.monthly_credits - 1e-9:
            return MONTHLY
        if limits.daily_credits is not None and self._used_day >= limits.daily_credits - 1e-9:
            return DAILY
        return None

    def charge(self, credits: float, messages: int = 0) -> str | None:
        """Bill credits (already delivered or answered); returns the refusal code when this
        spent what was left."""
        with self._lock:
            self._roll(self._now())
            self._used_month += credits
            self._used_day += credits
            self.total_credits += credits
            self.messages += messages
            return self._refusal(self._limits())

    def count_request(self) -> bool:
        """Count one REST call against the minute's rate limit; False when over it."""
        with self._lock:
            self._roll(self._now())
            limit = self._limits().rate_limit_minute
            if limit is not None and self._requests_minute >= limit:
                return False
            self._requests_minute += 1
            return True

    def key_info(self) -> dict[str, Any]:
        """`data` of `GET /v1/key/info` in CoinMarketCap's shape."""
        with self._lock:
            now = self._now()
            self._roll(now)
            limits = self._limits()
            monthly = limits.monthly_credits
            daily = limits.daily_credits
            if daily is None and monthly is not None:
                daily = monthly / 30  # how CoinMarketCap's example relates the two
            day_reset = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
            month_reset = next_month(now)
            used_month, used_day = _whole(self._used_month), _whole(self._used_day)
            rate = limits.rate_limit_minute
            return {
                "plan": {
                    "credit_limit_daily": _whole(daily),
                    "credit_limit_daily_reset": countdown(now, day_reset),
                    "credit_limit_daily_reset_timestamp": iso(day_reset),
                    "credit_limit_monthly": _whole(monthly),
                    "credit_limit_monthly_reset": countdown(now, month_reset),
                    "credit_limit_monthly_reset_timestamp": iso(month_reset),
                    "rate_limit_minute": rate,
                },
                "usage": {
                    "current_minute": {
                        "requests_made": self._requests_minute,
                        "requests_left": None if rate is None else rate - self._requests_minute,
                    },
                    "current_day": {
                        "credits_used": used_day,
                        "credits_left": _left(daily, used_day),
                    },
                    "current_month": {
                        "credits_used": used_month,
                        "credits_left": _left(monthly, used_month),
                    },
                },
            }


def _whole(credits: float | None) -> Any:
    if credits is None:
        return None
    return math.ceil(round(credits, 9))  # 40 times 0.025 is 1.0000000000000002 in floats


def _left(limit: float | None, used: int) -> int | None:
    return None if limit is None else max(0, int(limit) - used)
