"""The thread serving one accepted connection: TLS, then a REST answer or the WebSocket upgrade
with the key's checks and the welcome, then the client's frames until the connection closes."""

from __future__ import annotations

import json
import time

from .connection import TOO_MANY_CONNECTIONS, ServerConnection, error_frame
from .hub import Hub
from .protocol import answer_request
from .rest import KEY_HEADER
from .wire import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    HandshakeError,
    Receiver,
    accept_response,
    http_error,
    http_json,
    read_request,
)


def serve(hub: Hub, conn: ServerConnection) -> None:
    """Run on the connection's own thread until it closes; whatever ends it, it is aborted."""
    try:
        source: Receiver = conn.sock
        if hub.tls is not None:  # the TLS handshake here, never on the accepting thread
            source = conn.start_tls(hub.tls)
        _handshake(hub, conn)
        reader = FrameReader(source)
        while not conn.closed:
            opcode, payload = reader.read()
            if opcode == OP_CLOSE:
                conn.close(1000)
            elif opcode == OP_PING:
                conn.send(payload, OP_PONG)
            elif opcode == OP_TEXT:
                answer_request(hub, conn, payload)
    except (OSError, ConnectionError, HandshakeError):
        pass
    finally:
        conn.abort()


def _handshake(hub: Hub, conn: ServerConnection) -> None:
    """Upgrade, admit and welcome a stream connection; HandshakeError when it goes no further
    (a REST request, answered, is one)."""
    request_line, conn.headers = read_request(conn.sock)
    if conn.headers.get("upgrade", "").lower() != "websocket":
        status, body = hub.answer_rest(request_line, conn.headers)
        conn.sock.sendall(http_json(status, body))
        raise HandshakeError("answered a REST request")
    hub.count_stream_connection()
    behaviour = hub.behaviour
    if not behaviour.answer_upgrade:
        while conn.sock.recv(4096):  # hold the connection open, say nothing
            pass
        raise HandshakeError("never answered")
    key = conn.headers.get("sec-websocket-key")
    if not key:
        conn.sock.sendall(http_error(400, "Bad Request"))
        raise HandshakeError("not a websocket upgrade")
    conn.sock.sendall(accept_response(key))
    conn.upgraded = True
    _admit(hub, conn)
    if behaviour.welcome_delay:
        time.sleep(behaviour.welcome_delay)
    if not behaviour.stalled:
        conn.send(json.dumps({"type": "welcome", "ping_interval_ms": behaviour.ping_interval_ms}))
    if behaviour.close_after_welcome is not None:
        conn.close(behaviour.close_after_welcome)
        raise HandshakeError("closed after welcome")


def _admit(hub: Hub, conn: ServerConnection) -> None:
    """The key's checks: present, accepted, credits left, a connection free under its limit. A
    refused connection is closed and HandshakeError raised."""
    api_key = conn.headers.get(KEY_HEADER, "")
    if not api_key:
        conn.send(error_frame("1002", "AUTH", "API key missing."))
        conn.close(4100, "missing api key")
        raise HandshakeError("no key")
    if hub.api_key is not None and api_key != hub.api_key:
        conn.close(4100, "invalid api key")  # the documented close without a JSON error
        raise HandshakeError("bad key")
    ledger = conn.ledger = hub.ledger(api_key)
    refusal = ledger.refusal()
    if refusal is not None:
        hub.keys.refuse(conn, refusal)
        raise HandshakeError("credits exhausted")
    if not hub.keys.admit(conn, ledger):
        conn.close(TOO_MANY_CONNECTIONS, "too many connections")  # no JSON error
        raise HandshakeError("too many connections")
