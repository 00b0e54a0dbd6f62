"""One stream connection kept up for as long as it runs: a thread of its own that opens a
connection (`connection.py`), runs it until it fails, waits (backoff, or long after a permanent
refusal) and opens the next, subscribed to the ids its pool gives it.

Each session has its own thread, backoff and watchdog, so one connection failing leaves the
others streaming.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from ..errors import StreamError
from ..util.backoff import Backoff
from ..util.secret import Secret
from .connection import StreamConnection
from .frames import Ack
from .outage import OutageLog
from .reader import FrameReader, StreamSink
from .subscriptions import SubscriptionBook
from .timings import StreamTimings

__all__ = ["SessionEvents", "StreamSession", "StreamTimings"]

LOG = logging.getLogger(__name__)


class SessionEvents(Protocol):
    """What a session tells its pool."""

    def session_online(self, session: StreamSession, online: bool) -> None: ...
    def session_acked(self, session: StreamSession, ack: Ack, per_request: bool | None) -> None: ...
    def session_limited(
        self, session: StreamSession, refused: tuple[int, ...], limit: int | None
    ) -> None: ...
    def session_refused(self, session: StreamSession, error: StreamError) -> bool:
        """A permanent refusal; True when the pool retires the session instead of waiting."""
        ...


class StreamSession:
    """Keeps one connection subscribed to `ids` for as long as it runs."""

    def __init__(
        self,
        index: int,
        *,
        url: str,
        api_key: Secret,
        ids: tuple[int, ...],
        sink: StreamSink,
        events: SessionEvents,
        timings: StreamTimings,
        start_delay: float = 0.0,
    ) -> None:
        self.index = index
        self._url = url
        self._api_key = api_key
        self._sink = sink
        self._events = events
        self.timings = timings
        self._start_delay = start_delay
        self._backoff = Backoff(timings.backoff_initial, timings.backoff_cap)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: StreamConnection | None = None
        self._book = SubscriptionBook(ids)
        self._reader = FrameReader(sink)
        self._outage = OutageLog(index)
        self._online = False
        self._logged_refusals: set[str] = set()
        # Observable for operators, bridge/info and tests.
        self.attempts = 0
        self.reconnects = 0
        self.last_error: StreamError | None = None
        self.retry_delay: float | None = None
        self.sub_count: int | None = None
        self.sub_limit: int | None = None

    # --- what the pool sees and does ------------------------------------------------------------

    @property
    def ids(self) -> tuple[int, ...]:
        return self._book.wanted

    @property
    def online(self) -> bool:
        return self._online

    @property
    def messages(self) -> int:
        """Data frames received: what CoinMarketCap bills."""
        return self._reader.messages

    @property
    def subscriptions_billed(self) -> int:
        """Subscriptions CoinMarketCap may have billed on this session's connections."""
        return self._book.billed

    @property
    def alive(self) -> bool:
        """Whether its thread still runs (a retired session ends on its own)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def holds_any(self) -> bool:
        """Whether the server ever acknowledged a subscription on this connection: until it
        did, the coins given to it are only a plan, free to go elsewhere at no cost."""
        return self._book.ever_granted

    def subscribed(self) -> tuple[int, ...]:
        return self._book.granted()

    def set_ids(self, ids: tuple[int, ...]) -> None:
        """Change what this connection carries; applied on the live connection within
        `recv_timeout`, by subscribe and unsubscribe requests for the difference."""
        self._book.want(ids)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"cmc-mqtt-stream-{self.index}", daemon=True
        )
        self._thread.start()

    def signal_stop(self) -> None:
        self._stopping.set()

    def stop(self, timeout: float = 1.0) -> bool:
        """End the thread; True when it has. A thread blocked in a receive notices within
        `recv_timeout`; one blocked in the handshake gets its socket cut after `timeout`."""
        self._stopping.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        if thread.is_alive():
            connection = self._connection
            if connection is not None:
                connection.cut()
            thread.join(timeout)
        return not thread.is_alive()

    # --- what its connection tells ---------------------------------------------------------------

    def connection_delivering(self) -> None:
        if not self._outage.ended() and self.attempts > 1:
            self.reconnects += 1
        self._backoff.reset()
        self._set_online(True)

    def connection_idle(self) -> None:
        if self._outage.active:
            self._outage.report_if_due()  # an attempt under way, still waiting for the server

    def connection_acked(self, ack: Ack, per_request: bool | None) -> None:
        self.sub_count, self.sub_limit = ack.sub_count, ack.sub_limit
        self._events.session_acked(self, ack, per_request)

    def connection_limited(self, refused: tuple[int, ...], limit: int | None) -> None:
        self._events.session_limited(self, refused, limit)

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        if self._start_delay and self._stopping.wait(self._start_delay):
            return
        while not self._stopping.is_set():
            self.attempts += 1
            try:
                self._attempt()
            except StreamError as exc:
                self.last_error = exc
                self._set_online(False)
                if self._stopping.is_set():
                    break
                if exc.permanent and self._events.session_refused(self, exc):
                    break  # retired by the pool: its ids went elsewhere
                self._wait_after(exc)
            except Exception:
                LOG.exception("unexpected error in stream connection %d; reconnecting", self.index)
                self._set_online(False)
                self._stopping.wait(self._backoff.next_delay())
        self._book.connection_ended()
        self._set_online(False)

    def _attempt(self) -> None:
        connection = StreamConnection(
            self.index,
            book=self._book,
            reader=self._reader,
            sink=self._sink,
            events=self,
            timings=self.timings,
            stopping=self._stopping,
        )
        self._connection = connection
        try:
            connection.open(self._url, self._api_key)
            connection.run()
        finally:
            self._connection = None
            connection.close()

    def _wait_after(self, exc: StreamError) -> None:
        if exc.permanent:
            delay = self.timings.permanent_retry
            key = f"permanent:{exc.code}"
            if key not in self._logged_refusals:
                self._logged_refusals.add(key)
                LOG.error("%s Retrying in %d minutes.", exc, max(1, round(delay / 60)))
            else:
                LOG.debug("stream still refused (%s)", exc.code)
            self._outage.refused(exc)
        else:
            delay = self._backoff.next_delay()
            self._outage.failed(exc, delay)
        self.retry_delay = delay
        self._wait(delay)

    def _wait(self, delay: float) -> None:
        """Wait `delay` seconds for the next attempt, or until stopped; an outage's report
        that falls due meanwhile is made on time, not after the next attempt."""
        deadline = time.monotonic() + delay
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= deadline:
                return
            self._outage.report_if_due(deadline - now)
            self._stopping.wait(min(deadline, self._outage.next_report_at) - now)

    def _set_online(self, online: bool) -> None:
        if online != self._online:
            self._online = online
            self._events.session_online(self, online)
