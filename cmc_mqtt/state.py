"""Bridge state: the last good value of every field, and the counters.

It is also the publish queue. The stream thread merges quotes in; the MQTT thread takes what
changed. Frames for one coin that arrive while MQTT is slow or away coalesce into the newest
values, so memory stays bounded by the number of coins and a reconnect republishes exactly the
current picture. The lock here is the only one shared between the two threads.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from .fields import FIELDS
from .frames import QuoteFrame

ONLINE: Final = "online"
OFFLINE: Final = "offline"
_FIELD_ORDER: Final = tuple(f.key for f in FIELDS)

Message = tuple[str, str]


@dataclass(slots=True)
class CoinQuote:
    """Last good values of one coin; fields never seen stay absent."""

    texts: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, float] = field(default_factory=dict)
    ts: int | None = None
    received: float = 0.0  # time.time() of the last accepted frame
    received_mono: float = 0.0  # the same on the monotonic clock, for staleness
    online: bool = False  # data fresher than `stale_after`


@dataclass(slots=True)
class Counters:
    frames: int = 0
    malformed: int = 0
    unexpected_coins: int = 0
    server_errors: int = 0
    reconnects: int = 0
    publishes: int = 0


class Topics:
    """Every topic name the bridge writes, computed once: none comes from stream text."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.status = f"{prefix}/status"
        self.info = f"{prefix}/bridge/info"
        self._coin: dict[int, dict[str, str]] = {}

    def coin(self, coin_id: int) -> dict[str, str]:
        """Field key (and "json") -> topic for one coin."""
        topics = self._coin.get(coin_id)
        if topics is None:
            topics = {key: f"{self.prefix}/{coin_id}/{key}" for key in _FIELD_ORDER}
            topics["json"] = f"{self.prefix}/{coin_id}/json"
            topics["status"] = f"{self.prefix}/{coin_id}/status"
            topics["text"] = f"{self.prefix}/{coin_id}/text"
            self._coin[coin_id] = topics
        return topics


def quote_json(coin_id: int, quote: CoinQuote) -> str:
    """All last good fields plus `cid` and `ts`, written from exact texts (no float rounding)."""
    parts = [f'"cid":{coin_id}']
    texts = quote.texts
    parts.extend(f'"{key}":{texts[key]}' for key in _FIELD_ORDER if key in texts)
    parts.append(f'"ts":{quote.ts if quote.ts is not None else "null"}')
    return "{" + ",".join(parts) + "}"


class BridgeState:
    """Shared between the stream thread (writes) and the MQTT thread (reads and takes)."""

    def __init__(
        self, crypto_ids: Iterable[int], topics: Topics, *, stale_after: float = 45.0
    ) -> None:
        self.crypto_ids: tuple[int, ...] = tuple(crypto_ids)
        self.topics = topics
        self.stale_after = stale_after
        self.counters = Counters()
        self._lock = threading.Lock()
        self._quotes: dict[int, CoinQuote] = {cid: CoinQuote() for cid in self.crypto_ids}
        self._pending: dict[int, set[str]] = {}
        self._changed_coins: set[int] = set()  # for display outputs, taken separately
        self._stream_online = False
        self._ever_online = False
        self._status_changed = True
        self._last_frame_wall: float | None = None
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, wake: Callable[[], None]) -> None:
        """`wake` is called (from the stream thread) whenever something new can be taken."""
        self._listeners.append(wake)

    def _notify(self) -> None:
        for wake in self._listeners:
            wake()

    # --- written by the stream thread ---------------------------------------------------------

    def apply_quote(self, frame: QuoteFrame) -> bool:
        """Merge a quote; nulls and absent fields keep their last good value. False: not ours."""
        with self._lock:
            quote = self._quotes.get(frame.cid)
            if quote is None:
                self.counters.unexpected_coins += 1
                return False
            quote.texts.update(frame.texts)
            quote.numbers.update(frame.numbers)
            if frame.ts is not None:
                quote.ts = frame.ts
            now = time.time()
            quote.received = now
            quote.received_mono = time.monotonic()
            self._last_frame_wall = now
            self.counters.frames += 1
            pending = self._pending.get(frame.cid)
            if pending is None:
                pending = self._pending[frame.cid] = set(frame.texts)
            else:
                pending.update(frame.texts)
            if not quote.online:
                quote.online = True
                pending.add("status")
            self._changed_coins.add(frame.cid)
        self._notify()
        return True

    def set_stream_online(self, online: bool) -> None:
        with self._lock:
            if online == self._stream_online:
                return
            self._stream_online = online
            self._status_changed = True
            if online:
                if self._ever_online:
                    self.counters.reconnects += 1
                self._ever_online = True
        self._notify()

    def count_malformed(self) -> None:
        with self._lock:
            self.counters.malformed += 1

    def count_server_error(self) -> None:
        with self._lock:
            self.counters.server_errors += 1

    # --- read by the MQTT thread --------------------------------------------------------------

    @property
    def stream_online(self) -> bool:
        return self._stream_online

    def take_pending(self, max_coins: int = 256) -> list[Message]:
        """Messages for what changed since the last take, newest values only, for at most
        `max_coins` coins: a burst (10,000 coins' first quotes) leaves the MQTT client a
        bounded queue, and what is not taken yet keeps coalescing here."""
        with self._lock:
            if not self._pending and not self._status_changed:
                return []
            messages: list[Message] = []
            if self._status_changed:
                self._status_changed = False
                messages.append(self._status_message())
            pending = self._pending
            for cid in list(itertools.islice(pending, max_coins)):
                self._coin_messages(messages, cid, pending.pop(cid))
            return messages

    @property
    def has_pending(self) -> bool:
        return bool(self._pending) or self._status_changed

    def snapshot(self) -> list[Message]:
        """Everything there is to know, for a broker that may have lost its retained store."""
        with self._lock:
            self._pending.clear()
            self._status_changed = False
            messages = [self._status_message()]
            for cid in self.crypto_ids:
                self._coin_messages(messages, cid, None)
            return messages

    def _coin_messages(self, out: list[Message], cid: int, keys: set[str] | None) -> None:
        """Append a coin's field topics (all known, or just `keys`), its json topic when a
        field is among them, and its status when asked for (always, for a snapshot)."""
        quote = self._quotes[cid]
        topics = self.topics.coin(cid)
        texts = quote.texts
        wanted = texts if keys is None else keys
        before = len(out)
        out.extend((topics[key], texts[key]) for key in _FIELD_ORDER if key in wanted)
        if len(out) > before:
            out.append((topics["json"], quote_json(cid, quote)))
        if keys is None or "status" in keys:
            out.append((topics["status"], ONLINE if quote.online else OFFLINE))

    def take_changed_coins(self) -> set[int]:
        """Coins with new quotes since the last call (display outputs throttle on their own)."""
        with self._lock:
            changed, self._changed_coins = self._changed_coins, set()
            return changed

    def check_stale(self) -> None:
        """Mark coins without data for `stale_after` seconds offline (MQTT thread, ~1/s)."""
        deadline = time.monotonic() - self.stale_after
        with self._lock:
            for cid, quote in self._quotes.items():
                if quote.online and quote.received_mono < deadline:
                    quote.online = False
                    self._pending.setdefault(cid, set()).add("status")

    def count_publishes(self, count: int) -> None:
        with self._lock:
            self.counters.publishes += count

    def info_payload(self, version: str) -> str:
        with self._lock:
            c = self.counters
            last = self._last_frame_wall
            info = {
                "version": version,
                "crypto_ids": list(self.crypto_ids),
                "stream_connected": self._stream_online,
                "frames": c.frames,
                "malformed_frames": c.malformed,
                "unexpected_coins": c.unexpected_coins,
                "server_errors": c.server_errors,
                "reconnects": c.reconnects,
                "publishes": c.publishes,
                "last_frame_time": (
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last)) if last else None
                ),
            }
        return json.dumps(info, separators=(",", ":"))

    def _status_message(self) -> Message:
        return (self.topics.status, ONLINE if self._stream_online else OFFLINE)

    def quote(self, coin_id: int) -> CoinQuote | None:
        """A copy of one coin's last good values (for displays and tests)."""
        with self._lock:
            quote = self._quotes.get(coin_id)
            if quote is None:
                return None
            return CoinQuote(
                dict(quote.texts),
                dict(quote.numbers),
                quote.ts,
                quote.received,
                quote.received_mono,
                quote.online,
            )

    def numbers(self, coin_id: int) -> dict[str, float] | None:
        """A copy of one coin's last good values as numbers (what display outputs need)."""
        with self._lock:
            quote = self._quotes.get(coin_id)
            return None if quote is None else dict(quote.numbers)

    def prices(self) -> dict[int, float]:
        """The last good price of every coin that has one."""
        with self._lock:
            return {cid: q.numbers["p"] for cid, q in self._quotes.items() if "p" in q.numbers}
