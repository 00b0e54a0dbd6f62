"""The stream connections together: which coin rides on which connection, within the key's limits.

The pool decides (the layout, `layout.py`, within the limits learnt so far, `limits.py`); its
fleet (`fleet.py`) runs one session per connection of the layout. A coin keeps its connection
across reconnects and restarts (the layout is saved), so a change of coins moves no other coin.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..errors import StreamError
from ..util.secret import Secret
from ..util.wording import counted
from .fleet import SessionFleet
from .frames import Ack
from .layout import Layout, format_ids, plan_layout
from .limits import DEFAULT_MAX_CONNECTIONS, DEFAULT_SUB_LIMIT, PER_REQUEST_IDS, KeyLimits, Limits
from .protocol import TOO_MANY_CONNECTIONS
from .reader import StreamSink
from .session import StreamSession, StreamTimings

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_SUB_LIMIT",
    "PER_REQUEST_IDS",
    "Layout",
    "Limits",
    "StreamPool",
    "format_ids",
    "plan_layout",
]

LOG = logging.getLogger(__name__)


class StreamPool:
    """Owns the sessions; re-plans when coins change or the server reveals its limits."""

    def __init__(
        self,
        url: str,
        api_key: Secret,
        ids: Sequence[int],
        sink: StreamSink,
        *,
        set_online: Callable[[bool], None],
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        timings: StreamTimings | None = None,
        layout: Layout | None = None,
        save_layout: Callable[[Layout], None] | None = None,
    ) -> None:
        self._set_online = set_online
        self.timings = timings or StreamTimings()
        self._lock = threading.Lock()
        self._wanted: list[int] = list(dict.fromkeys(ids))
        self._key_limits = KeyLimits(max_connections)
        self._fleet = SessionFleet(
            url=url, api_key=api_key, sink=sink, events=self, timings=self.timings
        )
        self._saved_layout = list(layout or [])
        #: No layout learnt before: one connection asks the server its limits before others
        #: open (they would open by the documented limits, and most close again at the answer).
        self._probing = not self._saved_layout
        self._save_layout = save_layout
        self._left_out: list[int] = []
        self._warned_left_out: list[int] = []  # what the last warning named
        self._online = False
        self._started = False

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._started = True
            self._replan(self._saved_layout)

    def stop(self, timeout: float = 0.6) -> bool:
        """End every connection; True when all their threads have ended."""
        with self._lock:
            self._started = False
            sessions = self._fleet.everyone()
        for session in sessions:
            session.signal_stop()
        ended = [session.stop(timeout) for session in sessions]  # every one, no short cut
        return all(ended)

    def pause(self) -> None:
        """Close every connection (the credit budget is spent); `resume` opens them again with
        the same layout. Values already published stay retained."""
        with self._lock:
            if not self._started:
                return
            self._started = False
            self._saved_layout = self._fleet.layout()
            self._fleet.retire_all()
            was_online, self._online = self._online, False
        if was_online:
            self._set_online(False)

    def resume(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            self._replan(self._saved_layout)

    @property
    def paused(self) -> bool:
        return not self._started

    def reconnect(self, timeout: float = 2.0) -> int:
        """Close every connection and open it again at once, with the same coins (the "Reconnect
        stream" button). The old connections end before the new ones open, so the key's
        connection limit never sees both. Blocks for about `recv_timeout` (up to `timeout`):
        call it from the REST worker, not the MQTT thread. Returns how many connections were
        opened again; 0 while paused or stopped."""
        with self._lock:
            if not self._started:
                return 0
            old = list(self._fleet.live)
        for session in old:
            session.signal_stop()
        for session in old:  # outside the lock: ending sessions report to the pool
            session.stop(timeout)
        with self._lock:
            if self.paused:
                return 0  # paused or stopped meanwhile
            ended = [s for s in self._fleet.live if s in old]
            kept = [s for s in self._fleet.live if s not in old]
            for session in ended:
                self._fleet.retire(session)
            self._replan([s.ids for s in kept] + [s.ids for s in ended])
            return len(self._fleet.live)

    # --- what the bridge asks -----------------------------------------------------------------

    @property
    def wanted(self) -> tuple[int, ...]:
        with self._lock:
            return tuple(self._wanted)

    @property
    def left_out(self) -> tuple[int, ...]:
        with self._lock:
            return tuple(self._left_out)

    @property
    def limits(self) -> Limits:
        return self._key_limits.current

    def room(self) -> int:
        """How many more coins fit now, as far as the pool knows the limits."""
        with self._lock:
            limits = self._key_limits.current
            total = limits.ids_per_connection * limits.max_connections
            return max(0, total - len(self._wanted) + len(self._left_out))

    def set_wanted(self, ids: Sequence[int]) -> tuple[int, ...]:
        """The coins to stream from now on; returns the ids left out for lack of room."""
        with self._lock:
            self._wanted = list(dict.fromkeys(ids))
            if self._started:
                self._replan(self._fleet.layout())
            else:
                self._saved_layout, self._left_out = plan_layout(
                    self._saved_layout, self._wanted, self._key_limits.current
                )
            return tuple(self._left_out)

    def messages(self) -> int:
        """Data frames received on every connection since start: what CoinMarketCap bills."""
        with self._lock:
            return self._fleet.messages()

    def subscriptions(self) -> int:
        """Subscriptions made on every connection since start (each resubscribe after a
        reconnect, each coin added): what CoinMarketCap may bill per subscription."""
        with self._lock:
            return self._fleet.subscriptions()

    def connections(self) -> list[dict[str, Any]]:
        """For `bridge/info`: one entry per connection."""
        with self._lock:
            sessions = list(self._fleet.live)
        return [
            {
                "ids": list(session.ids),
                "connected": session.online,
                "sub_count": session.sub_count,
                "sub_limit": session.sub_limit,
                "reconnects": session.reconnects,
                "messages": session.messages,
            }
            for session in sessions
        ]

    @property
    def sessions(self) -> list[StreamSession]:
        with self._lock:
            return list(self._fleet.live)

    # --- what the sessions tell -----------------------------------------------------------------

    def session_online(self, session: StreamSession, online: bool) -> None:
        with self._lock:
            now = any(s.online for s in self._fleet.live)
            changed, self._online = now != self._online, now
        if changed:
            self._set_online(now)

    def session_acked(self, session: StreamSession, ack: Ack, per_request: bool | None) -> None:
        with self._lock:
            first = not self._key_limits.answered
            changed = self._key_limits.acked(ack.sub_limit, per_request)
            # The first answer settles what the documented limits only guessed: what still
            # does not fit is now worth a warning.
            if self._started and (changed or (first and self._left_out)):
                self._replan(self._fleet.layout())

    def session_limited(
        self, session: StreamSession, refused: tuple[int, ...], limit: int | None
    ) -> None:
        """A subscribe was refused with 2303: the limits shrink, the rest is placed again."""
        with self._lock:
            self._key_limits.subscribe_refused(len(session.subscribed()), len(refused), limit)
            if self._started:
                self._replan(self._fleet.layout())

    def session_refused(self, session: StreamSession, error: StreamError) -> bool:
        """Too many connections while others stream: use fewer connections. Otherwise the key
        itself is refused, and the session waits as for any permanent refusal."""
        if error.code != TOO_MANY_CONNECTIONS:
            return False
        with self._lock:
            others = [s for s in self._fleet.live if s is not session and s.online]
            if not others or session not in self._fleet.live:
                return False
            self._key_limits.fewer_connections(len(others))
            layout = [s.ids for s in self._fleet.live if s is not session]
            self._fleet.retire(session)
            self._replan(layout)
        return True

    # --- planning -----------------------------------------------------------------------------

    def _replan(self, current: Layout) -> None:
        """Plan from `current` and apply it; say when coins are left out or fit again. Holds
        the lock."""
        limits = self._key_limits.current
        if self._probing and not self._key_limits.answered:
            limits = replace(limits, max_connections=1)
        else:
            self._probing = False
        layout, left_out = plan_layout(current, self._wanted, limits)
        if left_out and not self._key_limits.answered:
            if not self._left_out:
                LOG.info(
                    "%s wait for the server's first answer (%s until then)",
                    counted(len(left_out), "coin"),
                    "one connection" if self._probing else self._key_limits.describe(),
                )
        elif left_out and left_out != self._warned_left_out:
            LOG.warning(
                "%s not fit this key's limits (%s); left out: %s",
                counted(len(left_out), "coin does", "coins do"),
                self._key_limits.describe(),
                format_ids(left_out),
            )
            self._warned_left_out = left_out
        elif self._left_out and not left_out:
            count = len(self._wanted)
            LOG.info("the server's limits leave room for every coin: all %d placed", count)
            self._warned_left_out = []
        self._left_out = left_out
        self._fleet.apply(layout)
        if self._save_layout is not None:
            self._save_layout([s.ids for s in self._fleet.live])
