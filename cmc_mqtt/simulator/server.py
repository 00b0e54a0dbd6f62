"""A fake CoinMarketCap stream server on a loopback port.

It speaks the protocol as documented (key header, welcome, subscribe/ack, data at the real
cadences, ping/pong, error frames, close codes), holds each key to CoinMarketCap's limits and
bills its credits (`Limits`), answers the REST calls the bridge makes on the same port (`rest`),
and can be told to misbehave while it runs: tests flip fields of `Behaviour` or call
`broadcast`, `close_all` and `drop_all`.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from .accounts import KeyAccounts
from .behaviour import Behaviour
from .billing import Clock, CreditLedger, utc_now
from .catalog import DEFAULT_FIAT_RATES
from .connection import TOO_MANY_CONNECTIONS, ServerConnection, error_frame
from .limits import Limits, Subscriptions
from .market import Market, quote_frame
from .protocol import answer_request
from .rest import KEY_HEADER, RestApi
from .wire import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    HandshakeError,
    LockedTlsReads,
    Receiver,
    accept_response,
    encode_frame,
    http_error,
    http_json,
    read_request,
)

LOG = logging.getLogger(__name__)


class FakeStreamServer:
    """Thread-per-connection fake; `with FakeStreamServer() as server:` starts and stops it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        market: Market | None = None,
        fast_interval: float = 5.0,
        slow_interval: float = 15.0,
        top_ranked: int = 500,
        behaviour: Behaviour | None = None,
        coins: frozenset[int] | None = None,
        limits: Limits | None = None,
        clock: Clock = utc_now,
        fiat_rates: dict[str, float] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.api_key = api_key  # None: any non-empty key is accepted
        self.coins = coins  # None: every subscribed id gets quotes; else only these
        #: CoinMarketCap's documented limits unless told otherwise; `Limits.off()` for none.
        #: May be replaced while it runs (connections keep the counting they started with).
        self.limits = limits if limits is not None else Limits()
        self.clock = clock  # now, as an aware datetime: tests turn the day and the month
        #: Units of each currency one US dollar buys, for price conversion; change it freely.
        self.fiat_rates = dict(DEFAULT_FIAT_RATES if fiat_rates is None else fiat_rates)
        self.tls = tls  # a server context: wss:// and https:// on the same port, as CoinMarketCap
        self.rest = RestApi(self)
        self.rest_requests = 0
        self.keys = KeyAccounts(lambda: self.limits, clock)
        self.market = market or Market()
        self.fast_interval = fast_interval
        self.slow_interval = slow_interval
        self.top_ranked = top_ranked
        self.behaviour = behaviour or Behaviour()
        self.accepted = 0
        self.frames_sent = 0
        #: Price text of every quote sent, per coin, and the last one: what tests check against.
        self.sent_prices: dict[int, set[str]] = {}
        self.last_price: dict[int, str] = {}
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._connections: list[ServerConnection] = []
        self._changed = threading.Condition()
        self._schedule: list[tuple[float, int]] = []
        self._scheduled: set[int] = set()
        self._phased: set[int] = set()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rng = random.Random()

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}/v1"

    @property
    def rest_url(self) -> str:
        """Base of the REST endpoints (`{rest_url}/v1/key/info`), on the same port."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def __enter__(self) -> FakeStreamServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> FakeStreamServer:
        for target, name in ((self._accept_loop, "accept"), (self._push_loop, "push")):
            thread = threading.Thread(target=target, name=f"fake-stream-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # close() alone does not wake accept()
        with contextlib.suppress(OSError):
            self._listener.close()
        for conn in self.connections:
            conn.abort()
        for thread in self._threads:
            thread.join(2)

    # --- what tests look at and do -------------------------------------------------------------

    @property
    def connections(self) -> list[ServerConnection]:
        with self._changed:
            return list(self._connections)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until `predicate()` holds; it is re-checked whenever a connection changes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.2))
        return True

    def wait_subscribed(self, accepted: int = 1, timeout: float = 10.0) -> ServerConnection:
        """The live connection that subscribed, once at least `accepted` connections were made."""

        def ready() -> bool:
            return self.accepted >= accepted and any(
                c.subscribed and not c.closed for c in self._connections
            )

        if not self.wait_for(ready, timeout):
            raise TimeoutError(f"no subscribed connection (accepted {self.accepted})")
        return next(c for c in self.connections if c.subscribed and not c.closed)

    @property
    def live(self) -> list[ServerConnection]:
        """Connections a frame can go to: upgraded and still open."""
        return [c for c in self.connections if c.upgraded and not c.closed]

    def broadcast(self, payload: str | bytes, opcode: int = OP_TEXT) -> int:
        """Any frame to every live connection, not billed (use `send_quote` for data)."""
        return sum(conn.send(payload, opcode) for conn in self.live)

    def ledger(self, key: str | None = None) -> CreditLedger:
        """The credits of one API key (default: the key this server accepts)."""
        key = key if key is not None else self.api_key
        if key is None:
            raise ValueError("this server accepts any key: say whose ledger")
        return self.keys.ledger(key)

    def price_usd(self, cid: int) -> float:
        """The coin's current price in the simulated market."""
        with self._changed:
            return self.market.coin(cid).price

    def _deliver(self, conn: ServerConnection, data: bytes, messages: int) -> bool:
        """Send data frames and bill them to the connection's key."""
        if not conn.send_raw(data):
            return False
        self.keys.bill(conn, messages, self.limits.credits_per_message * messages)
        return True

    def _record(self, data: dict[str, Any]) -> None:
        """Remember the price text a sent quote carried, for tests' invariants."""
        price, cid = data.get("p"), data.get("cid")
        if price is not None and isinstance(cid, int):
            text = json.dumps(price)  # the frame's own serialisation of the number
            self.sent_prices.setdefault(cid, set()).add(text)
            self.last_price[cid] = text

    def send_quote(self, data: dict[str, Any], ts: int | None = None) -> int:
        """Send one `data` frame with this payload to every connection, subscribed or not."""
        frame = encode_frame(quote_frame(data, ts if ts is not None else _now_ms()).encode())
        sent = sum(self._deliver(conn, frame, 1) for conn in self.live)
        if sent:
            self._record(data)
        return sent

    def close_all(self, code: int, reason: str = "") -> None:
        for conn in self.live:
            conn.close(code, reason)

    def drop_all(self) -> None:
        """Cut every connection without a close frame, as a network failure would."""
        for conn in self.connections:
            conn.abort()

    def _forget(self, conn: ServerConnection) -> None:
        with self._changed:
            if conn in self._connections:
                self._connections.remove(conn)
            self.keys.release(conn)
            self._changed.notify_all()

    # --- connections ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = ServerConnection(self, sock, subscriptions=Subscriptions(self.limits.counting))
            with self._changed:
                self._connections.append(conn)
                self._changed.notify_all()
            threading.Thread(
                target=self._serve, args=(conn,), name="fake-stream-conn", daemon=True
            ).start()

    def _serve(self, conn: ServerConnection) -> None:
        try:
            source: Receiver = conn.sock
            if self.tls is not None:  # the TLS handshake on this thread, never in accept
                conn.sock = tls_sock = self.tls.wrap_socket(conn.sock, server_side=True)
                # One TLS connection must not be read and written at once (OpenSSL's rule),
                # and pushes are written from other threads: reads take the send lock.
                source = LockedTlsReads(tls_sock, conn._lock)
            self._handshake(conn)
            reader = FrameReader(source)
            while not conn.closed:
                opcode, payload = reader.read()
                if opcode == OP_CLOSE:
                    conn.close(1000)
                elif opcode == OP_PING:
                    conn.send(payload, OP_PONG)
                elif opcode == OP_TEXT:
                    answer_request(self, conn, payload)
        except (OSError, ConnectionError, HandshakeError):
            pass
        finally:
            conn.abort()

    def _handshake(self, conn: ServerConnection) -> None:
        request_line, conn.headers = read_request(conn.sock)
        if conn.headers.get("upgrade", "").lower() != "websocket":
            self._answer_rest(conn, request_line)
            raise HandshakeError("answered a REST request")
        with self._changed:
            self.accepted += 1  # stream connections only: REST calls are counted apart
            self._changed.notify_all()
        behaviour = self.behaviour
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
        api_key = conn.headers.get(KEY_HEADER, "")
        if not api_key:
            conn.send(error_frame("1002", "AUTH", "API key missing."))
            conn.close(4100, "missing api key")
            raise HandshakeError("no key")
        if self.api_key is not None and api_key != self.api_key:
            conn.close(4100, "invalid api key")  # the documented close without a JSON error
            raise HandshakeError("bad key")
        ledger = conn.ledger = self.ledger(api_key)
        refusal = ledger.refusal()
        if refusal is not None:
            self.keys.refuse(conn, refusal)
            raise HandshakeError("credits exhausted")
        if not self.keys.admit(conn, ledger):
            conn.close(TOO_MANY_CONNECTIONS, "too many connections")  # no JSON error
            raise HandshakeError("too many connections")
        if behaviour.welcome_delay:
            time.sleep(behaviour.welcome_delay)
        if not behaviour.stalled:
            conn.send(
                json.dumps({"type": "welcome", "ping_interval_ms": behaviour.ping_interval_ms})
            )
        if behaviour.close_after_welcome is not None:
            conn.close(behaviour.close_after_welcome)
            raise HandshakeError("closed after welcome")

    def _answer_rest(self, conn: ServerConnection, request_line: str) -> None:
        with self._changed:
            self.rest_requests += 1
        if self.behaviour.rest_delay:
            self._stopping.wait(self.behaviour.rest_delay)
        status, body = self.rest.answer(request_line, conn.headers)
        conn.sock.sendall(http_json(status, body))

    # --- data pushes ---------------------------------------------------------------------------

    def _flood(self, conn: ServerConnection, ids: list[int], count: int) -> None:
        """For the benchmark: `flood_batch` frames per write, as fast as the client takes them
        (sendall blocks when it falls behind) or at `flood_rate` frames a second. One frame per
        write at a rate is how a busy server's frames arrive: each in its own TCP segment
        (Nagle is off). A pool of pre-encoded frames is cycled, so the fake's own cost is small."""
        pool = [encode_frame(self.market.frame(ids[i % len(ids)], _now_ms()).encode())
                for i in range(min(count, 4096))]  # fmt: skip
        per_write = max(1, self.behaviour.flood_batch)
        rate = self.behaviour.flood_rate
        started = time.monotonic()
        sent = 0
        while sent < count and not conn.closed:
            if rate > 0:
                ahead = started + sent / rate - time.monotonic()
                if ahead > 0 and self._stopping.wait(ahead):
                    break
            batch = pool[sent % len(pool) : sent % len(pool) + min(per_write, count - sent)]
            if not self._deliver(conn, b"".join(batch), len(batch)):
                return
            sent += len(batch)
        self.frames_sent += sent

    def interval(self, cid: int) -> float:
        fast = self.market.rank(cid) <= self.top_ranked
        return self.fast_interval if fast else self.slow_interval

    def _schedule_coin(self, cid: int) -> None:
        if self.coins is not None and cid not in self.coins:
            return  # an id this market does not list: subscribed, but never quoted
        with self._changed:
            if cid in self._scheduled:
                return
            self._scheduled.add(cid)
            # A first push soon, spread so that coins do not all arrive at once.
            due = time.monotonic() + self._rng.uniform(0, min(self.interval(cid), 1.0))
            heapq.heappush(self._schedule, (due, cid))

    def _push_loop(self) -> None:
        while not self._stopping.is_set():
            with self._changed:
                due = self._schedule[0][0] if self._schedule else None
            now = time.monotonic()
            if due is None or due > now:
                self._stopping.wait(0.05 if due is None else min(due - now, 0.05))
                continue
            with self._changed:
                _, cid = heapq.heappop(self._schedule)
                targets = [c for c in self._connections if cid in c.subscribed and not c.closed]
                if not targets:
                    self._scheduled.discard(cid)
                    continue
                interval = self.interval(cid)
                if cid not in self._phased:
                    # The first push comes quickly; from the second on, each coin keeps a phase
                    # of its own, so pushes spread over the interval instead of arriving as one
                    # burst of every coin each cycle.
                    self._phased.add(cid)
                    interval *= self._rng.uniform(0.5, 1.5)
                heapq.heappush(self._schedule, (max(due + interval, now), cid))
            behaviour = self.behaviour
            if not behaviour.push_data or behaviour.stalled:
                continue
            data = self.market.step(cid)
            frame = encode_frame(quote_frame(data, _now_ms()).encode())
            delivered = False
            for conn in targets:
                if self._deliver(conn, frame, 1):
                    self.frames_sent += 1
                    delivered = True
            if delivered:
                self._record(data)


def _now_ms() -> int:
    return int(time.time() * 1000)


__all__ = ["OP_BINARY", "Behaviour", "FakeStreamServer", "ServerConnection", "error_frame"]
