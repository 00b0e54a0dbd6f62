"""What the bridge costs in CoinMarketCap credits: estimated from the configuration before it
runs, counted while it runs, and checked against the key's own figures (`/v1/key/info`).

CoinMarketCap's guide bills 0.025 credits per data message (a top-500 coin, pushed every 5 s,
costs about 12,960 credits a month); its overview speaks of 0.1 credit per subscription. Both
prices are settings, and the key's own `credits_used` shows which one applies.

Besides the stream, the paid REST calls (the exchange rate of `[cmc] currency`, 1 credit a
call, and the fiat map once) are counted as they are made (`CreditMeter.spend_rest`), so the
month's count, its projection and the budget cover everything this bridge spends.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..config import CreditSettings, Settings
from ..rest.key_info import KeyInfo
from ..rest.names import CoinDirectory
from ..rest.rates import monthly_credits

LOG = logging.getLogger(__name__)
FAST_CADENCE_S: Final = 5.0  # the top 500 coins by rank
SLOW_CADENCE_S: Final = 15.0  # the rest
FAST_RANKS: Final = 500
#: How long the count must run before its own rate is trusted over the configuration's estimate.
MIN_OBSERVATION_S: Final = 300.0
#: Paid REST calls come in lumps (one every `fx_interval`, and the fiat map and the first call
#: at once at start), so their own rate is trusted only once this many credits were counted:
#: the start's lump then weighs a few percent, not several times the true rate.
MIN_REST_OBSERVED: Final = 48.0
MONTH_S: Final = 30 * 86400.0
#: A busy bridge passes a credit every few messages: the count is written no oftener than this.
#: The state file lives on a Raspberry Pi's SD card as often as not: every 5 s was 17,000
#: rewrites a day; a crash now loses at most a minute's count (an exit loses nothing).
SAVE_AT_MOST_EVERY_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class Estimate:
    """A month's cost: the stream's `credits` for a set of coins, and `rest_credits` for the
    paid REST calls (the exchange rate); `total` is both."""

    coins: int
    fast: int  # coins pushed about every 5 s
    messages: float
    credits: float
    per_message: float
    per_subscription: float
    rest_credits: float = 0.0

    @property
    def total(self) -> float:
        return self.credits + self.rest_credits


def estimate(
    ids: Sequence[int],
    ranks: Mapping[int, int | None],
    prices: CreditSettings,
    *,
    seconds: float = MONTH_S,
    rest: float = 0.0,
) -> Estimate:
    """Messages and credits over `seconds` (a 30-day month by default), with `rest` credits of
    paid REST calls over the same time (`fx.monthly_credits`). A coin whose rank is unknown is
    counted at the faster cadence: the estimate errs on the side of cost."""
    fast = sum(1 for cid in ids if (ranks.get(cid) or 0) <= FAST_RANKS)
    messages = fast * seconds / FAST_CADENCE_S + (len(ids) - fast) * seconds / SLOW_CADENCE_S
    credits = messages * prices.per_message + len(ids) * prices.per_subscription
    return Estimate(
        len(ids), fast, messages, credits, prices.per_message, prices.per_subscription, rest
    )


def monthly_estimate(ids: Sequence[int], settings: Settings, names: CoinDirectory) -> Estimate:
    """The month's cost of streaming `ids` with these settings: the ranks CoinMarketCap's map
    gave (unknown ones count as top 500), and the exchange rate's calls."""
    ranks = {cid: names.get(cid).rank for cid in ids}
    return estimate(ids, ranks, settings.credits, rest=monthly_credits(settings.fx))


def month_of(now: dt.datetime) -> str:
    return f"{now.year:04d}-{now.month:02d}"


def month_end(now: dt.datetime) -> dt.datetime:
    days = calendar.monthrange(now.year, now.month)[1]
    return now.replace(day=days, hour=23, minute=59, second=59, microsecond=0)


Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: (month as "YYYY-MM", credits counted in it before this run), optionally with the part of
#: them paid REST calls spent.
MonthUsage = tuple[str | None, float] | tuple[str | None, float, float]


class CreditMeter:
    """Counts this month's credits: the stream's from the messages the connections received,
    the paid REST calls' as they are reported; projects them to the month's end; holds the
    key's own figures; decides when a budget is passed. Thread-safe."""

    def __init__(
        self,
        prices: CreditSettings,
        messages: Callable[[], int],
        *,
        subscriptions: Callable[[], int] = lambda: 0,
        baseline: Estimate,
        month_usage: MonthUsage = (None, 0.0),
        save: Callable[[str, float, float], None] | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """`messages()` and `subscriptions()` count what the stream received and subscribed
        since start (each priced by `prices`); `save(month, credits, rest)` keeps the month's
        count (all of it, and the REST calls' part of it) for the next run; it is called about
        once a minute and after each paid REST call."""
        self.prices = prices
        self._messages = messages
        self._subscriptions = subscriptions
        self._baseline = baseline
        self._save = save
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._month = month_of(now)
        saved_month, saved, *saved_rest = month_usage
        same = saved_month == self._month
        self._carried = saved if same else 0.0
        self._carried_rest = min(saved, max(0.0, saved_rest[0])) if same and saved_rest else 0.0
        self._mark_messages = messages()
        self._mark_subscriptions = subscriptions()
        self._mark_time = now
        self._rest = 0.0  # paid REST credits since the mark
        self._saved_at = self._carried  # the count as last saved, and when
        self._saved_when = 0.0
        self._rest_next_month = 0.0  # spent after the month turned, before `roll` saw it
        self.key: KeyInfo | None = None
        self.key_error: str | None = None  # why the last /v1/key/info gave no answer
        self.warned = False

    def set_baseline(self, baseline: Estimate) -> None:
        with self._lock:
            self._baseline = baseline

    @property
    def baseline(self) -> Estimate:
        with self._lock:
            return self._baseline

    def spend_rest(self, credits: float, kind: str) -> None:
        """Count a paid REST call (`kind` names it, for the log); saved at once, as a paid call
        is rare and a restart within the minute must not lose it."""
        now = self._clock()
        with self._lock:
            if month_of(now) != self._month:
                self._rest_next_month += credits
            else:
                self._rest += credits
                if self._save is not None:
                    self._save(self._month, self._used_locked(), self._rest_used_locked())
        LOG.debug("%g credits for %s", credits, kind)

    def used(self) -> float:
        """Credits counted this month, by this bridge, across restarts: stream and REST."""
        with self._lock:
            return self._used_locked()

    def stream_used(self) -> float:
        with self._lock:
            return self._used_locked() - self._rest_used_locked()

    def rest_used(self) -> float:
        """Of `used()`, what the paid REST calls spent."""
        with self._lock:
            return self._rest_used_locked()

    def _used_locked(self) -> float:
        return self._carried + self._streamed_locked() + self._rest

    def _streamed_locked(self) -> float:
        """The stream's credits since the mark: its messages and its subscriptions."""
        messages = self._messages() - self._mark_messages
        subscriptions = self._subscriptions() - self._mark_subscriptions
        return messages * self.prices.per_message + subscriptions * self.prices.per_subscription

    def _rest_used_locked(self) -> float:
        return self._carried_rest + self._rest

    def checkpoint(self, *, force: bool = False) -> None:
        """Save the count when it passed another whole credit since it was last saved, at most
        every `SAVE_AT_MOST_EVERY_S` (call often: about once a second), or now with `force` (at
        exit): a crash loses less than a credit or a minute's worth, whichever is more."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._saved_when < SAVE_AT_MOST_EVERY_S:
                return
            used = self._used_locked()
            if force or int(used) != int(self._saved_at):
                self._save_locked(used)

    def _save_locked(self, used: float) -> None:
        self._saved_at = used
        self._saved_when = time.monotonic()
        if self._save is not None:
            self._save(self._month, used, self._rest_used_locked())

    def roll(self) -> bool:
        """Call about once a minute: saves the count, and starts afresh when the month turned.
        True when it did."""
        now = self._clock()
        with self._lock:
            if month_of(now) == self._month:
                self._save_locked(self._used_locked())
                return False
            self._month = month_of(now)
            self._carried = self._carried_rest = 0.0
            self._rest, self._rest_next_month = self._rest_next_month, 0.0
            self._mark_messages = self._messages()
            self._mark_subscriptions = self._subscriptions()
            self._mark_time = now
            self.warned = False
            self._saved_at = self._rest
            if self._save is not None:
                self._save(self._month, self._rest, self._rest)
            return True

    def rate_per_second(self) -> float:
        """Credits a second, stream and REST calls."""
        return self.stream_rate() + self.rest_rate()

    def stream_rate(self) -> float:
        """The stream's credits a second: as observed once the count ran long enough, else as
        estimated."""
        now = self._clock()
        with self._lock:
            observed = (now - self._mark_time).total_seconds()
            if observed >= MIN_OBSERVATION_S:
                return self._streamed_locked() / observed
            return self._baseline.credits / MONTH_S

    def rest_rate(self) -> float:
        """The paid REST calls' credits a second: as observed once enough were counted (see
        `MIN_REST_OBSERVED`), else as estimated."""
        now = self._clock()
        with self._lock:
            observed = (now - self._mark_time).total_seconds()
            if observed >= MIN_OBSERVATION_S and self._rest >= MIN_REST_OBSERVED:
                return self._rest / observed
            return self._baseline.rest_credits / MONTH_S

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
        with self._lock:
            used, rest = self._used_locked(), self._rest_used_locked()
            baseline = self._baseline
        data: dict[str, Any] = {
            "month": self._month,
            "estimated_used": round(used, 2),
            "stream_used": round(used - rest, 2),
            "rest_used": round(rest, 2),
            "projected": round(self.projected(), 2),
            "configured_estimate": round(baseline.total, 2),
            "stream_estimate": round(baseline.credits, 2),
            "rest_estimate": round(baseline.rest_credits, 2),
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
