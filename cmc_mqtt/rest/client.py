"""CoinMarketCap's REST API: a GET that returns JSON, bounded in time and size, and cancellable.

`urllib` keeps the socket to itself, so a lookup in flight could only be waited for; a bridge
that is stopping must not wait for a slow server, nor leave a thread reading a socket while the
interpreter shuts down. Here the caller holds a `Cancel` whose `cancel()` shuts the socket down
under the reading thread, which then fails at once with `Cancelled`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import urllib.parse
from typing import Any, Final

from ..errors import CmcMqttError
from ..util.secret import Secret

KEY_HEADER: Final = "X-CMC_PRO_API_KEY"
MAX_BODY_BYTES: Final = 32 * 1024 * 1024
#: How long the bridge's REST calls may take before they count as failed.
REST_TIMEOUT_S: Final = 5.0


class RestError(CmcMqttError):
    """A REST call that gave no usable answer; `status` is the HTTP status when there was one,
    `code` CoinMarketCap's own `status.error_code` when the body carried one."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        self.status = status
        self.code = code
        super().__init__(message)


class Cancelled(RestError):
    """The call was cancelled (the bridge is stopping)."""

    def __init__(self) -> None:
        super().__init__("cancelled")


class Cancel:
    """Shared between the thread making calls and the one that may stop them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.cancelled = False

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            sock = self._sock
        if sock is not None:
            _shutdown(sock)

    def _watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            cancelled = self.cancelled
        if cancelled and sock is not None:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    """Shut the descriptor down without touching an SSL object another thread is using:
    `SSLSocket.shutdown` also drops its SSL state, the plain socket's does not."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def get_json(
    base_url: str,
    path: str,
    params: dict[str, str | int],
    api_key: Secret,
    *,
    timeout: float,
    cancel: Cancel | None = None,
) -> Any:
    """GET `base_url + path` with the key header; the parsed JSON body of a 200 answer.

    Raises `RestError` for anything else (network, HTTP status, not JSON), `Cancelled` when
    `cancel` fired. `timeout` bounds connecting and each read."""
    cancel = cancel or Cancel()
    if cancel.cancelled:
        raise Cancelled
    if not api_key.fits_a_header():
        raise RestError("the API key holds characters a key cannot have; not sent")
    url = urllib.parse.urlsplit(base_url)
    target = url.path.rstrip("/") + path
    if params:
        target += "?" + urllib.parse.urlencode(params)
    connection: http.client.HTTPConnection
    if url.scheme == "https":
        connection = http.client.HTTPSConnection(
            url.hostname or "", url.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=timeout)
    try:
        connection.connect()
        cancel._watch(connection.sock)
        connection.request(
            "GET", target, headers={KEY_HEADER: api_key.reveal(), "Accept": "application/json"}
        )
        response = connection.getresponse()
        body = response.read(MAX_BODY_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        if cancel.cancelled:
            raise Cancelled from exc
        raise RestError(_describe(exc)) from exc
    finally:
        cancel._watch(None)
        connection.close()
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        parsed = None
    if response.status != 200:
        raise RestError(f"HTTP {response.status}", status=response.status, code=_error_code(parsed))
    if parsed is None:
        raise RestError("answer is not JSON", status=response.status)
    return parsed


def _error_code(body: Any) -> int | None:
    status = body.get("status") if isinstance(body, dict) else None
    code = status.get("error_code") if isinstance(status, dict) else None
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return code if type(code) is int else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    text = str(exc).split("\n")[0][:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
