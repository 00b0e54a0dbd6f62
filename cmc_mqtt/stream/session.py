"""One WebSocket connection to CoinMarketCap, kept subscribed to the ids its pool gives it.

websocket-client's low-level `WebSocket` is used instead of `WebSocketApp` because the protocol's
keep-alive is a JSON `ping` request, not a WebSocket ping, and because one loop owning receive,
ping cadence, the dead-connection watchdog and the subscription changes is easier to reason
about than callbacks. Each session has its own thread, backoff and watchdog, so one connection
failing leaves the others streaming.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import websocket

from ..errors import StreamError
from ..util.backoff import Backoff
from ..util.secret import Secret
from . import ws_adapter
from .frames import DEFAULT_PING_INTERVAL_MS, Ack, ErrorFrame, QuoteFrame, ServerFrame, Welcome
from .protocol import (
    HTTP_PERMANENT,
    PERMANENT_ERROR_CODES,
    SUBSCRIPTION_LIMIT,
    describe,
    request,
)
from .reader import FrameReader, StreamSink

LOG = logging.getLogger(__name__)
#: Never sent: a key with a space, control or non-ASCII character would break the handshake's
#: header (or inject one), and the message must not repeat it.
UNSENDABLE_KEY = (
    "the API key holds characters a key cannot have (spaces, line breaks, control or non-ASCII "
    "characters): check cmc.api_key, cmc.api_key_file or CMC_API_KEY"
)


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


@dataclass(frozen=True, slots=True)
class StreamTimings:
    """Timing policy; tests shorten it, the defaults follow the protocol description."""

    connect_timeout: float = 10.0
    welcome_timeout: float = 5.0
    ack_timeout: float = 10.0
    recv_timeout: float = 0.5
    dead_after_pings: float = 2.0  # no pong or data for this many ping intervals: dead
    backoff_initial: float = 1.0
    backoff_cap: float = 60.0
    permanent_retry: float = 600.0
    stagger: float = 1.0  # between opening one connection of a pool and the next


@dataclass(slots=True)
class _Request:
    method: str
    ids: tuple[int, ...]
    sent: float


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
        self._ws: websocket.WebSocket | None = None
        self._lock = threading.Lock()
        self._desired: tuple[int, ...] = ids
        self._changed = True  # the ids or the answers changed: reconcile before the next read
        self._subscribed: set[int] = set()
        self._inflight: dict[int, _Request] = {}
        self._request_id = 0
        self._online = False
        self._logged_reasons: set[str] = set()
        self._outage = False
        self._outage_since: float | None = None
        self._outage_reports = 0
        # Observable for operators, bridge/info and tests.
        self.attempts = 0
        self.reconnects = 0
        self._reader = FrameReader(sink)
        self.last_error: StreamError | None = None
        self.retry_delay: float | None = None
        self.sub_count: int | None = None
        self.sub_limit: int | None = None
        #: Subscriptions CoinMarketCap may have billed (its overview prices each one): what
        #: each ack's `sub_count` grew by, or the ids of a subscribe whose answer never came.
        self.subscriptions_billed = 0
        self._held_subscriptions = 0  # the last ack's sub_count on this connection
        self._ever_subscribed = False

    # --- what the pool sees and does ------------------------------------------------------------

    @property
    def ids(self) -> tuple[int, ...]:
        with self._lock:
            return self._desired

    @property
    def online(self) -> bool:
        return self._online

    @property
    def messages(self) -> int:
        """Data frames received: what CoinMarketCap bills."""
        return self._reader.messages

    @property
    def alive(self) -> bool:
        """Whether its thread still runs (a retired session ends on its own)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def holds_any(self) -> bool:
        """Whether the server ever acknowledged a subscription on this connection: until it
        did, the coins given to it are only a plan, free to go elsewhere at no cost."""
        return self._ever_subscribed

    def subscribed(self) -> tuple[int, ...]:
        with self._lock:
            return tuple(sorted(self._subscribed))

    def set_ids(self, ids: tuple[int, ...]) -> None:
        """Change what this connection carries; applied on the live connection within
        `recv_timeout`, by subscribe and unsubscribe requests for the difference."""
        with self._lock:
            self._desired = ids
            self._changed = True

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
            self._abort()
            thread.join(timeout)
        return not thread.is_alive()

    def _abort(self) -> None:
        ws = self._ws
        sock = ws.sock if ws is not None else None
        if sock is not None:
            # The plain socket's shutdown: `SSLSocket.shutdown` would also drop the SSL state
            # that the session thread may be using at this very moment.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        if self._start_delay and self._stopping.wait(self._start_delay):
            return
        while not self._stopping.is_set():
            self.attempts += 1
            try:
                self._session()
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
            finally:
                self._close_ws()
        with self._lock:
            self._count_unanswered()
        self._set_online(False)

    def _count_unanswered(self) -> None:
        """Subscribes that got no answer may have been billed: counted, the count errs high
        (lock held). Clears what was in flight."""
        for pending in self._inflight.values():
            if pending.method == "subscribe":
                self.subscriptions_billed += len(pending.ids)
        self._inflight.clear()

    def _wait_after(self, exc: StreamError) -> None:
        if exc.permanent:
            delay = self.timings.permanent_retry
            key = f"permanent:{exc.code}"
            if key not in self._logged_reasons:
                self._logged_reasons.add(key)
                LOG.error("%s Retrying in %d minutes.", exc, max(1, round(delay / 60)))
            else:
                LOG.debug("stream still refused (%s)", exc.code)
        else:
            delay = self._backoff.next_delay()
            now = time.monotonic()
            if not self._outage:
                self._outage = True
                self._outage_since = now
                self._outage_reports = 0
                LOG.warning(
                    "stream connection %d failed: %s; reconnecting with backoff", self.index, exc
                )
            elif self._outage_since is not None and now - self._outage_since >= _report_after(
                self._outage_reports
            ):
                # Quiet at the default level, but never silent: about 1, 5, 15 and 60 minutes
                # into an outage, then hourly.
                self._outage_reports += 1
                LOG.info(
                    "stream connection %d still down after %s: %s; next attempt in %.0f s",
                    self.index,
                    _duration(now - self._outage_since),
                    exc,
                    delay,
                )
            else:
                LOG.debug("stream %d still failing: %s; next attempt in %.1f s", self.index,
                          exc, delay)  # fmt: skip
        self.retry_delay = delay
        self._stopping.wait(delay)

    def _session(self) -> None:
        ws = self._connect()
        ping_interval = self._await_welcome(ws)
        with self._lock:
            self._subscribed.clear()
            self._count_unanswered()
            self._changed = True
            self._held_subscriptions = 0  # as the server counts them: none on a new connection
        now = time.monotonic()
        last_alive = now
        next_ping = now + ping_interval
        while not self._stopping.is_set():
            if self._changed:
                self._reconcile(ws)
            frame = self._receive(ws)
            now = time.monotonic()
            if frame is not None:
                last_alive = now
                if isinstance(frame, Welcome):
                    ping_interval = frame.ping_interval_ms / 1000
                elif isinstance(frame, Ack):
                    self._on_ack(frame)
                elif isinstance(frame, ErrorFrame):
                    self._on_error(frame)
                elif isinstance(frame, QuoteFrame) and not self._online:
                    self._on_subscribed()
            self._check_answers(now)
            dead_after = self.timings.dead_after_pings * ping_interval
            if now - last_alive > dead_after:
                raise StreamError(f"no pong or data for {dead_after:g} s; connection presumed dead")
            if now >= next_ping:
                self._send(ws, "ping")
                next_ping = now + ping_interval
        with contextlib.suppress(Exception):
            ws.send_close(websocket.STATUS_NORMAL)

    def _reconcile(self, ws: websocket.WebSocket) -> None:
        """Subscribe what is wanted and not asked for yet; unsubscribe what is no longer. Runs
        only after something changed (the ids, an answer): per frame it would cost time in
        proportion to the ids on the connection."""
        with self._lock:
            self._changed = False
            asked = set(self._subscribed)
            for pending in self._inflight.values():
                if pending.method == "subscribe":
                    asked.update(pending.ids)
                else:
                    asked.difference_update(pending.ids)
            desired = set(self._desired)
            add = tuple(i for i in self._desired if i not in asked)
            remove = tuple(sorted(asked - desired))
        if add:
            self._send(ws, "subscribe", add)
        if remove:
            self._send(ws, "unsubscribe", remove)

    def _check_answers(self, now: float) -> None:
        with self._lock:
            late = [r for r in self._inflight.values() if now - r.sent > self.timings.ack_timeout]
        if late:
            raise StreamError(
                f"no answer to {late[0].method} within {self.timings.ack_timeout:g} s"
            )

    def _connect(self) -> websocket.WebSocket:
        if not self._api_key.fits_a_header():
            raise StreamError(UNSENDABLE_KEY, permanent=True, code="key")
        ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
        self._ws = ws
        key = self._api_key.reveal()
        try:
            ws.connect(  # type: ignore[no-untyped-call]
                self._url,
                header=[f"X-CMC_PRO_API_KEY: {key}"],
                timeout=self.timings.connect_timeout,
                suppress_origin=True,
            )
        except websocket.WebSocketBadStatusException as exc:
            code = HTTP_PERMANENT.get(exc.status_code)
            if code is not None:
                raise StreamError(
                    PERMANENT_ERROR_CODES[code], permanent=True, code=exc.status_code
                ) from None
            raise StreamError(f"upgrade refused with HTTP {exc.status_code}") from None
        except (OSError, websocket.WebSocketException) as exc:
            raise StreamError(f"cannot connect: {describe(exc)}") from None
        ws.settimeout(self.timings.recv_timeout)
        ws_adapter.install_read_ahead(ws)
        return ws

    def _await_welcome(self, ws: websocket.WebSocket) -> float:
        """The server speaks first; a late or missing welcome does not stop us subscribing."""
        deadline = time.monotonic() + self.timings.welcome_timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            frame = self._receive(ws)
            if isinstance(frame, Welcome):
                return frame.ping_interval_ms / 1000
            if isinstance(frame, ErrorFrame):
                self._on_error(frame)
        LOG.debug("no welcome within %g s; subscribing anyway", self.timings.welcome_timeout)
        return DEFAULT_PING_INTERVAL_MS / 1000

    def _receive(self, ws: websocket.WebSocket) -> ServerFrame | None:
        return self._reader.read(ws, self._stopping)

    # --- answers ------------------------------------------------------------------------------

    def _on_ack(self, ack: Ack) -> None:
        with self._lock:
            answered = self._inflight.pop(ack.request_id, None) if ack.request_id else None
            self._changed = True
            if answered is None:
                return
            if answered.method == "subscribe":
                self._subscribed.update(answered.ids)
                self._ever_subscribed = True
                # What the server counts: the growth of its sub_count; without one, each id.
                if ack.sub_count is not None:
                    growth = ack.sub_count - self._held_subscriptions
                else:
                    growth = len(answered.ids)
                self.subscriptions_billed += max(0, growth)
            else:
                self._subscribed.difference_update(answered.ids)
            count = len(self._subscribed)
            if ack.sub_count is not None:
                self._held_subscriptions = ack.sub_count
        self.sub_count, self.sub_limit = ack.sub_count, ack.sub_limit
        per_request = None
        if ack.sub_count is not None and count > 1:
            # Counted per id, sub_count is the number of ids; per request it is smaller.
            per_request = ack.sub_count < count
        self._events.session_acked(self, ack, per_request)
        if answered.method == "subscribe" and not self._online:
            LOG.info(
                "stream connection %d subscribed to %d coins (subscriptions %s of %s)",
                self.index,
                count,
                ack.sub_count if ack.sub_count is not None else "?",
                ack.sub_limit if ack.sub_limit is not None else "?",
            )
            self._on_subscribed()

    def _on_subscribed(self) -> None:
        if self._outage:
            since = self._outage_since
            took = f" after {time.monotonic() - since:.0f} s" if since is not None else ""
            LOG.info("stream connection %d restored%s", self.index, took)
        elif self.attempts > 1:
            self.reconnects += 1
        self._outage = False
        self._outage_since = None
        self._backoff.reset()
        self._set_online(True)

    def _set_online(self, online: bool) -> None:
        if online != self._online:
            self._online = online
            self._events.session_online(self, online)

    def _on_error(self, frame: ErrorFrame) -> None:
        self._sink.count_server_error()
        permanent = PERMANENT_ERROR_CODES.get(frame.code)
        if permanent is not None:
            raise StreamError(permanent, permanent=True, code=frame.code)
        with self._lock:
            refused = self._inflight.pop(frame.request_id, None) if frame.request_id else None
            self._changed = True
        if refused is not None and frame.code == SUBSCRIPTION_LIMIT:
            LOG.info(
                "stream connection %d: subscription limit reached (%s); %d coins go elsewhere",
                self.index,
                frame.detail or frame.message,
                len(refused.ids),
            )
            self._events.session_limited(self, refused.ids, _limit_in(frame.detail))
            return
        LOG.warning(
            "stream error %s (%s): %s %s", frame.code, frame.category, frame.message, frame.detail
        )
        if refused is not None and refused.method == "subscribe":
            raise StreamError(f"subscribe refused with error {frame.code}: {frame.message}")

    def _send(self, ws: websocket.WebSocket, method: str, ids: tuple[int, ...] = ()) -> int:
        self._request_id += 1
        request_id = self._request_id
        if method != "ping":
            with self._lock:
                self._inflight[request_id] = _Request(method, ids, time.monotonic())
        try:
            ws.send(request(request_id, method, ids if method != "ping" else None))
        except (OSError, websocket.WebSocketException) as exc:
            raise self._explain_send_failure(ws, exc) from None
        return request_id

    def _explain_send_failure(self, ws: websocket.WebSocket, exc: BaseException) -> StreamError:
        """A server that refuses us (bad key, too many connections) closes right away, so our
        next send fails; the close frame saying why may still be waiting unread."""
        for _ in range(16):
            try:
                frame = self._receive(ws)
            except StreamError as reason:
                return reason
            if isinstance(frame, ErrorFrame) and frame.code in PERMANENT_ERROR_CODES:
                message = PERMANENT_ERROR_CODES[frame.code]
                return StreamError(message, permanent=True, code=frame.code)
        return StreamError(f"send failed: {describe(exc)}")

    def _close_ws(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.shutdown()  # type: ignore[no-untyped-call]


def _limit_in(detail: str) -> int | None:
    """The limit a 2303 error names in its detail (`sub_limit=100`), when it names one."""
    match = re.search(r"sub_limit\s*=\s*(\d{1,7})", detail)
    return int(match.group(1)) if match else None


#: Seconds into an outage at which it is reported again, then every hour.
_OUTAGE_REPORTS = (60.0, 300.0, 900.0, 3600.0)


def _report_after(reports_made: int) -> float:
    if reports_made < len(_OUTAGE_REPORTS):
        return _OUTAGE_REPORTS[reports_made]
    return _OUTAGE_REPORTS[-1] * (reports_made - len(_OUTAGE_REPORTS) + 2)


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{seconds / 3600:.1f} h"
