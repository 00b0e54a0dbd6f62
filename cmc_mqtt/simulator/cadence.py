"""When each subscribed coin is pushed: CoinMarketCap's cadences (the top-ranked coins every
`fast_interval` seconds, the others every `slow_interval`), each coin at a phase of its own."""

from __future__ import annotations

import heapq
import random
import threading
import time

from .connection import ServerConnection
from .hub import Hub
from .market import now_ms, quote_frame
from .registry import ConnectionRegistry
from .wire import encode_frame


class PushCadence:
    """The schedule is kept under the registry's lock, like the subscriptions it follows: a coin
    dropped for want of subscribers and a subscribe scheduling it again must not interleave, or
    the coin would never be pushed again."""

    def __init__(
        self,
        hub: Hub,
        registry: ConnectionRegistry,
        *,
        fast_interval: float,
        slow_interval: float,
        top_ranked: int,
    ) -> None:
        self._hub = hub
        self._registry = registry
        self.fast_interval = fast_interval
        self.slow_interval = slow_interval
        self.top_ranked = top_ranked
        self._due: list[tuple[float, int]] = []  # a heap of (monotonic time, coin)
        self._scheduled: set[int] = set()
        self._phased: set[int] = set()
        self._rng = random.Random()

    def interval(self, cid: int) -> float:
        fast = self._hub.market.rank(cid) <= self.top_ranked
        return self.fast_interval if fast else self.slow_interval

    def schedule(self, cid: int) -> None:
        coins = self._hub.coins
        if coins is not None and cid not in coins:
            return  # an id this market does not list: subscribed, but never quoted
        with self._registry.changed:
            if cid in self._scheduled:
                return
            self._scheduled.add(cid)
            # A first push soon, spread so that coins do not all arrive at once.
            due = time.monotonic() + self._rng.uniform(0, min(self.interval(cid), 1.0))
            heapq.heappush(self._due, (due, cid))

    def run(self, stopping: threading.Event) -> None:
        """The push loop: each coin when it is due, to every connection subscribed to it."""
        while not stopping.is_set():
            with self._registry.changed:
                due = self._due[0][0] if self._due else None
            now = time.monotonic()
            if due is None or due > now:
                stopping.wait(0.05 if due is None else min(due - now, 0.05))
                continue
            cid, targets = self._take_due(now)
            if targets:
                self._push(cid, targets)

    def _take_due(self, now: float) -> tuple[int, list[ServerConnection]]:
        """The coin due first and its subscribers; it stays scheduled while it has any."""
        with self._registry.changed:
            due, cid = heapq.heappop(self._due)
            targets = self._registry.subscribers(cid)
            if not targets:
                self._scheduled.discard(cid)
                return cid, targets
            interval = self.interval(cid)
            if cid not in self._phased:
                # The first push comes quickly; from the second on, each coin keeps a phase of
                # its own, so pushes spread over the interval instead of arriving as one burst
                # of every coin each cycle.
                self._phased.add(cid)
                interval *= self._rng.uniform(0.5, 1.5)
            heapq.heappush(self._due, (max(due + interval, now), cid))
        return cid, targets

    def _push(self, cid: int, targets: list[ServerConnection]) -> None:
        hub = self._hub
        behaviour = hub.behaviour
        if not behaviour.push_data or behaviour.stalled:
            return
        data = hub.market.step(cid)
        frame = encode_frame(quote_frame(data, now_ms()).encode())
        delivered = sum(hub.keys.deliver(conn, frame, 1) for conn in targets)
        if delivered:
            hub.count_sent(delivered)
            hub.record(data)
