"""Credits on the broker and the budget kept: publishes `<prefix>/bridge/credits`, warns once when
the month's projection passes `[cmc] monthly_credit_budget`, and with `on_budget = "stop"` closes
the stream before the budget is spent and opens it again when the month turns.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from .credits import CreditMeter
from .extension import Extension, Outbox
from .pool import StreamPool
from .state import BridgeState

LOG = logging.getLogger(__name__)
PUBLISH_EVERY_S: Final = 10.0
ROLL_EVERY_S: Final = 60.0
BUDGET_NOTICE: Final = "credits"
#: Seconds of spending the stop leaves before the budget: the next check, and the stop itself.
STOP_AHEAD_S: Final = 10.0


class CreditWatch(Extension):
    def __init__(
        self, topic: str, meter: CreditMeter, pool: StreamPool, state: BridgeState
    ) -> None:
        self._topic = topic
        self._meter = meter
        self._pool = pool
        self._state = state
        self._next_publish = 0.0
        self._next_roll = 0.0
        self._last = ""
        self._last_used = (meter.used(), time.monotonic())
        self.stopped = False

    def on_connected(self, out: Outbox) -> None:
        self._last = ""
        self._next_publish = 0.0

    def tick(self, now: float, out: Outbox) -> None:
        if now >= self._next_roll:
            self._next_roll = now + ROLL_EVERY_S
            if self._meter.roll() and self.stopped:
                LOG.info("a new month: the credit budget starts afresh; streaming again")
                self.stopped = False
                self._state.set_notice(BUDGET_NOTICE, None)
                self._pool.resume()
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
        used, at = meter.used(), time.monotonic()
        recent = (used - self._last_used[0]) / max(1e-3, at - self._last_used[1])
        self._last_used = (used, at)
        if meter.prices.on_budget == "stop":
            # Stop ahead of the end by what the stream would spend until it has stopped.
            margin = max(meter.rate_per_second(), recent) * STOP_AHEAD_S
            if meter.budget_spent(margin):
                self.stopped = True
                text = (
                    f"credit budget of {budget:,.0f} for this month reached: streaming stopped "
                    "until the month turns (raise cmc.monthly_credit_budget to go on)"
                )
                LOG.warning(text)
                self._state.set_notice(BUDGET_NOTICE, text)
                self._pool.pause()
                self._next_publish = 0.0
                return
        if not meter.warned and meter.over_budget():
            meter.warned = True
            text = (
                f"at this rate the month's credits come to {meter.projected():,.0f}, over the "
                f'budget of {budget:,.0f}: stream fewer coins, or set cmc.on_budget = "stop"'
            )
            LOG.warning(text)
            self._state.set_notice(BUDGET_NOTICE, text)
