"""CoinMarketCap's stream protocol, without I/O: the requests we send, what the server's error and
close codes mean, and how fragmented messages are put back together.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable
from typing import Final

import websocket

from ..errors import StreamError
from .frames import CHANNEL, MAX_FRAME_BYTES

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
    "2304": "CoinMarketCap's connection limit for this key is reached. Stop other clients.",
}
#: Subscription limit reached: not permanent, the pool splits the request and tries again.
SUBSCRIPTION_LIMIT: Final = "2303"
#: Too many connections for this key: the pool uses fewer.
TOO_MANY_CONNECTIONS: Final = 4004
HTTP_PERMANENT: Final = {401: "1001", 403: "1006"}


def request(request_id: int, method: str, ids: Iterable[int] | None = None) -> str:
    """One client request as the text frame to send."""
    message: dict[str, object] = {"id": request_id, "method": method}
    if method in ("subscribe", "unsubscribe"):
        message["channel"] = CHANNEL
        if ids is not None:
            message["params"] = {"crypto_ids": list(ids)}
    return json.dumps(message, separators=(",", ":"))


def close_error(data: bytes) -> StreamError:
    """What a close frame from the server means for us."""
    code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
    reason = data[2:].decode("utf-8", "replace")[:120]
    message = PERMANENT_CLOSE_CODES.get(code)
    if message is not None:
        return StreamError(message, permanent=True, code=code)
    return StreamError(
        f"server closed the connection (code {code}{': ' + reason if reason else ''})", code=code
    )


def describe(exc: BaseException) -> str:
    """A socket or WebSocket failure in a few words, for the log."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout | websocket.WebSocketTimeoutException):
        return "timed out"
    text = str(exc).split("\n")[0][:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class MessageAssembler:
    """Joins fragmented messages; an oversized one is dropped as it grows, not after."""

    __slots__ = ("_fragments", "_opcode", "_size")

    def __init__(self) -> None:
        self._fragments: list[bytes] = []
        self._opcode: int | None = None
        self._size = 0

    def add(self, opcode: int, data: bytes, *, fin: bool) -> tuple[int, bytes] | str | None:
        """The whole message once its last fragment arrived; None while incomplete; a reason
        (str) when what arrived cannot be used."""
        if opcode != websocket.ABNF.OPCODE_CONT:
            if fin:  # the common case: a message in one frame
                self._fragments, self._opcode, self._size = [], None, 0
                return opcode, data
            self._fragments, self._opcode, self._size = [], opcode, 0
        elif self._opcode is None:
            return "continuation frame without a start"
        self._fragments.append(data)
        self._size += len(data)
        if self._size > MAX_FRAME_BYTES:
            self._fragments, self._opcode, self._size = [], None, 0
            return f"message larger than {MAX_FRAME_BYTES} bytes"
        if not fin:
            return None
        first, joined = self._opcode, b"".join(self._fragments)
        self._fragments, self._opcode, self._size = [], None, 0
        assert first is not None
        return first, joined
