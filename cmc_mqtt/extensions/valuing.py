"""The valuation's topics on the broker: after new quotes the coins that changed, after a new
rate, a rate gone stale or a reconnect every coin, as `money.valuation.Valuation` computes them;
alerts once, not retained, and to the displays.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..model.topics import Topics
from ..money.alerts import Alert
from ..money.valuation import Valuation
from ..mqtt.extension import Extension, Outbox
from .display_outputs import Displays

if TYPE_CHECKING:
    from .parts import BridgeParts


#: Shows alerts on the displays (`Displays.show_alerts`).
ShowAlerts = Callable[[list[Alert], Outbox], None]


class Changes(Protocol):
    """What the extension needs of `BridgeState`: the coins, and a change channel of its own."""

    @property
    def crypto_ids(self) -> tuple[int, ...]: ...
    def take_changed(self, channel: int) -> set[int]: ...


class ValuationExtension(Extension):
    """Publishes what `Valuation` computes, on the MQTT thread: after new quotes the coins that
    changed; after a new rate, a rate gone stale or a reconnect, every coin. Alerts go out once,
    not retained, on `<prefix>/<id>/alert` and to the displays."""

    def __init__(
        self,
        valuation: Valuation,
        state: Changes,
        channel: int,
        *,
        topics: Topics,
        show_alerts: ShowAlerts | None = None,
        refresh_displays: Callable[[Outbox], None] | None = None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        """`channel`: the state's change channel opened for this extension (before the stream
        starts, so no quote is missed); `wake` asks the MQTT thread to run `on_batch` soon."""
        self._valuation = valuation
        self._state = state
        self._channel = channel
        self._topics = topics
        self._show_alerts = show_alerts
        self._refresh_displays = refresh_displays
        self._wake = wake
        self._everything = True
        self._flag_lock = threading.Lock()
        self._stale: bool | None = None
        self._on_start: list[Callable[[], None]] = []

    def run_on_start(self, action: Callable[[], None]) -> None:
        self._on_start.append(action)

    def start(self) -> None:
        self._valuation.keeper.add_listener(self.refresh_all)
        for action in self._on_start:
            action()

    def stop(self) -> None:
        self._valuation.keeper.remove_listener(self.refresh_all)

    def refresh_all(self) -> None:
        """Value every coin again on the next round (any thread: a new rate, changed coins or
        holdings)."""
        with self._flag_lock:
            self._everything = True
        if self._wake is not None:
            self._wake()

    def on_connected(self, out: Outbox) -> None:
        self._valuation.reset()
        self._everything = True
        self._flush(out)

    def on_batch(self, out: Outbox) -> None:
        # After every frame: with nothing to value (USD, nothing held, no alerts: the usual
        # bridge) there is nothing to do until a holding, a rate or a new currency says
        # "everything" (read without the lock: a flag set a moment late is seen by the next
        # batch or tick). The changes taken meanwhile are let go at the next tick.
        if self._everything or self._valuation.watching():
            self._flush(out)

    def tick(self, now: float, out: Outbox) -> None:
        if self._valuation.keeper.is_stale() != self._stale:  # went stale, or came back
            self._everything = True
        self._flush(out)

    def _flush(self, out: Outbox) -> None:
        with self._flag_lock:
            everything, self._everything = self._everything, False
        changed = self._state.take_changed(self._channel)
        if not everything and not (changed and self._valuation.watching()):
            return  # nothing new, or nothing to value: the quotes alone are not worth sorting
        cids = set(self._state.crypto_ids) if everything else changed
        self._stale = self._valuation.keeper.is_stale()  # what the messages below say
        for topic, payload in self._valuation.messages(sorted(cids)):
            out.publish(topic, payload, retain=True)
        alerts = self._valuation.alerts(sorted(cids))
        for alert in alerts:
            out.publish(self._topics.coin_alert(alert.cid), alert.payload(), retain=False)
        if alerts and self._show_alerts is not None:
            self._show_alerts(alerts, out)
        if everything and self._refresh_displays is not None:
            self._refresh_displays(out)


def build(parts: BridgeParts) -> ValuationExtension | None:
    """When there is something to value (another currency, holdings, alerts, or requests that
    may set holdings). It asks CoinMarketCap for the rate when that is the rate's source, and
    values everything again when the coins or the holdings change."""
    money = parts.money
    valuation = money.valuation
    if valuation is None:
        return None
    displays = parts.find(Displays)
    valuing = ValuationExtension(
        valuation,
        parts.state,
        parts.state.open_channel(),
        topics=parts.topics,
        show_alerts=displays.show_alerts if displays is not None else None,
        refresh_displays=displays.refresh if displays is not None else None,
        wake=parts.wake,
    )
    if (source := money.rate_source) is not None:
        interval = parts.settings.fx.interval
        valuing.run_on_start(lambda: parts.rest.schedule(source, every=interval))

    def coins_changed(_added: tuple[int, ...], removed: tuple[int, ...]) -> None:
        valuation.forget(removed)
        valuing.refresh_all()

    parts.coins.add_listener(coins_changed)
    money.holding_set.add_listener(lambda _changed: valuing.refresh_all())
    return valuing
