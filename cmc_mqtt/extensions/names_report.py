"""`<prefix>/bridge/names` (retained): the names of the coins streamed, for whoever shows them
without MQTT discovery (the custom integration names its devices and option lists from it).

`{"52": {"name": "XRP", "symbol": "XRP", "slug": "xrp"}, ...}`, only coins whose name is known
(not the "CMC #<id>" fallback). Published on every connection and again when the names or the
coins change; the stream never waits for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..model.coins import unnamed
from ..mqtt.extension import Extension, Outbox
from ..rest.client import REST_TIMEOUT_S, Cancel
from ..rest.names import CoinDirectory

if TYPE_CHECKING:
    from .parts import BridgeParts


class NamesReport(Extension):
    def __init__(
        self,
        topic: str,
        names: CoinDirectory,
        coin_ids: Callable[[], tuple[int, ...]],
        *,
        look_up: Callable[[], None] | None = None,
    ) -> None:
        """`look_up()` asks for better names once, at start."""
        self._topic = topic
        self._look_up = look_up
        self._names = names
        self._coin_ids = coin_ids
        self._changed = threading.Event()  # names improved (any thread)
        self._ids: tuple[int, ...] | None = None
        self._last = ""

    def start(self) -> None:
        self._names.add_listener(self._changed.set)
        if self._look_up is not None:
            self._look_up()

    def stop(self) -> None:
        self._names.remove_listener(self._changed.set)

    def payload(self) -> str:
        names: dict[str, dict[str, str]] = {}
        for cid in self._coin_ids():
            coin = self._names.get(cid)
            if coin == unnamed(cid):
                continue  # nothing known beyond the id
            entry = {"name": coin.name, "symbol": coin.symbol}
            if coin.slug:
                entry["slug"] = coin.slug
            names[str(cid)] = entry
        return json.dumps(names, separators=(",", ":"), ensure_ascii=False)

    def on_connected(self, out: Outbox) -> None:
        self._last = ""
        self._publish(out)

    def tick(self, now: float, out: Outbox) -> None:
        ids = self._coin_ids()
        if self._changed.is_set() or ids is not self._ids:
            self._publish(out)

    def _publish(self, out: Outbox) -> None:
        self._changed.clear()
        self._ids = self._coin_ids()
        payload = self.payload()
        if payload != self._last:
            self._last = payload
            out.publish(self._topic, payload, retain=True)


def build(parts: BridgeParts) -> NamesReport:
    """Always; with `lookup_names` the names are asked of CoinMarketCap's map at start-up too,
    on the REST worker, never in front of the stream."""
    names = parts.names
    settings = parts.settings
    look_up = None
    if settings.names.lookup:
        key, url = settings.stream.api_key, settings.names.rest_url

        def refresh(cancel: Cancel) -> None:
            names.refresh(key, url, parts.state.crypto_ids, REST_TIMEOUT_S, cancel)

        def look_up() -> None:
            parts.rest.schedule(refresh)

    return NamesReport(parts.topics.names, names, lambda: parts.state.crypto_ids, look_up=look_up)
