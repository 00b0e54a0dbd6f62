"""Every touch of websocket-client's internals, checked before use, with the public API behind it.

websocket-client asks its socket for exactly what the next field of a frame needs (2 header
bytes, the length, the payload): two or three system calls per frame, about 40 % of the bridge's
CPU at 10,000 coins. The read-ahead asks for up to 64 KiB at once and serves those requests from
it. It needs one internal: the `recv` callable of `WebSocket.frame_buffer`. At import the adapter
checks, with a real frame, that replacing it still yields the frame; if a release changed that,
the bridge warns once and reads frames through the unmodified public `recv_frame`.

A final, unmasked text frame found whole in the read-ahead (RFC 6455 §5.2: a two-byte header
and a length), there already or after one read, is taken directly (`read_frame`), and
websocket-client's frame reader, about a tenth of the CPU per frame, is asked only for anything
else: control frames, fragments, a frame still arriving, the rest of one a timeout cut.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import websocket

from ..util import fastpath

LOG = logging.getLogger(__name__)
READ_AHEAD_BYTES: Final = 65536
_TEXT: Final = websocket.ABNF.OPCODE_TEXT
_FINAL_TEXT: Final = 0x80 | _TEXT  # the first byte: FIN set, no extension bits, text


class ReadAhead:
    """Serves websocket-client's small reads from one large read, through its own `recv`, so
    its timeout and error handling stay as they are (a timeout raises before anything is
    consumed)."""

    __slots__ = ("_buffer", "_position", "_recv", "at_boundary")

    def __init__(self, recv: Callable[[int], bytes]) -> None:
        self._recv = recv
        self._buffer = b""
        self._position = 0  # what is served; an offset, so a large read is not copied per frame
        #: False while websocket-client is inside a frame (a timeout leaves it there, half
        #: read): what comes next from the network is then the rest of that frame.
        self.at_boundary = True

    def __call__(self, size: int) -> bytes:
        self.fill()
        start = self._position
        self._position = start + size
        return self._buffer[start : start + size]

    def fill(self) -> None:
        """Read from the network once everything read before is served (and only then: the
        bytes of a frame still arriving stay where websocket-client expects them)."""
        if self._position >= len(self._buffer):
            self._buffer, self._position = self._recv(READ_AHEAD_BYTES), 0

    def _whole_frame(self) -> tuple[int, int] | None:
        """Where the next frame's payload starts and ends in the buffer, when the frame is all
        here (RFC 6455 §5.2); None otherwise."""
        buffer, start = self._buffer, self._position
        available = len(buffer) - start
        if available < 2 or not self.at_boundary:
            return None
        second = buffer[start + 1]
        length = second & 0x7F
        header = 2
        if length == 126:
            header = 4
            length = int.from_bytes(buffer[start + 2 : start + 4], "big")
        elif length == 127:
            header = 10
            length = int.from_bytes(buffer[start + 2 : start + 10], "big")
        if second & 0x80:
            header += 4  # a mask (servers do not send one, but the length counts it)
        if available < header + length:
            return None
        return start + header, start + header + length

    def holds_frame(self) -> bool:
        """Whether a whole WebSocket frame is already here: reading it will not wait for the
        network."""
        return self._whole_frame() is not None

    def take_text_frame(self) -> bytes | None:
        """The next frame's payload when it is here whole and is what the stream sends: final,
        text, no extension bits, unmasked (`0x81`). Anything else: None, nothing consumed."""
        buffer, start = self._buffer, self._position
        if len(buffer) - start < 2 or buffer[start] != _FINAL_TEXT or buffer[start + 1] & 0x80:
            return None
        span = self._whole_frame()
        if span is None:
            return None
        payload_start, self._position = span
        return buffer[payload_start : self._position]


def _read_ahead_works() -> bool:
    """Feed two frames through a real `frame_buffer` with the read-ahead in place."""
    try:
        frames = [b"\x81\x05hello", b"\x81\x02hi"]
        stream = [b"".join(frames)]

        def source(_size: int) -> bytes:
            return stream.pop(0) if stream else b""

        probe = websocket.WebSocket(skip_utf8_validation=True)
        buffer = probe.frame_buffer
        if not callable(getattr(buffer, "recv", None)):
            return False
        buffer.recv = ReadAhead(source)
        first, second = buffer.recv_frame(), buffer.recv_frame()
    except Exception:  # noqa: BLE001 - any surprise means: do not use the internal
        return False
    return (first.data, second.data) == (b"hello", b"hi")


#: Whether the read-ahead is in use: checked once, at import.
fast_path = fastpath.wanted() and _read_ahead_works()
if not fast_path and fastpath.wanted():
    LOG.warning(
        "websocket-client %s changed an internal the read-ahead relies on; reading frames "
        "through its public API (correct, but slower)",
        getattr(websocket, "__version__", "?"),
    )


def read_frame(ws: websocket.WebSocket) -> tuple[int, bytes, bool]:
    """The next frame as (opcode, payload, final): a whole text frame straight from the
    read-ahead, anything else through websocket-client's `recv_frame` (which raises its
    timeout and connection errors as always)."""
    recv = ws.frame_buffer.recv if fast_path else None
    if type(recv) is not ReadAhead:
        frame = ws.recv_frame()  # type: ignore[no-untyped-call]
        return frame.opcode, frame.data, bool(frame.fin)
    payload = recv.take_text_frame()
    if payload is None and recv.at_boundary:
        recv.fill()  # at real cadence a frame comes alone: the buffer is spent when asked
        payload = recv.take_text_frame()
    if payload is not None:
        return _TEXT, payload, True
    recv.at_boundary = False
    frame = ws.recv_frame()  # type: ignore[no-untyped-call]
    recv.at_boundary = True
    return frame.opcode, frame.data, bool(frame.fin)


def frame_waiting(ws: websocket.WebSocket) -> bool:
    """Whether the next frame is already read, right after a whole frame was taken (a reader
    holds back waking the publisher until it has taken the frames that came together)."""
    recv = ws.frame_buffer.recv if fast_path else None
    return type(recv) is ReadAhead and recv.holds_frame()


def install_read_ahead(ws: websocket.WebSocket) -> bool:
    """Put the read-ahead under a connected WebSocket; False (and nothing changed) when the
    check at import failed."""
    if not fast_path:
        return False
    buffer = ws.frame_buffer
    buffer.recv = ReadAhead(buffer.recv)
    return True
