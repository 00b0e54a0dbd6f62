"""The stream connections together: which coin rides on which connection, within the key's limits.

CoinMarketCap allows up to 10 connections per key, each with up to 100 subscriptions; whether a
subscription is one id or one subscribe request is not documented, so the pool starts from the
careful reading (100 ids a connection) and learns the truth from the acks (`sub_count`,
`sub_limit`) and refusals (error 2303, close code 4004). A coin keeps its connection across
reconnects and restarts (the layout is saved), so a change of coins moves no other coin.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..errors import StreamError
from ..util.secret import Secret
from .frames import Ack
from .protocol import TOO_MANY_CONNECTIONS
from .reader import StreamSink
from .session import StreamSession, StreamTimings

LOG = logging.getLogger(__name__)
#: CoinMarketCap's documented limits, used until the server says otherwise.
DEFAULT_SUB_LIMIT: Final = 100
DEFAULT_MAX_CONNECTIONS: Final = 10
#: When subscriptions are counted per request, how many ids one connection may still carry.
PER_REQUEST_IDS: Final = 5000

Layout = list[tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Limits:
    ids_per_connection: int = DEFAULT_SUB_LIMIT
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def plan_layout(current: Layout, wanted: Sequence[int], limits: Limits) -> tuple[Layout, list[int]]:
    """Spread `wanted` over connections: every id stays where it is while it fits, new ids fill
    the connections with room first, then new connections; what does not fit is left out.
    Returns the layout (one tuple per existing connection, in order, then new ones; an empty
    tuple for a connection that is no longer needed) and the ids left out."""
    cap, most = max(1, limits.ids_per_connection), max(1, limits.max_connections)
    wanted_set = set(wanted)
    placed: set[int] = set()
    layout: list[list[int]] = []
    for position, shard in enumerate(current):
        keep: list[int] = []
        if position < most:
            for cid in shard:
                if cid in wanted_set and cid not in placed and len(keep) < cap:
                    keep.append(cid)
                    placed.add(cid)
        layout.append(keep)
    rest = [cid for cid in dict.fromkeys(wanted) if cid not in placed]
    for position, kept in enumerate(layout):
        if position >= most or not rest:
            continue
        room = cap - len(kept)
        if room > 0 and kept:  # an emptied connection is closed, not refilled
            kept.extend(rest[:room])
            rest = rest[room:]
    live = sum(1 for shard in layout if shard)
    while rest and live < most:
        layout.append(rest[:cap])
        rest = rest[cap:]
        live += 1
    return [tuple(shard) for shard in layout], rest


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
        self._url = url
        self._api_key = api_key
        self._sink = sink
        self._set_online = set_online
        self.timings = timings or StreamTimings()
        self._lock = threading.Lock()
        self._wanted: list[int] = list(dict.fromkeys(ids))
        self._limits = Limits(DEFAULT_SUB_LIMIT, max_connections)
        self._per_request: bool | None = None
        self._limits_heard = False  # whether an ack has told the real limits yet
        self._sessions: list[StreamSession] = []
        self._retired: list[StreamSession] = []
        self._next_index = 0
        self._saved_layout = list(layout or [])
        self._save_layout = save_layout
        self._left_out: list[int] = []
        self._online = False
        self._started = False
        #: What ended sessions counted, kept when they are let go: the month's bill stays.
        self._ended_messages = 0
        self._ended_subscriptions = 0

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._started = True
            self._replan(self._saved_layout)

    def stop(self, timeout: float = 0.6) -> bool:
        """End every connection; True when all their threads have ended."""
        with self._lock:
            self._started = False
            sessions = self._sessions + self._retired
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
            self._saved_layout = self._layout()
            for session in self._sessions:
                session.signal_stop()
            self._retired.extend(self._sessions)
            self._sessions = []
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
            old = list(self._sessions)
        for session in old:
            session.signal_stop()
        for session in old:  # outside the lock: ending sessions report to the pool
            session.stop(timeout)
        with self._lock:
            if self.paused:
                return 0  # paused or stopped meanwhile
            ended = [s for s in self._sessions if s in old]
            kept = [s for s in self._sessions if s not in old]
            self._retired.extend(ended)
            self._sessions = kept
            self._replan([s.ids for s in kept] + [s.ids for s in ended])
            return len(self._sessions)

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
        return self._limits

    def room(self) -> int:
        """How many more coins fit now, as far as the pool knows the limits."""
        with self._lock:
            total = self._limits.ids_per_connection * self._limits.max_connections
            return max(0, total - len(self._wanted) + len(self._left_out))

    def set_wanted(self, ids: Sequence[int]) -> tuple[int, ...]:
        """The coins to stream from now on; returns the ids left out for lack of room."""
        with self._lock:
            self._wanted = list(dict.fromkeys(ids))
            if self._started:
                self._replan(self._layout())
            else:
                self._saved_layout, self._left_out = plan_layout(
                    self._saved_layout, self._wanted, self._limits
                )
            return tuple(self._left_out)

    def messages(self) -> int:
        """Data frames received on every connection since start: what CoinMarketCap bills."""
        with self._lock:
            return self._ended_messages + sum(s.messages for s in self._sessions + self._retired)

    def subscriptions(self) -> int:
        """Subscriptions made on every connection since start (each resubscribe after a
        reconnect, each coin added): what CoinMarketCap may bill per subscription."""
        with self._lock:
            live = self._sessions + self._retired
            return self._ended_subscriptions + sum(s.subscriptions_billed for s in live)

    def connections(self) -> list[dict[str, Any]]:
        """For `bridge/info`: one entry per connection."""
        with self._lock:
            sessions = list(self._sessions)
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
            return list(self._sessions)

    # --- what the sessions tell -----------------------------------------------------------------

    def session_online(self, session: StreamSession, online: bool) -> None:
        with self._lock:
            now = any(s.online for s in self._sessions)
            changed, self._online = now != self._online, now
        if changed:
            self._set_online(now)

    def session_acked(self, session: StreamSession, ack: Ack, per_request: bool | None) -> None:
        with self._lock:
            self._limits_heard = self._limits_heard or ack.sub_limit is not None
            limits = self._limits
            if per_request is not None and per_request != self._per_request:
                self._per_request = per_request
                LOG.info(
                    "CoinMarketCap counts subscriptions per %s",
                    "subscribe request" if per_request else "coin id",
                )
            if self._per_request:
                cap = PER_REQUEST_IDS
            elif ack.sub_limit is not None and ack.sub_limit > 0:
                cap = ack.sub_limit
            else:
                cap = limits.ids_per_connection
            if cap != limits.ids_per_connection:
                self._limits = Limits(cap, limits.max_connections)
                if self._started:
                    self._replan(self._layout())

    def session_limited(
        self, session: StreamSession, refused: tuple[int, ...], limit: int | None
    ) -> None:
        """A subscribe was refused with 2303: this connection holds fewer than we thought. The
        limit the error names, else what the connection holds now, else half of what was
        asked is its capacity; the rest is placed again."""
        with self._lock:
            held = len(session.subscribed())
            cap = limit or held or max(1, len(refused) // 2)
            if cap < self._limits.ids_per_connection:
                self._limits = Limits(cap, self._limits.max_connections)
                LOG.info("subscription limit is %d coins per connection; placing the rest", cap)
            self._per_request = False if held else self._per_request
            if self._started:
                self._replan(self._layout())

    def session_refused(self, session: StreamSession, error: StreamError) -> bool:
        """Too many connections while others stream: use fewer connections. Otherwise the key
        itself is refused, and the session waits as for any permanent refusal."""
        if error.code != TOO_MANY_CONNECTIONS:
            return False
        with self._lock:
            others = [s for s in self._sessions if s is not session and s.online]
            if not others or session not in self._sessions:
                return False
            most = len(others)
            LOG.warning(
                "CoinMarketCap allows this key %d connections here (4004 for one more); using %d",
                most,
                most,
            )
            self._limits = Limits(self._limits.ids_per_connection, most)
            layout = [s.ids for s in self._sessions if s is not session]
            self._sessions.remove(session)
            self._retired.append(session)
            session.signal_stop()
            self._replan(layout)
        return True

    # --- planning -----------------------------------------------------------------------------

    def _layout(self) -> Layout:
        """Where each coin is. A connection the server never acknowledged a subscription on
        holds nothing yet: its coins are planned again with the others, so when the first ack
        reveals a larger limit than the documented one (an Enterprise key) they join the
        connections that have room instead of opening ones that are not needed."""
        return [s.ids if s.holds_any else () for s in self._sessions]

    def _replan(self, current: Layout) -> None:
        """Apply a new layout: existing connections get their new ids, emptied ones close, new
        ones open one after another. Holds the lock."""
        layout, left_out = plan_layout(current, self._wanted, self._limits)
        for ended in [s for s in self._retired if not s.alive]:  # months of changes stay bounded
            self._ended_messages += ended.messages
            self._ended_subscriptions += ended.subscriptions_billed
        self._retired = [s for s in self._retired if s.alive]
        if left_out != self._left_out and left_out:
            LOG.warning(
                "%d coins do not fit this key's limits (%d connections x %d subscriptions%s); "
                "left out: %s",
                len(left_out),
                self._limits.max_connections,
                self._limits.ids_per_connection,
                "" if self._limits_heard else " as documented, until the server's acks say more",
                format_ids(left_out),
            )
        elif self._left_out and not left_out:
            count = len(self._wanted)
            LOG.info("the server's limits leave room for every coin: all %d placed", count)
        self._left_out = left_out
        kept: list[StreamSession] = []
        for session, ids in zip(list(self._sessions), layout, strict=False):  # layout is longer
            if ids:
                if ids != session.ids:
                    session.set_ids(ids)
                kept.append(session)
            else:
                session.signal_stop()
                self._retired.append(session)
        new_shards = [ids for ids in layout[len(self._sessions) :] if ids]
        for order, ids in enumerate(new_shards):
            session = StreamSession(
                self._next_index,
                url=self._url,
                api_key=self._api_key,
                ids=ids,
                sink=self._sink,
                events=self,
                timings=self.timings,
                start_delay=order * self.timings.stagger,
            )
            self._next_index += 1
            kept.append(session)
            session.start()
        self._sessions = kept
        if self._save_layout is not None:
            self._save_layout([s.ids for s in kept])


def format_ids(ids: Sequence[int], most: int = 20) -> str:
    shown = ", ".join(str(i) for i in ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")
