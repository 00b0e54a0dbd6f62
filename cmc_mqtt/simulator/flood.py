"""The benchmark's flood: after a subscribe, many frames to one connection, as fast as the
client takes them or at a set rate, costing the fake itself little."""

from __future__ import annotations

import threading
import time
from typing import Final

from .connection import ServerConnection
from .hub import Hub
from .market import now_ms
from .wire import encode_frame

#: Pre-encoded frames cycled through: enough to vary, few enough to build at once.
POOL_SIZE: Final = 4096


def flood(
    hub: Hub, conn: ServerConnection, ids: list[int], count: int, stopping: threading.Event
) -> None:
    """`flood_batch` frames per write, as fast as the client takes them (sendall blocks when
    it falls behind) or at `flood_rate` frames a second. One frame per write at a rate is how a
    busy server's frames arrive: each in its own TCP segment (Nagle is off)."""
    market = hub.market
    pool = [encode_frame(market.frame(ids[i % len(ids)], now_ms()).encode())
            for i in range(min(count, POOL_SIZE))]  # fmt: skip
    per_write = max(1, hub.behaviour.flood_batch)
    rate = hub.behaviour.flood_rate
    started = time.monotonic()
    sent = 0
    while sent < count and not conn.closed:
        if rate > 0:
            ahead = started + sent / rate - time.monotonic()
            if ahead > 0 and stopping.wait(ahead):
                break
        batch = pool[sent % len(pool) : sent % len(pool) + min(per_write, count - sent)]
        if not hub.keys.deliver(conn, b"".join(batch), len(batch)):
            break
        sent += len(batch)
    hub.count_sent(sent)
