"""Server-side WebSocket framing (RFC 6455), just enough for a fake that must also misbehave.

A general WebSocket library refuses to send invalid UTF-8 in a text frame, to stall halfway or
to never answer an upgrade; a fake stream server has to do all of that on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import json
import select
import socket
import ssl
import struct
import threading
from typing import Any, Final, Protocol

GUID: Final = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
MAX_CLIENT_FRAME: Final = 1 << 20


class HandshakeError(Exception):
    pass


def read_request(sock: socket.socket, limit: int = 16384) -> tuple[str, dict[str, str]]:
    """Read an HTTP upgrade request; header names are lower-cased."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise HandshakeError("connection closed during handshake")
        data += chunk
        if len(data) > limit:
            raise HandshakeError("request headers too large")
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def accept_response(client_key: str) -> bytes:
    digest = hashlib.sha1((client_key + GUID).encode("ascii")).digest()  # noqa: S324 (RFC 6455)
    accept = base64.b64encode(digest).decode("ascii")
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
    ).encode("ascii")


def http_error(status: int, reason: str) -> bytes:
    body = reason.encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii") + body


HTTP_REASONS: Final = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 429: "Too Many Requests",
}  # fmt: skip


def http_json(status: int, body: Any) -> bytes:
    """A whole HTTP/1.1 response with a JSON body; the connection closes after it."""
    payload = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} {HTTP_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + payload


def encode_frame(payload: bytes, opcode: int = OP_TEXT, *, fin: bool = True) -> bytes:
    """A server frame (servers never mask)."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


def close_frame(code: int, reason: str = "") -> bytes:
    return encode_frame(struct.pack("!H", code) + reason.encode()[:120], OP_CLOSE)


class Receiver(Protocol):
    def recv(self, size: int, /) -> bytes: ...


class LockedTlsReads:
    """`recv` on a TLS socket that other threads write to under `lock`: it waits for data
    without the lock, then reads without blocking while holding it, so a read never runs at the
    same time as a write and never holds the lock while the client is silent."""

    def __init__(self, sock: ssl.SSLSocket, lock: threading.Lock) -> None:
        self._sock = sock
        self._lock = lock

    def recv(self, size: int, /) -> bytes:
        sock = self._sock
        while True:
            if not sock.pending():
                try:
                    select.select([sock], [], [])
                except ValueError:  # closed (fd -1) by another thread meanwhile
                    raise ConnectionError("connection closed") from None
            with self._lock:
                sock.setblocking(False)
                try:
                    return sock.recv(size)
                except ssl.SSLWantReadError:  # only part of a TLS record has arrived
                    continue
                finally:
                    sock.setblocking(True)


class FrameReader:
    """Reads masked client frames from a blocking socket."""

    def __init__(self, sock: Receiver) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("client closed the connection")
            self._buffer += chunk
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def read(self) -> tuple[int, bytes]:
        """Next complete message as (opcode, payload); continuation frames are joined."""
        message = bytearray()
        message_opcode = None
        while True:
            b1, b2 = self._exactly(2)
            fin, opcode = b1 & 0x80, b1 & 0x0F
            size = b2 & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self._exactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self._exactly(8))
            if size > MAX_CLIENT_FRAME:
                raise ConnectionError("client frame too large")
            mask = self._exactly(4) if b2 & 0x80 else b""
            payload = self._exactly(size)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode >= OP_CLOSE:
                return opcode, payload
            if message_opcode is None:
                message_opcode = opcode
            message += payload
            if fin:
                return message_opcode, bytes(message)
