"""The fake's open connections and the one lock their subscriptions change under.

One lock, because three threads meet here: a subscribe changes a connection's ids, the push loop
reads them to pick a coin's receivers, and tests wait for either to have happened.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from .connection import ServerConnection


class ConnectionRegistry:
    """Thread-safe; `changed` is the lock (a condition: waiters are woken by `changing`)."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self._connections: list[ServerConnection] = []

    def add(self, conn: ServerConnection) -> None:
        with self.changing():
            self._connections.append(conn)

    def remove(self, conn: ServerConnection) -> None:
        with self.changing():
            if conn in self._connections:
                self._connections.remove(conn)

    def snapshot(self) -> list[ServerConnection]:
        with self.changed:
            return list(self._connections)

    def subscribers(self, cid: int) -> list[ServerConnection]:
        """The open connections subscribed to `cid`; call it holding `changed`."""
        return [c for c in self._connections if cid in c.subscribed and not c.closed]

    @contextlib.contextmanager
    def changing(self) -> Iterator[None]:
        """Hold the lock for a change, then wake whoever waits for one."""
        with self.changed:
            yield
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until `predicate()` holds, re-checked (under the lock) after every change."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(min(remaining, 0.2))
        return True
