"""Frames that arrive together are merged before the publisher is woken, and nothing waits for
the network: over a real socket, from a minimal WebSocket server that writes what it is told."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websocket import ABNF

from cmc_mqtt.simulator import wire
from cmc_mqtt.stream import ws_adapter
from cmc_mqtt.stream.frames import CHANNEL, QuoteFrame
from cmc_mqtt.stream.reader import MAX_HELD_QUOTES, FrameReader


def server_frame(payload: bytes, opcode: int = ABNF.OPCODE_TEXT) -> bytes:
    """A frame as a server sends it: unmasked (RFC 6455 §5.1)."""
    return ABNF(fin=1, opcode=opcode, mask_value=0, data=payload).format()


def quote(cid: int, price: str = "1.5") -> bytes:
    frame = {"channel": CHANNEL, "type": "data", "data": {"cid": cid, "p": float(price)}}
    return server_frame(json.dumps(frame).encode())


class SinkRecorder:
    def __init__(self) -> None:
        self.applied: list[tuple[int, bool]] = []  # (coin, held)
        self.releases = 0

    def apply_quote(self, frame: QuoteFrame, *, hold: bool = False) -> bool:
        self.applied.append((frame.cid, hold))
        return True

    def release_held(self) -> None:
        self.releases += 1

    def count_malformed(self) -> None: ...
    def count_rejected_field(self) -> None: ...
    def count_server_error(self) -> None: ...


class RawServer:
    """Accepts one WebSocket client (the simulator's handshake), then sends each chunk it is
    given in one write: the simulator paces its frames, this writes them as told."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._accepted = threading.Event()
        self._conn: socket.socket | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        conn, _ = self._listener.accept()
        _request_line, headers = wire.read_request(conn)
        conn.sendall(wire.accept_response(headers["sec-websocket-key"]))
        self._conn = conn
        self._accepted.set()

    def send(self, data: bytes) -> None:
        assert self._accepted.wait(5)
        assert self._conn is not None
        self._conn.sendall(data)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._listener.close()


class Link:
    """A connected WebSocket with a reader on it, recording what reaches the sink."""

    def __init__(self, server: RawServer, ws: websocket.WebSocket) -> None:
        self.send = server.send
        self.sink = SinkRecorder()
        self._ws = ws
        self._reader = FrameReader(self.sink)

    def read(self, count: int) -> None:
        stopping = threading.Event()
        for _ in range(count):
            self._reader.read(self._ws, stopping)


@pytest.fixture
def link() -> Iterator[Link]:
    server = RawServer()
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/", timeout=5)
    assert ws_adapter.install_read_ahead(ws)
    yield Link(server, ws)
    ws.close(timeout=0)
    server.close()


def test_quotes_that_came_together_wake_the_publisher_once(link: Link) -> None:
    link.send(quote(1) + quote(2) + quote(3))
    link.read(3)
    assert link.sink.applied == [(1, True), (2, True), (3, False)]  # the last one wakes it
    assert link.sink.releases == 0


def test_a_quote_is_not_held_for_a_frame_still_on_its_way(link: Link) -> None:
    second = quote(2)
    link.send(quote(1) + second[:5])  # the next frame's start is here, not all of it
    link.read(1)
    assert link.sink.applied == [(1, False)]
    link.send(second[5:])
    link.read(1)
    assert link.sink.applied == [(1, False), (2, False)]


def test_what_is_held_is_released_when_the_next_frame_is_not_a_quote(link: Link) -> None:
    link.send(quote(1) + server_frame(b"not json"))
    link.read(2)
    assert link.sink.applied == [(1, True)]
    assert link.sink.releases == 1


def test_a_flood_wakes_the_publisher_at_least_every_max_held_quotes(link: Link) -> None:
    count = MAX_HELD_QUOTES * 2 + 5
    link.send(b"".join(quote(cid) for cid in range(1, count + 1)))
    link.read(count)
    held = [hold for _, hold in link.sink.applied]
    assert len(held) == count
    assert held[MAX_HELD_QUOTES] is False
    assert held[2 * MAX_HELD_QUOTES + 1] is False
    longest, run = 0, 0
    for hold in held:
        run = run + 1 if hold else 0
        longest = max(longest, run)
    assert longest == MAX_HELD_QUOTES


@pytest.mark.parametrize("size", [10, 125, 126, 1000, 65535, 65536, 70000])
def test_a_whole_frame_is_recognised_at_every_length_encoding(size: int) -> None:
    """7-bit, 16-bit and 64-bit lengths: every prefix of a frame is not whole, the frame is."""
    data = server_frame(b"x" * size)
    for cut in (0, 1, 2, 3, 9, len(data) - 1):
        read_ahead = ws_adapter.ReadAhead(lambda _size, prefix=data[:cut]: prefix)
        read_ahead(0)  # fills the buffer with the prefix
        assert not read_ahead.holds_frame(), cut
    read_ahead = ws_adapter.ReadAhead(lambda _size: data + b"\x81")
    read_ahead(0)
    assert read_ahead.holds_frame()
    read_ahead(len(data))  # the frame taken: one byte of the next one left
    assert not read_ahead.holds_frame()


FRAME_SPECS = st.lists(
    st.tuples(
        st.sampled_from([ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY, ABNF.OPCODE_PING, ABNF.OPCODE_CONT]),
        st.booleans(),  # final
        st.sampled_from([0, 1, 2, 125, 126, 127, 65535, 65536, 70000]),
        st.booleans(),  # masked (a server must not, but a reader meets what it meets)
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=FRAME_SPECS, cuts=st.lists(st.integers(1, 80_000), max_size=6), data=st.data())
def test_frames_read_directly_are_what_websocket_client_reads(
    specs: list[tuple[int, bool, int, bool]], cuts: list[int], data: st.DataObject
) -> None:
    """Any frames, split into any chunks, with timeouts between chunks: taking whole text
    frames from the read-ahead yields exactly what websocket-client's own reader yields."""
    frames = []
    for index, (opcode, final, size, masked) in enumerate(specs):
        # Payloads that look like frames: read from the wrong place, they would pass for one.
        payload = (bytes([index]) + b"\x81\x03abc" * (size // 5 + 1))[:size]
        frame = ABNF(fin=int(final), opcode=opcode, mask_value=int(masked), data=payload)
        frames.append(((opcode, payload, final), frame.format()))
    stream = b"".join(wire for _, wire in frames)
    chunks, start = [], 0
    for cut in sorted(set(cuts)):
        if start < cut < len(stream):
            chunks.append(stream[start:cut])
            start = cut
    chunks.append(stream[start:])
    timeouts = data.draw(st.sets(st.integers(0, len(chunks) - 1)))

    def source() -> Callable[[int], bytes]:
        pending = list(enumerate(chunks))
        timed_out: set[int] = set()

        def recv(_size: int) -> bytes:
            index, chunk = pending[0]
            if index in timeouts and index not in timed_out:
                timed_out.add(index)
                raise websocket.WebSocketTimeoutException("timed out")
            pending.pop(0)
            return chunk

        return recv

    def read_all_frames(read: Callable[[], tuple[int, bytes, bool]]) -> list[object]:
        got: list[object] = []
        while len(got) < len(frames):
            try:
                got.append(read())
            except websocket.WebSocketTimeoutException:
                continue
            except websocket.WebSocketProtocolException as exc:  # an invalid control frame
                got.append(str(exc))
                break
        return got

    plain = websocket.WebSocket(skip_utf8_validation=True)
    plain.frame_buffer.recv = source()

    def plain_read() -> tuple[int, bytes, bool]:
        frame = plain.recv_frame()
        return frame.opcode, frame.data, bool(frame.fin)

    direct = websocket.WebSocket(skip_utf8_validation=True)
    direct.frame_buffer.recv = ws_adapter.ReadAhead(source())
    expected = read_all_frames(plain_read)
    assert read_all_frames(lambda: ws_adapter.read_frame(direct)) == expected
    readable = [got for got in expected if not isinstance(got, str)]  # those before an error
    assert readable == [want for want, _ in frames][: len(readable)]
