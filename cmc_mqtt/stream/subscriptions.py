"""One stream connection's subscriptions, without I/O: the ids it should carry, the requests in
flight, what the server granted, and what CoinMarketCap may have billed for it.

The session thread reads and writes it; the pool changes the wanted ids and reads the counts from
its own threads, so every change happens under the book's one lock. `changed` and `pending` are
read without it on the receive loop, each frame: a stale read only delays the work to the next
frame (`recv_timeout` at most).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .frames import Ack


@dataclass(slots=True)
class PendingRequest:
    method: str
    ids: tuple[int, ...]
    sent: float


@dataclass(frozen=True, slots=True)
class Granted:
    """What an ack settled: the request it answered and the ids held after it."""

    method: str
    held: int


class SubscriptionBook:
    """Wanted ids, requests in flight and granted ids of one connection, kept across reconnects
    (the wanted ids and the bill) and cleared on each new connection (the rest)."""

    def __init__(self, ids: tuple[int, ...]) -> None:
        self._lock = threading.Lock()
        self._wanted = ids
        #: The wanted ids or the answers changed: requests to send before the next read.
        self.changed = True
        #: Requests sent and not answered yet, by request id.
        self.pending: dict[int, PendingRequest] = {}
        self._granted: set[int] = set()
        self._held = 0  # the last ack's sub_count on this connection
        #: Subscriptions CoinMarketCap may have billed (its overview prices each one): what
        #: each ack's `sub_count` grew by, or the ids of a subscribe whose answer never came.
        self.billed = 0
        #: Whether the server ever granted a subscription (on any connection of the session).
        self.ever_granted = False

    @property
    def wanted(self) -> tuple[int, ...]:
        with self._lock:
            return self._wanted

    def want(self, ids: tuple[int, ...]) -> None:
        with self._lock:
            self._wanted = ids
            self.changed = True

    def granted(self) -> tuple[int, ...]:
        with self._lock:
            return tuple(sorted(self._granted))

    def new_connection(self) -> None:
        """A new connection holds nothing, as the server counts it: ask for everything again."""
        with self._lock:
            self._granted.clear()
            self._bill_unanswered()
            self._held = 0
            self.changed = True

    def connection_ended(self) -> None:
        with self._lock:
            self._bill_unanswered()

    def _bill_unanswered(self) -> None:
        """Subscribes that got no answer may have been billed: counted, the count errs high
        (lock held). Clears what was in flight."""
        for pending in self.pending.values():
            if pending.method == "subscribe":
                self.billed += len(pending.ids)
        self.pending.clear()

    def requests_due(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The ids to subscribe (wanted, not asked for yet) and to unsubscribe (asked for, no
        longer wanted). Only after something changed: per frame it would cost time in
        proportion to the ids on the connection."""
        with self._lock:
            self.changed = False
            asked = set(self._granted)
            for pending in self.pending.values():
                if pending.method == "subscribe":
                    asked.update(pending.ids)
                else:
                    asked.difference_update(pending.ids)
            add = tuple(i for i in self._wanted if i not in asked)
            remove = tuple(sorted(asked.difference(self._wanted)))
        return add, remove

    def sent(self, request_id: int, method: str, ids: tuple[int, ...], now: float) -> None:
        with self._lock:
            self.pending[request_id] = PendingRequest(method, ids, now)

    def overdue(self, now: float, timeout: float) -> PendingRequest | None:
        """A request the server left unanswered for longer than `timeout`, if there is one."""
        with self._lock:
            for pending in self.pending.values():
                if now - pending.sent > timeout:
                    return pending
        return None

    def acknowledged(self, ack: Ack) -> Granted | None:
        """Settle the request `ack` answers; None when it answers none of ours (a ping's)."""
        with self._lock:
            answered = self.pending.pop(ack.request_id, None) if ack.request_id else None
            self.changed = True
            if answered is None:
                return None
            if answered.method == "subscribe":
                self._granted.update(answered.ids)
                self.ever_granted = True
                # What the server counts: the growth of its sub_count; without one, each id.
                if ack.sub_count is not None:
                    growth = ack.sub_count - self._held
                else:
                    growth = len(answered.ids)
                self.billed += max(0, growth)
            else:
                self._granted.difference_update(answered.ids)
            if ack.sub_count is not None:
                self._held = ack.sub_count
            return Granted(answered.method, len(self._granted))

    def refused(self, request_id: int | None) -> PendingRequest | None:
        """Settle the request an error frame answers; None when it answers none of ours."""
        with self._lock:
            refused = self.pending.pop(request_id, None) if request_id else None
            self.changed = True
            return refused
