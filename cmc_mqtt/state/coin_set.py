"""The coins the bridge streams: the configured ones, plus those added and minus those removed at
run time (remembered across restarts), applied to every part that cares.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..stream.pool import StreamPool
from .bridge_state import BridgeState
from .memory import StateFile

LOG = logging.getLogger(__name__)


def effective_ids(
    configured: Sequence[int], added: Sequence[int], removed: Sequence[int]
) -> tuple[int, ...]:
    """Config + added - removed, in that order, without repeats."""
    gone = set(removed)
    return tuple(cid for cid in dict.fromkeys([*configured, *added]) if cid not in gone)


@dataclass(frozen=True, slots=True)
class Change:
    """What a request changed: the ids it applied, and those the key's limits left out."""

    applied: tuple[int, ...]
    left_out: tuple[int, ...]


class CoinSet:
    """Changes the coins at run time; every change is saved before it is applied."""

    def __init__(
        self,
        configured: Sequence[int],
        memory: StateFile,
        state: BridgeState,
        pool: StreamPool,
        *,
        on_change: Sequence[Callable[[tuple[int, ...], tuple[int, ...]], None]] = (),
    ) -> None:
        self._configured = tuple(configured)
        self._memory = memory
        self._state = state
        self._pool = pool
        self._on_change = list(on_change)
        self._lock = threading.Lock()
        self._added, self._removed = memory.coin_changes()

    @property
    def ids(self) -> tuple[int, ...]:
        with self._lock:
            return effective_ids(self._configured, self._added, self._removed)

    def add_listener(self, callback: Callable[[tuple[int, ...], tuple[int, ...]], None]) -> None:
        """`callback(added, removed)` after every change."""
        self._on_change.append(callback)

    def add(self, ids: Sequence[int]) -> Change:
        with self._lock:
            before = effective_ids(self._configured, self._added, self._removed)
            new = [cid for cid in dict.fromkeys(ids) if cid not in before]
            self._removed = [cid for cid in self._removed if cid not in new]
            self._added = [*self._added, *(c for c in new if c not in self._configured)]
            refused = set(self._apply()) & set(new)
            if refused:  # no room: the request is refused for these, not queued
                self._added = [cid for cid in self._added if cid not in refused]
                self._removed = [*self._removed, *(c for c in refused if c in self._configured)]
                self._apply()
        placed = tuple(cid for cid in new if cid not in refused)
        if placed:
            LOG.info("coins added over MQTT: %s", ", ".join(map(str, placed)))
            self._tell(placed, ())
        return Change(placed, tuple(cid for cid in new if cid in refused))

    def remove(self, ids: Sequence[int]) -> Change:
        with self._lock:
            before = set(effective_ids(self._configured, self._added, self._removed))
            gone = [cid for cid in dict.fromkeys(ids) if cid in before]
            self._added = [cid for cid in self._added if cid not in gone]
            self._removed = [*self._removed, *(c for c in gone if c in self._configured)]
            self._apply()
        if gone:
            LOG.info("coins removed over MQTT: %s", ", ".join(map(str, gone)))
            self._tell((), tuple(gone))
        return Change(tuple(gone), ())

    def _apply(self) -> tuple[int, ...]:
        """Save, then apply to the state and the connections; holds the lock. Returns the ids
        left out for lack of room."""
        self._memory.set_coin_changes(self._added, self._removed)
        ids = effective_ids(self._configured, self._added, self._removed)
        self._state.set_coins(ids)
        return self._pool.set_wanted(ids)

    def _tell(self, added: tuple[int, ...], removed: tuple[int, ...]) -> None:
        for callback in self._on_change:
            callback(added, removed)
