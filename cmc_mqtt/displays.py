"""Outputs for small displays: `<prefix>/<id>/text` and AWTRIX 3 custom apps.

A ticker wants one ready string, not 13 numbers, and no more updates than it can show: each
output throttles per coin (`min_interval`) and skips moves smaller than `deadband` percent,
then sends the newest value once the interval has passed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from .config import AwtrixSettings, Settings, TextSettings, Throttle
from .extension import Extension, Outbox
from .names import CoinDirectory
from .state import BridgeState
from .text import TextTemplate

GREEN: Final = "#00FF00"
RED: Final = "#FF0000"
WHITE: Final = "#FFFFFF"
APP_PREFIX: Final = "cmc_"

#: (coin id, its last good numbers) -> (topic, payload), or None when there is nothing to show.
Renderer = Callable[[int, Mapping[str, float]], tuple[str, str] | None]


@dataclass(slots=True)
class _Sent:
    at: float
    price: float
    payload: str


class ThrottledOutput:
    """One display output: remembers what each coin last showed and when."""

    def __init__(self, throttle: Throttle, renderer: Renderer) -> None:
        self._throttle = throttle
        self._render = renderer
        self._sent: dict[int, _Sent] = {}
        self._waiting: set[int] = set()

    def reset(self) -> None:
        """After a reconnect: the broker may have lost everything, so send all again."""
        self._sent.clear()

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
        if message is None or (last is not None and last.payload == message[1]):
            return
        out.publish(message[0], message[1], retain=True)
        self._sent[cid] = _Sent(now, price, message[1])

    def _within_deadband(self, shown: float, price: float) -> bool:
        deadband = self._throttle.deadband
        return deadband > 0 and shown > 0 and abs(price / shown - 1) * 100 < deadband

    def due(self, now: float) -> list[int]:
        """Coins held back by the throttle whose interval has now passed."""
        interval = self._throttle.min_interval
        return [cid for cid in self._waiting if now - self._sent[cid].at >= interval]


def text_renderer(settings: TextSettings, state: BridgeState, names: CoinDirectory) -> Renderer:
    template = TextTemplate(settings.template)

    def rendered(cid: int, numbers: Mapping[str, float]) -> tuple[str, str] | None:
        text = template.render(names.get(cid), numbers)
        return state.topics.coin(cid)["text"], text

    return rendered


def awtrix_app_topic(clock: AwtrixSettings, cid: int) -> str:
    return f"{clock.prefix}/custom/{APP_PREFIX}{cid}"


def awtrix_payload(clock: AwtrixSettings, text: str, change: float | None, cid: int) -> str:
    """A custom app: green or red by the 24 h change; `lifetimeMode: 1` frames a stale price in
    red on the clock instead of hiding it. Never `save`: that would wear the clock's flash."""
    app: dict[str, object] = {
        "text": text,
        "color": WHITE if change is None else (GREEN if change >= 0 else RED),
        "lifetime": clock.lifetime,
        "lifetimeMode": 1,
    }
    icon = clock.icons.get(cid)
    if icon is not None:
        app["icon"] = icon
    return json.dumps(app, separators=(",", ":"), ensure_ascii=False)


def awtrix_renderer(clock: AwtrixSettings, names: CoinDirectory) -> Renderer:
    template = TextTemplate(clock.template)

    def rendered(cid: int, numbers: Mapping[str, float]) -> tuple[str, str] | None:
        text = template.render(names.get(cid), numbers)
        payload = awtrix_payload(clock, text, numbers.get("p24h"), cid)
        return awtrix_app_topic(clock, cid), payload

    return rendered


class Displays(Extension):
    """The display outputs as one publisher extension."""

    def __init__(self, settings: Settings, state: BridgeState, names: CoinDirectory) -> None:
        self._state = state
        self.outputs: list[ThrottledOutput] = []
        if settings.text.enabled:
            renderer = text_renderer(settings.text, state, names)
            self.outputs.append(ThrottledOutput(settings.text.throttle, renderer))
        for clock in settings.awtrix:
            self.outputs.append(ThrottledOutput(clock.throttle, awtrix_renderer(clock, names)))

    def on_connected(self, out: Outbox) -> None:
        for output in self.outputs:
            output.reset()
        self._offer(set(self._state.crypto_ids), out)

    def on_batch(self, out: Outbox) -> None:
        changed = self._state.take_changed_coins()
        if changed and self.outputs:
            self._offer(changed, out)

    def tick(self, now: float, out: Outbox) -> None:
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
            for output in self.outputs:
                output.offer(cid, numbers, now, out)
