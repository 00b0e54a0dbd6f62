"""`<prefix>/bridge/info`: what an operator looks at first. Published on every connection, at
once when the stream comes or goes, its first frame arrives or a request changed the coins or
holdings, else at most every 10 s when it changed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from ..mqtt.extension import Extension, Outbox
from ..state.bridge_state import BridgeState

if TYPE_CHECKING:
    from .parts import BridgeParts


INFO_INTERVAL_S: Final = 10.0


class BridgeInfo(Extension):
    def __init__(
        self, state: BridgeState, version: str, *, interval: float = INFO_INTERVAL_S
    ) -> None:
        self._state = state
        self._version = version
        self._interval = interval
        #: Further parts of the payload, each computed when it is built (connections, …).
        self.sources: dict[str, Callable[[], object]] = {}
        self._last = ""
        self._next = 0.0
        self._moment = (False, False)  # stream online, any frame yet
        self._rate_mark = (time.monotonic(), 0)  # for frames per second: when, how many
        self._rate: float | None = None
        self._soon = threading.Event()
        self._id_lists = IdListTexts()

    def publish_soon(self) -> None:
        """Publish on the MQTT thread's next round, not within 10 s (any thread): after a
        request changed what the payload says, whoever asked reads the new state at once."""
        self._soon.set()

    def payload(self) -> str:
        fields = self._state.info_fields()
        info: dict[str, object] = {"version": self._version, **fields}
        info["frames_per_second"] = self._frame_rate(fields["frames"])
        for name, source in self.sources.items():
            info[name] = source()
        return self._encoded(info)

    def _encoded(self, info: dict[str, object]) -> str:
        """The payload's JSON, with the id lists (10,000 coins: two lists of 10,000 ids, 100 KB)
        written from texts kept while they stay the same: encoding them anew every 10 s made
        20,000 small strings each time, a megabyte that raised the process's peak for nothing."""
        lists = self._id_lists
        crypto_ids = info.pop("crypto_ids", None)
        connections = info.pop("connections", None)
        text = json.dumps(info, separators=(",", ":"))[:-1]
        if isinstance(crypto_ids, list):
            text += ',"crypto_ids":' + lists.text(crypto_ids)
        if isinstance(connections, list):
            entries = []
            for connection in connections:
                ids = connection.pop("ids", None)
                entry = json.dumps(connection, separators=(",", ":"))
                if isinstance(ids, list):
                    entry = entry[:-1] + ',"ids":' + lists.text(ids) + "}"
                entries.append(entry)
            text += ',"connections":[' + ",".join(entries) + "]"
        lists.forget_unused()
        return text + "}"

    def _frame_rate(self, frames: object) -> float | None:
        """Frames a second, measured over at least a second (None until one has passed)."""
        if not isinstance(frames, int):
            return None
        now = time.monotonic()
        since, before = self._rate_mark
        if now - since >= 1:
            self._rate = round((frames - before) / (now - since), 1)
            self._rate_mark = (now, frames)
        return self._rate

    def on_connected(self, out: Outbox) -> None:
        self._publish(out, force=True)

    def on_batch(self, out: Outbox) -> None:
        self._publish(out, force=False)

    def tick(self, now: float, out: Outbox) -> None:
        self._publish(out, force=False)

    def _publish(self, out: Outbox, *, force: bool) -> None:
        now = time.monotonic()
        moment = (self._state.stream_online, self._state.counters.frames > 0)
        if moment != self._moment:
            self._moment = moment
            force = True
        if self._soon.is_set():
            self._soon.clear()
            force = True
        if not force and now < self._next:
            return
        self._next = now + self._interval
        payload = self.payload()
        if force or payload != self._last:
            self._last = payload
            out.publish(self._state.topics.info, payload, retain=True)


class IdListTexts:
    """JSON texts of id lists, kept from one payload to the next while the list stays the same
    (the coins and the connections' layout change rarely)."""

    def __init__(self) -> None:
        self._texts: dict[tuple[int, ...], str] = {}
        self._used: set[tuple[int, ...]] = set()

    def text(self, ids: Iterable[int]) -> str:
        key = tuple(ids)
        self._used.add(key)
        found = self._texts.get(key)
        if found is None:
            found = self._texts[key] = "[" + ",".join(map(str, key)) + "]"
        return found

    def forget_unused(self) -> None:
        for key in self._texts.keys() - self._used:
            del self._texts[key]
        self._used.clear()


def build(parts: BridgeParts) -> BridgeInfo:
    """Always: what an operator looks at first. Published at once when the coins, the holdings
    or discovery change."""
    info = BridgeInfo(parts.state, parts.version, interval=parts.info_interval)
    info.sources.update(parts.info_sources)
    parts.coins.add_listener(lambda _added, _removed: info.publish_soon())
    parts.money.holding_set.add_listener(lambda _changed: info.publish_soon())
    parts.discovery_switch.add_listener(lambda _on: info.publish_soon())
    return info
