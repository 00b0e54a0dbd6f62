"""Outputs for small displays: `<prefix>/<id>/text` and AWTRIX 3 custom apps.

A ticker wants one ready string, not 13 numbers, and no more updates than it can show: each
output throttles per coin (`min_interval`) and skips moves smaller than `deadband` percent,
then sends the newest value once the interval has passed.

Amounts in the user's currency, holdings and the portfolio come from a `MoneyProvider` the
bridge passes in (the stream's numbers are USD floats); without one the texts are USD as ever.
A clock can also show the symbol and change in colour, a chart app per coin, and alerts
(`AwtrixExtras`, all off by default; payloads in `awtrix`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import AwtrixSettings, Settings, TextSettings, Throttle
from ..displays.awtrix import (
    APP_PREFIX,
    GREEN,
    RED,
    WHITE,
    AlertSignals,
    AwtrixExtras,
    PriceHistory,
    app_payload,
    app_topic,
    chart_payload,
    chart_topic,
    clock_currency,
    fragments,
)
from ..displays.text import TextTemplate
from ..money.alerts import Alert
from ..money.currency import NO_MONEY, MoneyValues
from ..mqtt.extension import Extension, Outbox
from ..rest.names import CoinDirectory
from ..state.bridge_state import BridgeState

if TYPE_CHECKING:
    from .parts import BridgeParts


__all__ = [
    "APP_PREFIX",
    "GREEN",
    "RED",
    "WHITE",
    "Displays",
    "MoneyProvider",
    "Renderer",
    "ThrottledOutput",
    "awtrix_app_topic",
    "awtrix_payload",
    "awtrix_renderer",
    "chart_renderer",
    "text_renderer",
]

#: (coin id, its last good numbers) -> (topic, payload), or None when there is nothing to show.
Renderer = Callable[[int, Mapping[str, float]], tuple[str, str] | None]
#: coin id -> its amounts in the chosen currency (converted fields, holding, portfolio).
MoneyProvider = Callable[[int], MoneyValues]


@dataclass(slots=True)
class _Sent:
    """What a coin last showed. The payload is kept as its hash: enough to tell an unchanged
    text (a 64-bit hash collision would hold back one update until the next), and 10,000
    coins' texts would be a megabyte kept only to be compared."""

    at: float
    price: float
    payload_hash: int


class ThrottledOutput:
    """One display output: remembers what each coin last showed and when."""

    def __init__(self, throttle: Throttle, renderer: Renderer) -> None:
        self._throttle = throttle
        self._render = renderer
        self._sent: dict[int, _Sent] = {}
        self._waiting: set[int] = set()

    def reset(self) -> None:
        """After a reconnect: the broker may have lost everything, so send all again (and nothing
        is waiting for an interval measured from a send that no longer counts)."""
        self._sent.clear()
        self._waiting.clear()

    def offer(self, cid: int, numbers: Mapping[str, float], now: float, out: Outbox) -> None:
        last = self._sent.get(cid)
        if last is not None and now - last.at < self._throttle.min_interval:
            self._waiting.add(cid)
            return
        self._waiting.discard(cid)
        price = numbers.get("p")
        if price is None:
            return
        if last is not None and self._within_deadband(last.price, price):
            return
        message = self._render(cid, numbers)
        if message is None:
            return
        payload_hash = hash(message[1])
        if last is not None and last.payload_hash == payload_hash:
            return
        out.publish(message[0], message[1], retain=True)
        self._sent[cid] = _Sent(now, price, payload_hash)

    def _within_deadband(self, shown: float, price: float) -> bool:
        deadband = self._throttle.deadband
        return deadband > 0 and shown > 0 and abs(price / shown - 1) * 100 < deadband

    def due(self, now: float) -> list[int]:
        """Coins held back by the throttle whose interval has now passed."""
        interval = self._throttle.min_interval
        return [cid for cid in self._waiting if now - self._sent[cid].at >= interval]


def text_renderer(
    settings: TextSettings,
    state: BridgeState,
    names: CoinDirectory,
    money: MoneyProvider | None = None,
) -> Renderer:
    template = TextTemplate(settings.template)

    def rendered(cid: int, numbers: Mapping[str, float]) -> tuple[str, str] | None:
        amounts = money(cid) if money is not None else NO_MONEY
        text = template.render(names.get(cid), numbers, amounts)
        return state.topics.coin_text(cid), text

    return rendered


def awtrix_app_topic(clock: AwtrixSettings, cid: int) -> str:
    return app_topic(clock.prefix, cid)


def awtrix_payload(clock: AwtrixSettings, text: str, change: float | None, cid: int) -> str:
    """The coin's custom app with a plain text (see `awtrix.app_payload`)."""
    return app_payload(text=text, change=change, lifetime=clock.lifetime, icon=clock.icons.get(cid))


def awtrix_renderer(
    clock: AwtrixSettings,
    names: CoinDirectory,
    extras: AwtrixExtras | None = None,
    money: MoneyProvider | None = None,
) -> Renderer:
    template = TextTemplate(clock.template)
    extras = extras or AwtrixExtras()

    def rendered(cid: int, numbers: Mapping[str, float]) -> tuple[str, str] | None:
        amounts = money(cid) if money is not None else NO_MONEY
        amounts = dataclasses.replace(amounts, currency=clock_currency(amounts.currency))
        change = numbers.get("p24h")
        coin = names.get(cid)
        if extras.colored_text:
            parts = template.render_parts(coin, numbers, amounts)
            text: str | list[dict[str, str]] = fragments(parts, change, extras.symbol_color)
        else:
            text = template.render(coin, numbers, amounts)
        payload = app_payload(
            text=text, change=change, lifetime=clock.lifetime, icon=clock.icons.get(cid)
        )
        return awtrix_app_topic(clock, cid), payload

    return rendered


def chart_renderer(clock: AwtrixSettings, history: PriceHistory) -> Renderer:
    """The coin's chart app from `history` (fed by `Displays` with every price)."""

    def rendered(cid: int, numbers: Mapping[str, float]) -> tuple[str, str] | None:
        payload = chart_payload(
            history.series(cid), numbers.get("p24h"), clock.lifetime, clock.icons.get(cid)
        )
        return None if payload is None else (chart_topic(clock.prefix, cid), payload)

    return rendered


class Displays(Extension):
    """The display outputs as one publisher extension.

    `extras` holds each clock's richer options, in the order of `settings.awtrix` (missing:
    all off); `money` supplies amounts in the chosen currency (None: USD as received)."""

    def __init__(
        self,
        settings: Settings,
        state: BridgeState,
        names: CoinDirectory,
        *,
        extras: Sequence[AwtrixExtras] = (),
        money: MoneyProvider | None = None,
    ) -> None:
        self._state = state
        self._names = names
        self.outputs: list[ThrottledOutput] = []
        self.histories: list[PriceHistory] = []
        self.signals: list[AlertSignals] = []
        self._known_ids: tuple[int, ...] = state.crypto_ids
        if settings.text.enabled:
            renderer = text_renderer(settings.text, state, names, money)
            self.outputs.append(ThrottledOutput(settings.text.throttle, renderer))
        for index, clock in enumerate(settings.awtrix):
            extra = extras[index] if index < len(extras) else AwtrixExtras()
            renderer = awtrix_renderer(clock, names, extra, money)
            self.outputs.append(ThrottledOutput(clock.throttle, renderer))
            if extra.chart_points >= 2:
                history = PriceHistory(extra.chart_points, extra.chart_interval)
                self.histories.append(history)
                chart = chart_renderer(clock, history)
                self.outputs.append(ThrottledOutput(clock.throttle, chart))
            signals = AlertSignals(clock.prefix, extra, clock.icons)
            if signals.enabled:
                self.signals.append(signals)

    def on_connected(self, out: Outbox) -> None:
        self.resend(out)

    def resend(self, out: Outbox) -> None:
        """Send every coin's output again now, throttle or not: after a reconnect, or after
        an app was deleted. An AWTRIX clock deletes every app whose name starts with the one
        deleted (`cmc_1` takes `cmc_10` and `cmc_1027` with it), so the apps still wanted
        are sent again right after."""
        for output in self.outputs:
            output.reset()
        self._offer(set(self._state.crypto_ids), out)

    def on_batch(self, out: Outbox) -> None:
        changed = self._state.take_changed_coins()
        if changed and (self.outputs or self.histories):
            self._offer(changed, out)

    def refresh(self, out: Outbox) -> None:
        """Offer every coin again: the rate, a holding or the portfolio changed, not a quote.
        The throttle and deadband still apply."""
        self._offer(set(self._state.crypto_ids), out)

    def show_alerts(self, alerts: Sequence[Alert], out: Outbox) -> None:
        """Alerts as notifications and indicator blinks on the clocks that want them."""
        now = time.monotonic()
        for alert in alerts:
            coin = self._names.get(alert.cid)
            for signals in self.signals:
                for topic, payload in signals.on_alert(alert, coin, now):
                    out.publish(topic, payload, retain=False)

    def tick(self, now: float, out: Outbox) -> None:
        for signals in self.signals:
            for topic, payload in signals.due(now):
                out.publish(topic, payload, retain=False)
        ids = self._state.crypto_ids
        if ids is not self._known_ids:
            self._known_ids = ids
            for history in self.histories:
                history.keep_only(ids)
        for output in self.outputs:
            for cid in output.due(now):
                numbers = self._state.numbers(cid)
                if numbers is not None:
                    output.offer(cid, numbers, now, out)

    def _offer(self, cids: set[int], out: Outbox) -> None:
        now = time.monotonic()
        for cid in cids:
            numbers = self._state.numbers(cid)
            if not numbers:
                continue
            price = numbers.get("p")
            if price is not None:
                for history in self.histories:
                    history.add(cid, price, now)
            for output in self.outputs:
                output.offer(cid, numbers, now, out)


def build(parts: BridgeParts) -> Displays:
    """Always (with `[text]` off and no clock it only waits)."""
    valuation = parts.money.valuation
    return Displays(
        parts.settings,
        parts.state,
        parts.names,
        extras=tuple(clock.extras for clock in parts.settings.awtrix),
        money=valuation.money if valuation is not None else None,
    )
