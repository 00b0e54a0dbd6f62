"""Bridge state: the last good value of every field, and the counters.

It is also the publish queue. Quotes are merged in; the publisher takes what changed. Frames for
one coin that arrive while MQTT is slow or away coalesce into the newest values, so memory stays
bounded by the number of coins and a reconnect republishes exactly the current picture. The lock
here guards everything that more than one thread touches.

Per coin the state keeps one list of exact payload texts, and what is waiting to be published is
a bit mask: at 10,000 coins a dict of topics and a set of keys per coin cost more memory than
the values themselves.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from ..model.fields import FIELD_KEYS
from ..model.topics import OFFLINE, ONLINE, Message, QuoteMessage, Topics, quote_json
from ..stream.frames import QuoteFrame
from .deadband import Deadband
from .tally import Tally

__all__ = ["BridgeState", "CoinQuote"]

_FIELD_INDEX: Final = {key: index for index, key in enumerate(FIELD_KEYS)}
_PRICE: Final = _FIELD_INDEX["p"]
#: Pending bits: one per field (in table order), then the coin's status.
STATUS_BIT: Final = 1 << len(FIELD_KEYS)
ALL_FIELD_BITS: Final = STATUS_BIT - 1


@dataclass(slots=True)
class CoinQuote:
    """Last good values of one coin: exact texts in field-table order, None where never seen.
    Each text is kept as ASCII bytes: a `bytes` of a price takes 16 bytes less than its `str`
    (1.8 MB at 10,000 coins), and it leaves as a payload without being encoded."""

    texts: list[bytes | None] = field(default_factory=lambda: [None] * len(FIELD_KEYS))
    ts: int | None = None
    received_mono: float = 0.0  # monotonic time of the last accepted frame, for staleness
    online: bool = False  # data fresher than `stale_after`
    #: With a deadband: the value each field topic was last given, what a move is measured from.
    published: list[float | None] | None = None

    def last_published(self) -> list[float | None]:
        if self.published is None:
            self.published = [None] * len(FIELD_KEYS)
        return self.published

    def known_bits(self) -> int:
        bits = 0
        for index, text in enumerate(self.texts):
            if text is not None:
                bits |= 1 << index
        return bits

    def numbers(self) -> dict[str, float]:
        """The known values as floats (texts were checked finite when they came in)."""
        return {
            key: float(text)
            for key, text in zip(FIELD_KEYS, self.texts, strict=True)
            if text is not None
        }


class BridgeState(Tally):
    """Written by the stream thread, taken from by whichever thread publishes; it also counts
    what happened (`Tally`)."""

    def __init__(
        self,
        crypto_ids: Iterable[int],
        topics: Topics,
        *,
        stale_after: float = 45.0,
        changed_only: bool = False,
        deadband: float = 0.0,
    ) -> None:
        self.crypto_ids: tuple[int, ...] = tuple(dict.fromkeys(crypto_ids))
        self.topics = topics
        self.stale_after = stale_after
        #: publish_mode "changed": a field whose text did not change is not published again,
        #: nor (with a deadband) one that moved less than `deadband` percent (or points).
        self.changed_only = changed_only or deadband > 0
        self._deadband = Deadband(deadband) if deadband > 0 else None
        super().__init__()
        self._lock = threading.Lock()
        self._quotes: dict[int, CoinQuote] = {cid: CoinQuote() for cid in self.crypto_ids}
        self._pending: dict[int, int] = {}  # coin id -> pending bits
        self._changed_coins: set[int] = set()  # for display outputs, taken separately
        #: Further consumers of "which coins have new quotes" (valuation), each taking its own.
        self._channels: list[set[int]] = []
        self._stream_online = False
        self._ever_online = False
        self._status_changed = True
        self._listeners: list[Callable[[], None]] = []
        self._held = False  # changes merged with `hold` that no listener was woken for yet

    def add_listener(self, wake: Callable[[], None]) -> None:
        """`wake` is called (from the stream thread) whenever something new can be taken."""
        self._listeners.append(wake)

    def remove_listener(self, wake: Callable[[], None]) -> None:
        if wake in self._listeners:
            self._listeners.remove(wake)

    def _notify(self) -> None:
        for wake in self._listeners:
            wake()

    # --- written by the stream thread ---------------------------------------------------------

    def apply_quote(self, frame: QuoteFrame, *, hold: bool = False) -> bool:
        """Merge a quote; nulls and absent fields keep their last good value. False: not ours.
        `hold`: more quotes are already here, so wake the listeners only at `release_held` (or
        at the next quote that is not held)."""
        with self._lock:
            quote = self._quotes.get(frame.cid)
            if quote is None:
                self.counters.unexpected_coins += 1
                bits = 0
            else:
                bits = self._merge(quote, frame)
            if hold:
                self._held = self._held or bool(bits)
                return quote is not None
            wake = bool(bits) or self._held  # a quote not held wakes for those held before it
            self._held = False
        if wake:
            self._notify()
        return quote is not None

    def _merge(self, quote: CoinQuote, frame: QuoteFrame) -> int:
        """Merge under the lock; the bits that became pending."""
        texts = quote.texts
        bits = 0
        changed_only, deadband = self.changed_only, self._deadband
        for key, text in frame.texts.items():
            index = _FIELD_INDEX[key]
            data = text.encode()  # ASCII: frames.py let only number texts through
            if not changed_only or (
                texts[index] != data
                and (deadband is None or deadband.moved(quote.last_published(), index, data))
            ):
                bits |= 1 << index
            texts[index] = data  # held back or not, the newest value for json and displays
        if frame.ts is not None:
            quote.ts = frame.ts
        quote.received_mono = time.monotonic()
        self._last_frame_wall = time.time()
        self.counters.frames += 1
        if not quote.online:
            quote.online = True
            bits |= STATUS_BIT
        if bits:
            pending = self._pending
            pending[frame.cid] = pending.get(frame.cid, 0) | bits
            self._changed_coins.add(frame.cid)
            for channel in self._channels:
                channel.add(frame.cid)
        return bits

    def release_held(self) -> None:
        """Wake the listeners for what quotes merged with `hold` left pending."""
        with self._lock:
            held, self._held = self._held, False
        if held:
            self._notify()

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

    def set_coins(self, crypto_ids: Iterable[int]) -> None:
        """The coins from now on (changed at run time): new ones start empty, removed ones are
        forgotten with whatever was pending for them; their retained topics are cleared by the
        sweep, not here."""
        ids = tuple(dict.fromkeys(crypto_ids))
        with self._lock:
            self._quotes = {cid: self._quotes.get(cid) or CoinQuote() for cid in ids}
            for cid in list(self._pending):
                if cid not in self._quotes:
                    del self._pending[cid]
            self._changed_coins &= set(ids)
            for channel in self._channels:
                channel &= set(ids)
            self.crypto_ids = ids

    # --- read by the publisher ----------------------------------------------------------------

    @property
    def stream_online(self) -> bool:
        return self._stream_online

    def take_pending(self, max_coins: int = 256) -> list[QuoteMessage]:
        """Messages for what changed since the last take, newest values only, for at most
        `max_coins` coins: a burst (10,000 coins' first quotes, or a republish after a broker
        restart) leaves the MQTT client a bounded queue, and what is not taken yet keeps
        coalescing here."""
        with self._lock:
            if not self._pending and not self._status_changed:
                return []
            messages: list[QuoteMessage] = []
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

    def mark_all_pending(self) -> None:
        """Everything there is to know becomes pending again, for a broker that may have lost
        its retained store; it then leaves in bounded batches like any other change."""
        with self._lock:
            self._status_changed = True
            self._pending = {
                cid: quote.known_bits() | STATUS_BIT for cid, quote in self._quotes.items()
            }

    def _coin_messages(self, out: list[QuoteMessage], cid: int, bits: int) -> None:
        """Append a coin's pending field topics, its json topic when a field is among them,
        and its status when that is pending."""
        quote = self._quotes[cid]
        base = self.topics.coin_base(cid)
        if bits & ALL_FIELD_BITS:
            texts = quote.texts
            for index, key in enumerate(FIELD_KEYS):
                text = texts[index]
                if bits >> index & 1 and text is not None:
                    out.append((base + key, text))
            out.append((base + "json", quote_json(cid, quote.texts, quote.ts)))
        if bits & STATUS_BIT:
            out.append((base + "status", ONLINE if quote.online else OFFLINE))

    def take_changed_coins(self) -> set[int]:
        """Coins with new quotes since the last call (display outputs throttle on their own)."""
        with self._lock:
            changed, self._changed_coins = self._changed_coins, set()
            return changed

    def open_channel(self) -> int:
        """A change channel of its own for one more consumer (valuation): what
        `take_changed(channel)` returns does not depend on who else takes changes."""
        with self._lock:
            self._channels.append(set())
            return len(self._channels) - 1

    def take_changed(self, channel: int) -> set[int]:
        """Coins with new quotes since this channel's last take."""
        with self._lock:
            changed = self._channels[channel]
            self._channels[channel] = set()
            return changed

    def check_stale(self) -> None:
        """Mark coins without data for `stale_after` seconds offline (about once a second)."""
        deadline = time.monotonic() - self.stale_after
        with self._lock:
            pending = self._pending
            for cid, quote in self._quotes.items():
                if quote.online and quote.received_mono < deadline:
                    quote.online = False
                    pending[cid] = pending.get(cid, 0) | STATUS_BIT

    def info_fields(self) -> dict[str, object]:
        """The state's part of `bridge/info`: the coins, the stream's status, the counters and
        notices."""
        with self._lock:
            head = {"crypto_ids": list(self.crypto_ids), "stream_connected": self._stream_online}
        return head | self.tally_fields()

    def _status_message(self) -> Message:
        return (self.topics.status, ONLINE if self._stream_online else OFFLINE)

    def numbers(self, coin_id: int) -> dict[str, float] | None:
        """One coin's last good values as numbers (what display outputs need)."""
        with self._lock:
            quote = self._quotes.get(coin_id)
            return None if quote is None else quote.numbers()

    def texts(self, coin_id: int) -> dict[str, str] | None:
        """One coin's last good values as the exact texts the stream sent, by field key (what
        decimal conversion needs); None for a coin not streamed."""
        with self._lock:
            quote = self._quotes.get(coin_id)
            if quote is None:
                return None
            return {
                key: text.decode()
                for key, text in zip(FIELD_KEYS, quote.texts, strict=True)
                if text is not None
            }

    def prices(self) -> dict[int, float]:
        """The last good price of every coin that has one."""
        with self._lock:
            return {
                cid: float(price)
                for cid, q in self._quotes.items()
                if (price := q.texts[_PRICE]) is not None
            }
