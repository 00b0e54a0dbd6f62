"""Reading one connection: WebSocket frames in, parsed server frames out; quotes go to the sink,
what cannot be used is counted and logged once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Final, Protocol

import websocket
from websocket import ABNF

from ..errors import FrameError, StreamError
from .frames import QuoteFrame, ServerFrame
from .frames import parse_frame as parse
from .protocol import MessageAssembler, close_error, describe
from .ws_adapter import frame_waiting, read_frame

LOG = logging.getLogger(__name__)
#: At most this many quotes in a row are merged without waking the publisher, however fast
#: they come: a flood still reaches the broker in bounded steps.
MAX_HELD_QUOTES: Final = 64


class StreamSink(Protocol):
    """Where quotes and counts go (the bridge state)."""

    def apply_quote(self, frame: QuoteFrame, *, hold: bool = False) -> bool: ...
    def release_held(self) -> None: ...
    def count_malformed(self) -> None: ...
    def count_rejected_field(self) -> None: ...
    def count_server_error(self) -> None: ...


class FrameReader:
    def __init__(self, sink: StreamSink) -> None:
        self._sink = sink
        self._assembler = MessageAssembler()
        self._malformed_logged = False
        self._unknown_keys_logged: set[str] = set()
        self._rejected_logged: set[str] = set()
        self.messages = 0  # data frames received: what CoinMarketCap bills
        self._held = 0  # quotes merged in a row without waking the publisher

    def read(self, ws: websocket.WebSocket, stopping: threading.Event) -> ServerFrame | None:
        """One parsed frame; None after a timeout, a control frame, or a frame that was counted
        and dropped.

        Frames that came in one read from the network are merged before the publisher is woken
        once for all of them: a quote is held back only while the next frame is already here,
        so nothing waits for the network (any other outcome releases what is held)."""
        held = self._held
        try:
            frame = self._read(ws, stopping)
        finally:
            if held and self._held == held:  # neither held nor delivered a quote
                self._held = 0
                self._sink.release_held()
        return frame

    def _read(self, ws: websocket.WebSocket, stopping: threading.Event) -> ServerFrame | None:
        """Raw frames are read (not `recv_data`) because websocket-client answers a close frame
        itself and, when that answer fails, reports the failure instead of the close code that
        says why we were refused."""
        try:
            opcode, data, final = read_frame(ws)
        except websocket.WebSocketTimeoutException:
            return None
        except (OSError, websocket.WebSocketException) as exc:
            if stopping.is_set():
                return None
            raise StreamError(f"connection lost: {describe(exc)}") from exc
        if opcode == ABNF.OPCODE_CLOSE:
            with contextlib.suppress(Exception):
                ws.send_close(websocket.STATUS_NORMAL)
            raise close_error(data)
        if opcode == ABNF.OPCODE_PING:
            with contextlib.suppress(Exception):
                ws.pong(data)
            return None
        if opcode == ABNF.OPCODE_PONG:
            return None
        message = self._assembler.add(opcode, data, fin=final)
        if message is None:
            return None
        if isinstance(message, str):
            self._malformed(message)
            return None
        opcode, data = message
        if opcode != ABNF.OPCODE_TEXT:
            self._malformed(f"unexpected opcode {opcode} ({len(data)} bytes)")
            return None
        try:
            parsed = parse(data)
        except FrameError as exc:
            self._malformed(exc.reason)
            return None
        if isinstance(parsed, QuoteFrame):
            self.messages += 1
            hold = self._held < MAX_HELD_QUOTES and frame_waiting(ws)
            self._deliver(parsed, hold)
            self._held = self._held + 1 if hold else 0  # a quote not held wakes for all
        return parsed

    def _deliver(self, frame: QuoteFrame, hold: bool) -> None:
        if not self._sink.apply_quote(frame, hold=hold):
            LOG.debug("dropped a quote for coin %d, which is not configured", frame.cid)
        for key, problem in frame.rejected:
            self._sink.count_rejected_field()
            if key not in self._rejected_logged:
                self._rejected_logged.add(key)
                LOG.warning(
                    "coin %d: field %r %s; dropped, the coin's other fields are published "
                    "(further ones are counted in bridge/info)",
                    frame.cid,
                    key,
                    problem,
                )
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
