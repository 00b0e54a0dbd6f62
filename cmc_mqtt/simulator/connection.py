"""One client connection of the fake, and the frames the fake answers with.

A connection knows only its owner's `ConnectionOwner` side (to be forgotten once it closes), so
it never reaches up into the server that accepted it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from ..stream.frames import CHANNEL
from .billing import CreditLedger
from .limits import Subscriptions
from .wire import OP_TEXT, LockedTlsReads, Receiver, close_frame, encode_frame

#: CoinMarketCap documents no close code for a key whose credits are spent; the fake sends the
#: 1010 (or 1009) error frame, then closes with "policy violation". Read the error, not the code.
CREDITS_CLOSE_CODE: Final = 1008
TOO_MANY_CONNECTIONS: Final = 4004


class ConnectionOwner(Protocol):
    """What a connection asks of whoever accepted it."""

    def forget(self, conn: ServerConnection) -> None:
        """The connection closed: it no longer counts, and nothing is sent to it."""


@dataclass(eq=False)
class ServerConnection:
    owner: ConnectionOwner = field(repr=False)
    sock: socket.socket
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # holds the API key
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    requests: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    upgraded: bool = False  # frames go only to connections past the HTTP upgrade
    #: Past the key check and counted against the key's connection limit.
    admitted: bool = False
    ledger: CreditLedger | None = field(default=None, repr=False)
    messages_billed: int = 0
    credits_billed: float = 0.0
    refused: bool = False  # sent a 1010/1009 and closed
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def subscribed(self) -> set[int]:
        """The ids this connection receives (the live set: read it, do not change it)."""
        return self.subscriptions.ids

    @property
    def sub_count(self) -> int:
        return self.subscriptions.count

    def start_tls(self, context: ssl.SSLContext) -> Receiver:
        """Become the server side of TLS (on this connection's own thread: the handshake must
        never hold up accepting others) and return what its frames are read from."""
        self.sock = tls_sock = context.wrap_socket(self.sock, server_side=True)
        # One TLS connection must not be read and written at once (OpenSSL's rule), and pushes
        # are written from other threads: reads take the send lock.
        return LockedTlsReads(tls_sock, self._lock)

    def send(self, payload: str | bytes, opcode: int = OP_TEXT) -> bool:
        data = payload.encode() if isinstance(payload, str) else payload
        return self.send_raw(encode_frame(data, opcode))

    def send_raw(self, data: bytes) -> bool:
        """Bytes straight onto the socket: whole frames, or deliberately broken ones."""
        if self.closed:
            return False
        with self._lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self.abort()
                return False
        return True

    def bill(self, messages: int, credits: float) -> None:
        with self._lock:
            self.messages_billed += messages
            self.credits_billed += credits

    def close(self, code: int, reason: str = "") -> None:
        self.send_raw(close_frame(code, reason))
        self.abort()

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self.sock.close()
            self.owner.forget(self)


def ack(
    request_id: Any, sub_count: int, sub_limit: int, *, duplicate: bool = False
) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "ack", "id": request_id, "code": 0, "msg": "ok", "channel": CHANNEL,
        "sub_count": sub_count, "sub_limit": sub_limit,
    }  # fmt: skip
    if duplicate:
        frame["duplicate"] = True
    return frame


def error_frame(
    code: str, category: str, message: str, detail: str = "", *, request_id: Any = None
) -> str:
    """An error frame in the documented shape (note `error_code` is a string)."""
    status = {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "error_code": code, "category": category, "error_message": message,
        "error_detail": detail,
    }  # fmt: skip
    return json.dumps({"type": "error", "id": request_id, "status": status})
