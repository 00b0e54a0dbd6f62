"""One WebSocket connection to CoinMarketCap, from the handshake to its close: the welcome, the
receive loop with the protocol's keep-alive and the dead-connection watchdog, the subscribe and
unsubscribe requests, and the server's answers to them.

websocket-client's low-level `WebSocket` is used instead of `WebSocketApp` because the protocol's
keep-alive is a JSON `ping` request, not a WebSocket ping, and because one loop owning receive,
ping cadence, the watchdog and the subscription changes is easier to reason about than
callbacks. A connection lives for one attempt: whatever ends it raises a `StreamError`, and its
session decides when to try again.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from typing import Protocol

import websocket

from ..errors import StreamError
from ..util.secret import Secret
from ..util.wording import counted
from . import ws_adapter
from .frames import DEFAULT_PING_INTERVAL_MS, Ack, ErrorFrame, QuoteFrame, Welcome
from .protocol import (
    HTTP_PERMANENT,
    PERMANENT_ERROR_CODES,
    SUBSCRIPTION_LIMIT,
    describe,
    request,
)
from .reader import FrameReader, StreamSink
from .subscriptions import SubscriptionBook
from .timings import StreamTimings

LOG = logging.getLogger(__name__)
#: Never sent: a key with a space, control or non-ASCII character would break the handshake's
#: header (or inject one), and the message must not repeat it.
UNSENDABLE_KEY = (
    "the API key holds characters a key cannot have (spaces, line breaks, control or non-ASCII "
    "characters): check cmc.api_key, cmc.api_key_file or CMC_API_KEY"
)


class ConnectionEvents(Protocol):
    """What a connection tells its session."""

    def connection_delivering(self) -> None:
        """The server granted a subscription or sent a quote: the connection works."""
        ...

    def connection_idle(self) -> None:
        """A read gave nothing to act on (it timed out, or got a control frame or one that was
        dropped): a moment for what is not worth a frame's time."""
        ...

    def connection_acked(self, ack: Ack, per_request: bool | None) -> None: ...
    def connection_limited(self, refused: tuple[int, ...], limit: int | None) -> None: ...


class StreamConnection:
    """One attempt's connection; `open`, then `run` until stopped or failed, then `close`."""

    def __init__(
        self,
        index: int,
        *,
        book: SubscriptionBook,
        reader: FrameReader,
        sink: StreamSink,
        events: ConnectionEvents,
        timings: StreamTimings,
        stopping: threading.Event,
    ) -> None:
        self._index = index
        self._book = book
        self._reader = reader
        self._sink = sink
        self._events = events
        self._timings = timings
        self._stopping = stopping
        self._ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
        self._request_id = 0
        self._delivering = False

    def open(self, url: str, api_key: Secret) -> None:
        if not api_key.fits_a_header():
            raise StreamError(UNSENDABLE_KEY, permanent=True, code="key")
        try:
            self._ws.connect(  # type: ignore[no-untyped-call]
                url,
                header=[f"X-CMC_PRO_API_KEY: {api_key.reveal()}"],
                timeout=self._timings.connect_timeout,
                suppress_origin=True,
            )
        except websocket.WebSocketBadStatusException as exc:
            code = HTTP_PERMANENT.get(exc.status_code)
            if code is not None:
                raise StreamError(
                    PERMANENT_ERROR_CODES[code], permanent=True, code=exc.status_code
                ) from exc
            raise StreamError(f"upgrade refused with HTTP {exc.status_code}") from exc
        except (OSError, websocket.WebSocketException) as exc:
            raise StreamError(f"cannot connect: {describe(exc)}") from exc
        self._ws.settimeout(self._timings.recv_timeout)
        ws_adapter.install_read_ahead(self._ws)

    def run(self) -> None:
        """Receive until stopped. The hot path: one pass per frame, so what is not needed for
        every frame stays out of it (the requests run only after a change, the answers are
        checked only while some are awaited)."""
        ws, book, stopping = self._ws, self._book, self._stopping
        read, ack_timeout = self._reader.read, self._timings.ack_timeout
        ping_interval = self._await_welcome()
        book.new_connection()
        now = time.monotonic()
        last_alive = now
        next_ping = now + ping_interval
        while not stopping.is_set():
            if book.changed:
                self._request_changes()
            frame = read(ws, stopping)
            now = time.monotonic()
            if frame is None:
                self._events.connection_idle()
            else:
                last_alive = now
                if isinstance(frame, QuoteFrame):
                    if not self._delivering:
                        self._deliver()
                elif isinstance(frame, Ack):
                    self._on_ack(frame)
                elif isinstance(frame, ErrorFrame):
                    self._on_error(frame)
                elif isinstance(frame, Welcome):
                    ping_interval = frame.ping_interval_ms / 1000
            if book.pending:
                late = book.overdue(now, ack_timeout)
                if late is not None:
                    raise StreamError(f"no answer to {late.method} within {ack_timeout:g} s")
            dead_after = self._timings.dead_after_pings * ping_interval
            if now - last_alive > dead_after:
                raise StreamError(f"no pong or data for {dead_after:g} s; connection presumed dead")
            if now >= next_ping:
                self._send("ping")
                next_ping = now + ping_interval
        with contextlib.suppress(Exception):
            ws.send_close(websocket.STATUS_NORMAL)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ws.shutdown()  # type: ignore[no-untyped-call]

    def cut(self) -> None:
        """From another thread: end a handshake or receive that would not end by itself."""
        sock = self._ws.sock
        if sock is not None:
            # The plain socket's shutdown: `SSLSocket.shutdown` would also drop the SSL state
            # that the session thread may be using at this very moment.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _await_welcome(self) -> float:
        """The server speaks first; a late or missing welcome does not stop us subscribing."""
        deadline = time.monotonic() + self._timings.welcome_timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            frame = self._reader.read(self._ws, self._stopping)
            if isinstance(frame, Welcome):
                return frame.ping_interval_ms / 1000
            if isinstance(frame, ErrorFrame):
                self._on_error(frame)
            elif frame is None:
                self._events.connection_idle()
        LOG.debug("no welcome within %g s; subscribing anyway", self._timings.welcome_timeout)
        return DEFAULT_PING_INTERVAL_MS / 1000

    def _deliver(self) -> None:
        self._delivering = True
        self._events.connection_delivering()

    # --- requests ------------------------------------------------------------------------------

    def _request_changes(self) -> None:
        add, remove = self._book.requests_due()
        if add:
            self._send("subscribe", add)
        if remove:
            self._send("unsubscribe", remove)

    def _send(self, method: str, ids: tuple[int, ...] = ()) -> None:
        self._request_id += 1
        if method != "ping":
            self._book.sent(self._request_id, method, ids, time.monotonic())
        try:
            self._ws.send(request(self._request_id, method, ids if method != "ping" else None))
        except (OSError, websocket.WebSocketException) as exc:
            raise self._explain_send_failure(exc) from exc

    def _explain_send_failure(self, exc: BaseException) -> StreamError:
        """A server that refuses us (bad key, too many connections) closes right away, so our
        next send fails; the close frame saying why may still be waiting unread."""
        for _ in range(16):
            try:
                frame = self._reader.read(self._ws, self._stopping)
            except StreamError as reason:
                return reason
            if isinstance(frame, ErrorFrame) and frame.code in PERMANENT_ERROR_CODES:
                message = PERMANENT_ERROR_CODES[frame.code]
                return StreamError(message, permanent=True, code=frame.code)
        return StreamError(f"send failed: {describe(exc)}")

    # --- answers -------------------------------------------------------------------------------

    def _on_ack(self, ack: Ack) -> None:
        granted = self._book.acknowledged(ack)
        if granted is None:
            return
        per_request = None
        if ack.sub_count is not None and granted.held > 1:
            # Counted per id, sub_count is the number of ids; per request it is smaller.
            per_request = ack.sub_count < granted.held
        self._events.connection_acked(ack, per_request)
        if granted.method == "subscribe" and not self._delivering:
            LOG.info(
                "stream connection %d subscribed to %s (subscriptions %s of %s)",
                self._index,
                counted(granted.held, "coin"),
                ack.sub_count if ack.sub_count is not None else "?",
                ack.sub_limit if ack.sub_limit is not None else "?",
            )
            self._deliver()

    def _on_error(self, frame: ErrorFrame) -> None:
        self._sink.count_server_error()
        permanent = PERMANENT_ERROR_CODES.get(frame.code)
        if permanent is not None:
            raise StreamError(permanent, permanent=True, code=frame.code)
        refused = self._book.refused(frame.request_id)
        if refused is not None and frame.code == SUBSCRIPTION_LIMIT:
            LOG.info(
                "stream connection %d: subscription limit reached (%s); %s elsewhere",
                self._index,
                frame.detail or frame.message,
                counted(len(refused.ids), "coin goes", "coins go"),
            )
            self._events.connection_limited(refused.ids, _limit_in(frame.detail))
            return
        LOG.warning(
            "stream error %s (%s): %s %s", frame.code, frame.category, frame.message, frame.detail
        )
        if refused is not None and refused.method == "subscribe":
            raise StreamError(f"subscribe refused with error {frame.code}: {frame.message}")


def _limit_in(detail: str) -> int | None:
    """The limit a 2303 error names in its detail (`sub_limit=100`), when it names one."""
    match = re.search(r"sub_limit\s*=\s*(\d{1,7})", detail)
    return int(match.group(1)) if match else None
