"""Credits on the broker and the budget kept: publishes `<prefix>/bridge/credits`, warns once when
the month's projection passes `[cmc] monthly_credit_budget`, and with `on_budget = "stop"` closes
the stream and pauses the paid REST calls (the exchange rate) before the budget is spent, and
lets both run again when the month turns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, Protocol

from ..mqtt.extension import Extension, Outbox
from ..rest.client import REST_TIMEOUT_S, Cancel, Cancelled, RestError
from ..rest.key_info import fetch_key_info
from ..rest.worker import Job
from ..state.bridge_state import BridgeState
from ..state.credit_meter import CreditMeter, monthly_estimate
from ..stream.pool import StreamPool

if TYPE_CHECKING:
    from .parts import BridgeParts

LOG = logging.getLogger(__name__)
PUBLISH_EVERY_S: Final = 10.0
ROLL_EVERY_S: Final = 60.0
BUDGET_NOTICE: Final = "credits"
#: Seconds of spending the stop leaves before the budget: the next check, and the stop itself.
STOP_AHEAD_S: Final = 10.0


class PaidCalls(Protocol):
    """REST calls that cost credits and stop with the stream (`fx.CmcRateSource`)."""

    #: The most one run of the calls spends: the stop leaves this much room too.
    @property
    def credits_per_run(self) -> float: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class CreditWatch(Extension):
    def __init__(
        self,
        topic: str,
        meter: CreditMeter,
        pool: StreamPool,
        state: BridgeState,
        *,
        paid_calls: Sequence[PaidCalls] = (),
    ) -> None:
        self._topic = topic
        self._meter = meter
        self._pool = pool
        self._state = state
        self._paid = tuple(paid_calls)
        self._next_publish = 0.0
        self._next_roll = 0.0
        self._last = ""
        self._last_used = (meter.stream_used(), time.monotonic())
        self.stopped = False
        self._on_start: list[Callable[[], None]] = []
        #: The checks requests are held to before they spend credits (set by `build`).
        self.budget: Budget | None = None

    def run_on_start(self, action: Callable[[], None]) -> None:
        self._on_start.append(action)

    def start(self) -> None:
        for action in self._on_start:
            action()

    def stop(self) -> None:
        self._meter.checkpoint(force=True)  # the count at exit is the next run's start

    def on_connected(self, out: Outbox) -> None:
        self._last = ""
        self._next_publish = 0.0

    def tick(self, now: float, out: Outbox) -> None:
        self._meter.checkpoint()
        if now >= self._next_roll:
            self._next_roll = now + ROLL_EVERY_S
            if self._meter.roll() and self.stopped:
                LOG.info("a new month: the credit budget starts afresh; streaming again")
                self.stopped = False
                self._state.set_notice(BUDGET_NOTICE, None)
                self._pool.resume()
                for calls in self._paid:
                    calls.resume()
        self._check_budget()
        if now >= self._next_publish:
            self._next_publish = now + PUBLISH_EVERY_S
            payload = self._meter.payload(stopped=self.stopped)
            if payload != self._last:
                self._last = payload
                out.publish(self._topic, payload, retain=True)

    def _check_budget(self) -> None:
        meter = self._meter
        budget = meter.prices.monthly_budget
        if budget is None or self.stopped:
            return
        # The stream's own pace: a paid REST call's lump is no pace, and has its own margin.
        streamed, at = meter.stream_used(), time.monotonic()
        recent = (streamed - self._last_used[0]) / max(1e-3, at - self._last_used[1])
        self._last_used = (streamed, at)
        if meter.prices.on_budget == "stop":
            # Stop ahead of the end by what the stream would spend until it has stopped, and
            # by what a paid call already under way may still spend.
            margin = max(meter.stream_rate(), recent) * STOP_AHEAD_S
            margin += sum(calls.credits_per_run for calls in self._paid)
            if meter.budget_spent(margin):
                self.stopped = True
                what = "streaming and the exchange-rate calls" if self._paid else "streaming"
                text = (
                    f"credit budget of {budget:,.0f} for this month reached: {what} stopped "
                    "until the month turns (raise cmc.monthly_credit_budget to go on)"
                )
                LOG.warning(text)
                self._state.set_notice(BUDGET_NOTICE, text)
                self._pool.pause()
                for calls in self._paid:
                    calls.pause()
                self._next_publish = 0.0
                return
        if not meter.warned and meter.over_budget():
            meter.warned = True
            fewer = "stream fewer coins"
            if meter.baseline.rest_credits:
                fewer += ", ask for the exchange rate less often (cmc.fx_interval)"
            text = (
                f"at this rate the month's credits come to {meter.projected():,.0f}, over the "
                f'budget of {budget:,.0f}: {fewer}, or set cmc.on_budget = "stop"'
            )
            LOG.warning(text)
            self._state.set_notice(BUDGET_NOTICE, text)


class Budget:
    """Whether something a request asks would pass `[cmc] monthly_credit_budget`: checked before
    it spends anything (adding coins, resubscribing every coin)."""

    def __init__(self, parts: BridgeParts) -> None:
        self._parts = parts

    def adding(self, ids: list[int]) -> str | None:
        """Why streaming these coins too would pass the budget; None when it would not. Where
        subscriptions are billed, subscribing them must also fit in what is left of it now:
        the month's estimate counts each coin's subscription once, and adding and removing a
        coin again and again would otherwise spend past the budget."""
        parts = self._parts
        budget = parts.settings.credits.monthly_budget
        if budget is None:
            return None
        after = monthly_estimate([*parts.state.crypto_ids, *ids], parts.settings, parts.names)
        if after.total <= budget:
            per_subscription = parts.settings.credits.per_subscription
            subscribing = len(ids) * per_subscription
            if not per_subscription or not parts.meter.budget_spent(subscribing):
                return None
            return (
                f"subscribing {len(ids)} coin{'' if len(ids) == 1 else 's'} costs about "
                f"{subscribing:,.1f} credits; {parts.meter.used():,.1f} of this month's budget of "
                f"{budget:,.0f} are used"
            )
        cost = f"the stream costs about {after.total:,.0f} credits a month"
        if after.rest_credits:
            cost = (
                f"the stream and the exchange rate cost about {after.total:,.0f} credits a "
                f"month (the rate {after.rest_credits:,.0f})"
            )
        return f"with these coins {cost}, more than the budget of {budget:,.0f}"

    def reconnecting(self) -> str | None:
        """Why resubscribing every coin (a reconnect) would spend the rest of the budget."""
        parts = self._parts
        prices = parts.settings.credits
        if prices.monthly_budget is None or not prices.per_subscription:
            return None
        coins = len(parts.state.crypto_ids)
        cost = coins * prices.per_subscription
        if not parts.meter.budget_spent(cost):
            return None
        return (
            f"resubscribing {coins} coins costs about {cost:,.1f} credits; "
            f"{parts.meter.used():,.1f} of this month's budget of {prices.monthly_budget:,.0f} "
            "are used"
        )


def key_check(parts: BridgeParts) -> Job:
    """The REST job that asks `/v1/key/info` for the key's own figures (no credits)."""
    settings, meter = parts.settings, parts.meter

    def check(cancel: Cancel) -> None:
        try:
            meter.key = fetch_key_info(
                settings.names.rest_url, settings.stream.api_key, timeout=REST_TIMEOUT_S,
                cancel=cancel,
            )  # fmt: skip
        except Cancelled:
            return
        except RestError as exc:
            meter.key_error = str(exc)
        else:
            meter.key_error = None

    return check


def build(parts: BridgeParts) -> CreditWatch:
    """Always: every credit is counted, budget or not. The key's own figures are asked when
    REST calls are allowed (`lookup_names`); the estimate follows the coins."""
    settings = parts.settings
    rate_source = parts.money.rate_source
    watch = CreditWatch(
        parts.topics.credits,
        parts.meter,
        parts.stream,
        parts.state,
        paid_calls=[rate_source] if rate_source is not None else [],
    )
    if settings.names.lookup:
        watch.run_on_start(
            lambda: parts.rest.schedule(key_check(parts), every=settings.credits.key_info_interval)
        )

    def coins_changed(_added: tuple[int, ...], _removed: tuple[int, ...]) -> None:
        ids = parts.state.crypto_ids
        parts.meter.set_baseline(monthly_estimate(ids, settings, parts.names))

    parts.coins.add_listener(coins_changed)
    watch.budget = Budget(parts)
    return watch
