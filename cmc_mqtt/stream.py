"""The CoinMarketCap side: one thread keeps a subscribed WebSocket alive and feeds the state.

websocket-client's low-level `WebSocket` is used instead of `WebSocketApp` because the protocol's
keep-alive is a JSON `ping` request, not a WebSocket ping, and because one loop owning receive,
ping cadence and the dead-connection watchdog is easier to reason about than callbacks.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import websocket
from websocket import ABNF

from .backoff import Backoff
from .config import StreamSettings
from .errors import FrameError, StreamError
from .frames import (
    CHANNEL,
    DEFAULT_PING_INTERVAL_MS,
    MAX_FRAME_BYTES,
    Ack,
    ErrorFrame,
    QuoteFrame,
    ServerFrame,
    Welcome,
    parse_frame,
)

LOG = logging.getLogger(__name__)

#: Close codes that need a person to act; retrying soon only hurts the key's standing.
PERMANENT_CLOSE_CODES: Final[dict[int, str]] = {
    4004: "CoinMarketCap refused the connection: too many connections for this API key. "
    "Stop other programs using the key, then restart cmc-mqtt.",
    4100: "CoinMarketCap rejected the API key as invalid. Check cmc.api_key (or CMC_API_KEY).",
    4101: "CoinMarketCap says this API key is disabled. Check it in your CoinMarketCap account.",
    4102: "This CoinMarketCap plan has no WebSocket access. The stream needs the Startup plan or "
    "above.",
}
#: Error codes that need a person to act (authentication, plan and limits).
PERMANENT_ERROR_CODES: Final[dict[str, str]] = {
    "1001": "CoinMarketCap rejected the API key as invalid. Check cmc.api_key (or CMC_API_KEY).",
    "1002": "CoinMarketCap received no API key. Set cmc.api_key (or CMC_API_KEY).",
    "1003": "This CoinMarketCap API key is not activated yet. Activate it in your account.",
    "1004": "This CoinMarketCap plan has expired. Renew it in your account.",
    "1005": "CoinMarketCap requires an API key for this request. Set cmc.api_key.",
    "1006": "This CoinMarketCap plan does not include the price stream (Startup plan or above).",
    "1007": "This CoinMarketCap API key is disabled. Check it in your account.",
    "1008": "CoinMarketCap rate limit for this key reached. Wait, or reduce other use of the key.",
    "1009": "CoinMarketCap daily limit for this key reached. Wait, or reduce other use of the key.",
    "1010": "This key's monthly CoinMarketCap credits are used up. Wait for the next month or "
    "upgrade the plan.",
    "2302": "This CoinMarketCap plan does not include the market@crypto_latest_price channel.",
    "2303": "CoinMarketCap's subscription limit is reached. Configure fewer cmc.crypto_ids.",
    "2304": "CoinMarketCap's connection limit for this key is reached. Stop other clients.",
}
HTTP_PERMANENT: Final = {401: "1001", 403: "1006"}


class StreamSink(Protocol):
    """Where the stream delivers what it learns (the bridge state)."""

    def apply_quote(self, frame: QuoteFrame) -> bool: ...
    def set_stream_online(self, online: bool) -> None: ...
    def count_malformed(self) -> None: ...
    def count_server_error(self) -> None: ...


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


class StreamClient:
    """Keeps one subscription to `market@crypto_latest_price` alive for as long as it runs."""

    def __init__(
        self,
        settings: StreamSettings,
        sink: StreamSink,
        *,
        timings: StreamTimings | None = None,
    ) -> None:
        self._settings = settings
        self._sink = sink
        self.timings = timings or StreamTimings()
        self._backoff = Backoff(self.timings.backoff_initial, self.timings.backoff_cap)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._ws: websocket.WebSocket | None = None
        self._request_id = 0
        self._logged_reasons: set[str] = set()
        self._outage = False
        self._malformed_logged = False
        self._unknown_keys_logged: set[str] = set()
        self._fragments: list[bytes] = []
        self._fragment_opcode: int | None = None
        self._fragment_bytes = 0
        # Observable for operators and tests.
        self.attempts = 0
        self.last_error: StreamError | None = None
        self.retry_delay: float | None = None
        self.sub_count: int | None = None
        self.sub_limit: int | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cmc-mqtt-stream", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> bool:
        """End the thread; True when it has. A thread blocked in a receive notices within
        `recv_timeout`; one blocked in the handshake gets its socket cut after `timeout`."""
        self._stopping.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abort()
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _abort(self) -> None:
        ws = self._ws
        sock = ws.sock if ws is not None else None
        if sock is not None:
            # The plain socket's shutdown: `SSLSocket.shutdown` would also drop the SSL state
            # that the stream thread may be using at this very moment.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.attempts += 1
            try:
                self._session()
            except StreamError as exc:
                self.last_error = exc
                self._sink.set_stream_online(False)
                if self._stopping.is_set():
                    break
                self._wait_after(exc)
            except Exception:
                LOG.exception("unexpected error in the stream thread; reconnecting")
                self._sink.set_stream_online(False)
                self._stopping.wait(self._backoff.next_delay())
            finally:
                self._close_ws()
        self._sink.set_stream_online(False)

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
            if not self._outage:
                self._outage = True
                LOG.warning("stream connection failed: %s; reconnecting with backoff", exc)
            else:
                LOG.debug("stream still failing: %s; next attempt in %.1f s", exc, delay)
        self.retry_delay = delay
        self._stopping.wait(delay)

    def _session(self) -> None:
        ws = self._connect()
        ping_interval = self._await_welcome(ws)
        subscribe_id = self._send(ws, "subscribe", {"crypto_ids": list(self._settings.crypto_ids)})
        subscribed = False
        now = time.monotonic()
        ack_deadline = now + self.timings.ack_timeout
        last_alive = now
        next_ping = now + ping_interval
        while not self._stopping.is_set():
            frame = self._receive(ws)
            now = time.monotonic()
            if frame is not None:
                last_alive = now
                if isinstance(frame, Welcome):
                    ping_interval = frame.ping_interval_ms / 1000
                elif isinstance(frame, Ack) and frame.request_id == subscribe_id:
                    subscribed = self._on_subscribed(frame)
                elif isinstance(frame, ErrorFrame):
                    self._on_error(frame, subscribe_id)
                elif isinstance(frame, QuoteFrame) and not subscribed:
                    subscribed = self._on_subscribed(None)
            if not subscribed and now > ack_deadline:
                raise StreamError(f"no answer to subscribe within {self.timings.ack_timeout:g} s")
            dead_after = self.timings.dead_after_pings * ping_interval
            if now - last_alive > dead_after:
                raise StreamError(f"no pong or data for {dead_after:g} s; connection presumed dead")
            if now >= next_ping:
                self._send(ws, "ping")
                next_ping = now + ping_interval
        with contextlib.suppress(Exception):
            ws.send_close(websocket.STATUS_NORMAL)

    def _connect(self) -> websocket.WebSocket:
        ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
        self._ws = ws
        key = self._settings.api_key.reveal()
        try:
            ws.connect(  # type: ignore[no-untyped-call]
                self._settings.url,
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
            raise StreamError(f"cannot connect: {_describe(exc)}") from None
        ws.settimeout(self.timings.recv_timeout)
        _read_ahead(ws)
        return ws

    def _await_welcome(self, ws: websocket.WebSocket) -> float:
        """The server speaks first; a late or missing welcome does not stop us subscribing."""
        deadline = time.monotonic() + self.timings.welcome_timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            frame = self._receive(ws)
            if isinstance(frame, Welcome):
                return frame.ping_interval_ms / 1000
            if isinstance(frame, ErrorFrame):
                self._on_error(frame, None)
        LOG.debug("no welcome within %g s; subscribing anyway", self.timings.welcome_timeout)
        return DEFAULT_PING_INTERVAL_MS / 1000

    def _receive(self, ws: websocket.WebSocket) -> ServerFrame | None:
        """One parsed frame; None after a timeout, a control frame, or a frame that was counted
        and dropped. Raw frames are read (not `recv_data`) because websocket-client answers a
        close frame itself and, when that answer fails, reports the failure instead of the
        close code that says why we were refused."""
        try:
            frame = ws.recv_frame()  # type: ignore[no-untyped-call]
        except websocket.WebSocketTimeoutException:
            return None
        except (OSError, websocket.WebSocketException) as exc:
            if self._stopping.is_set():
                return None
            raise StreamError(f"connection lost: {_describe(exc)}") from None
        opcode, data = frame.opcode, frame.data
        if opcode == ABNF.OPCODE_CLOSE:
            with contextlib.suppress(Exception):
                ws.send_close(websocket.STATUS_NORMAL)
            raise _close_error(data)
        if opcode == ABNF.OPCODE_PING:
            with contextlib.suppress(Exception):
                ws.pong(data)
            return None
        if opcode == ABNF.OPCODE_PONG:
            return None
        message = self._assemble(opcode, data, fin=bool(frame.fin))
        if message is None:
            return None
        opcode, data = message
        if opcode != ABNF.OPCODE_TEXT:
            self._malformed(f"unexpected opcode {opcode} ({len(data)} bytes)")
            return None
        try:
            parsed = parse_frame(data)
        except FrameError as exc:
            self._malformed(exc.reason)
            return None
        if isinstance(parsed, QuoteFrame):
            self._deliver(parsed)
        return parsed

    def _assemble(self, opcode: int, data: bytes, *, fin: bool) -> tuple[int, bytes] | None:
        """Join fragmented messages; oversized ones are dropped as they grow."""
        if opcode != ABNF.OPCODE_CONT:
            self._fragments, self._fragment_opcode = [], opcode
        elif self._fragment_opcode is None:
            self._malformed("continuation frame without a start")
            return None
        self._fragments.append(data)
        self._fragment_bytes = sum(len(part) for part in self._fragments)
        if self._fragment_bytes > MAX_FRAME_BYTES:
            self._fragments, self._fragment_opcode = [], None
            self._malformed(f"message larger than {MAX_FRAME_BYTES} bytes")
            return None
        if not fin:
            return None
        first = self._fragment_opcode
        joined = b"".join(self._fragments)
        self._fragments, self._fragment_opcode = [], None
        return first, joined

    def _deliver(self, frame: QuoteFrame) -> None:
        if not self._sink.apply_quote(frame):
            LOG.debug("dropped a quote for coin %d, which is not configured", frame.cid)
        for key in frame.unknown_keys:
            if key not in self._unknown_keys_logged and len(self._unknown_keys_logged) < 32:
                self._unknown_keys_logged.add(key)
                LOG.info("the stream sends a field this version does not know: %r", key[:40])

    def _malformed(self, reason: str) -> None:
        self._sink.count_malformed()
        if not self._malformed_logged:
            self._malformed_logged = True
            LOG.warning(
                "dropped a malformed frame (%s); further ones are counted in bridge/info "
                "and logged at debug level",
                reason,
            )
        else:
            LOG.debug("dropped a malformed frame: %s", reason)

    def _on_subscribed(self, ack: Ack | None) -> bool:
        if ack is not None:
            self.sub_count, self.sub_limit = ack.sub_count, ack.sub_limit
            LOG.info(
                "subscribed to %d coins (subscriptions %s of %s)",
                len(self._settings.crypto_ids),
                ack.sub_count if ack.sub_count is not None else "?",
                ack.sub_limit if ack.sub_limit is not None else "?",
            )
        if self._outage:
            LOG.info("stream connection restored")
        self._outage = False
        self._backoff.reset()
        self._sink.set_stream_online(True)
        return True

    def _on_error(self, frame: ErrorFrame, subscribe_id: int | None) -> None:
        self._sink.count_server_error()
        permanent = PERMANENT_ERROR_CODES.get(frame.code)
        if permanent is not None:
            raise StreamError(permanent, permanent=True, code=frame.code)
        LOG.warning(
            "stream error %s (%s): %s %s", frame.code, frame.category, frame.message, frame.detail
        )
        if subscribe_id is not None and frame.request_id == subscribe_id:
            raise StreamError(f"subscribe refused with error {frame.code}: {frame.message}")

    def _send(
        self, ws: websocket.WebSocket, method: str, params: dict[str, object] | None = None
    ) -> int:
        self._request_id += 1
        request: dict[str, object] = {"id": self._request_id, "method": method}
        if method in ("subscribe", "unsubscribe"):
            request["channel"] = CHANNEL
        if params is not None:
            request["params"] = params
        try:
            ws.send(json.dumps(request, separators=(",", ":")))
        except (OSError, websocket.WebSocketException) as exc:
            raise self._explain_send_failure(ws, exc) from None
        return self._request_id

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
        return StreamError(f"send failed: {_describe(exc)}")

    def _close_ws(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.shutdown()  # type: ignore[no-untyped-call]


class _ReadAhead:
    """websocket-client asks its socket for exactly what the next field needs (2 header bytes,
    the length, the payload): two or three system calls per frame. This asks for up to 64 KiB
    and serves the requests from that, through websocket-client's own `recv`, so its timeout
    and error handling stay as they are (a timeout raises before anything is consumed)."""

    __slots__ = ("_buffer", "_recv")

    def __init__(self, recv: Callable[[int], bytes]) -> None:
        self._recv = recv
        self._buffer = b""

    def __call__(self, size: int) -> bytes:
        if not self._buffer:
            self._buffer = self._recv(65536)
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk


def _read_ahead(ws: websocket.WebSocket) -> None:
    frames = getattr(ws, "frame_buffer", None)
    if frames is not None and callable(getattr(frames, "recv", None)):
        frames.recv = _ReadAhead(frames.recv)


def _close_error(data: bytes) -> StreamError:
    code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
    reason = data[2:].decode("utf-8", "replace")[:120]
    message = PERMANENT_CLOSE_CODES.get(code)
    if message is not None:
        return StreamError(message, permanent=True, code=code)
    return StreamError(
        f"server closed the connection (code {code}{': ' + reason if reason else ''})"
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout | websocket.WebSocketTimeoutException):
        return "timed out"
    text = str(exc).split("\n")[0][:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
