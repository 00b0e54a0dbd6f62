"""The pool's sessions: the live ones in layout order, the retired ones until their threads have
ended, and what the ended ones counted (CoinMarketCap's bill for the month stays when a session
is let go). No lock of its own: the pool holds its lock around every use.
"""

from __future__ import annotations

from ..util.secret import Secret
from .layout import Layout
from .reader import StreamSink
from .session import SessionEvents, StreamSession
from .timings import StreamTimings


class SessionFleet:
    """Opens, re-targets and retires sessions to match a layout."""

    def __init__(
        self,
        *,
        url: str,
        api_key: Secret,
        sink: StreamSink,
        events: SessionEvents,
        timings: StreamTimings,
    ) -> None:
        self._url = url
        self._api_key = api_key
        self._sink = sink
        self._events = events
        self._timings = timings
        #: The live sessions, one per connection of the layout, in its order.
        self.live: list[StreamSession] = []
        self._retired: list[StreamSession] = []
        self._next_index = 0
        self._ended_messages = 0
        self._ended_subscriptions = 0

    def everyone(self) -> list[StreamSession]:
        """Live and retired sessions: every thread that may still run."""
        return self.live + self._retired

    def layout(self) -> Layout:
        """Where each coin is. A connection the server never acknowledged a subscription on
        holds nothing yet: its coins are planned again with the others, so when the first ack
        reveals a larger limit than the documented one (an Enterprise key) they join the
        connections that have room instead of opening ones that are not needed."""
        return [s.ids if s.holds_any else () for s in self.live]

    def retire(self, session: StreamSession) -> None:
        """Stop `session` (it ends on its own) and keep it counted until it has."""
        if session in self.live:
            self.live.remove(session)
        session.signal_stop()
        self._retired.append(session)

    def retire_all(self) -> None:
        for session in list(self.live):
            self.retire(session)

    def apply(self, layout: Layout) -> None:
        """Existing sessions get their new ids, emptied ones close, new ones open one after
        another (`stagger` apart)."""
        self._forget_ended()
        kept: list[StreamSession] = []
        for session, ids in zip(list(self.live), layout, strict=False):  # layout is longer
            if ids:
                if ids != session.ids:
                    session.set_ids(ids)
                kept.append(session)
            else:
                session.signal_stop()
                self._retired.append(session)
        new_shards = [ids for ids in layout[len(self.live) :] if ids]
        for order, ids in enumerate(new_shards):
            session = StreamSession(
                self._next_index,
                url=self._url,
                api_key=self._api_key,
                ids=ids,
                sink=self._sink,
                events=self._events,
                timings=self._timings,
                start_delay=order * self._timings.stagger,
            )
            self._next_index += 1
            kept.append(session)
            session.start()
        self.live = kept

    def _forget_ended(self) -> None:
        """Retired sessions whose threads have ended leave only their counts: months of
        changes stay bounded."""
        for ended in [s for s in self._retired if not s.alive]:
            self._ended_messages += ended.messages
            self._ended_subscriptions += ended.subscriptions_billed
        self._retired = [s for s in self._retired if s.alive]

    def messages(self) -> int:
        return self._ended_messages + sum(s.messages for s in self.everyone())

    def subscriptions(self) -> int:
        return self._ended_subscriptions + sum(s.subscriptions_billed for s in self.everyone())
