"""A fake CoinMarketCap stream server on a loopback port.

It speaks the protocol as documented (key header, welcome, subscribe/ack, data at the real
cadences, ping/pong, error frames, close codes), holds each key to CoinMarketCap's limits and
bills its credits (`Limits`), answers the REST calls the bridge makes on the same port (`rest`),
and can be told to misbehave while it runs: tests flip fields of `Behaviour` or call
`broadcast`, `close_all` and `drop_all`.

The server is the `Hub` its parts are given (the thread serving each connection, the protocol
handler, the REST API, the cadence, the flood); they never see it otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import json
import socket
import ssl
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Final

from ..errors import CmcMqttError, PortBusyError
from .accounts import KeyAccounts
from .behaviour import Behaviour
from .billing import Clock, CreditLedger, utc_now
from .cadence import PushCadence
from .catalog import DEFAULT_FIAT_RATES
from .connection import ServerConnection, error_frame
from .flood import flood
from .limits import Limits, Subscriptions
from .market import Market, now_ms, quote_frame
from .registry import ConnectionRegistry
from .rest import RestApi
from .serving import serve
from .wire import OP_BINARY, OP_TEXT, encode_frame

#: What the errors call it.
NAME: Final = "the fake CoinMarketCap server"


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
        self.behaviour = behaviour or Behaviour()
        self.accepted = 0
        self.frames_sent = 0
        #: Price text of every quote sent, per coin, and the last one: what tests check against.
        self.sent_prices: dict[int, set[str]] = {}
        self.last_price: dict[int, str] = {}
        self._registry = ConnectionRegistry()
        self._cadence = PushCadence(
            self,
            self._registry,
            fast_interval=fast_interval,
            slow_interval=slow_interval,
            top_ranked=top_ranked,
        )
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = _listen(host, port)
        self.host, self.port = self._listener.getsockname()[:2]

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
        for name, target, args in (
            ("accept", self._accept_loop, ()),
            ("push", self._cadence.run, (self._stopping,)),
        ):
            thread = threading.Thread(
                target=target, args=args, name=f"fake-stream-{name}", daemon=True
            )
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
    def fast_interval(self) -> float:
        return self._cadence.fast_interval

    @property
    def slow_interval(self) -> float:
        return self._cadence.slow_interval

    @property
    def top_ranked(self) -> int:
        return self._cadence.top_ranked

    def interval(self, cid: int) -> float:
        """Seconds between the coin's pushes: CoinMarketCap's cadence for its rank."""
        return self._cadence.interval(cid)

    @property
    def connections(self) -> list[ServerConnection]:
        return self._registry.snapshot()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until `predicate()` holds; it is re-checked whenever a connection changes."""
        return self._registry.wait_for(predicate, timeout)

    def wait_subscribed(self, accepted: int = 1, timeout: float = 10.0) -> ServerConnection:
        """The live connection that subscribed, once at least `accepted` connections were made."""

        def ready() -> bool:
            return self.accepted >= accepted and any(
                c.subscribed and not c.closed for c in self.connections
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
        with self._registry.changed:
            return self.market.coin(cid).price

    def send_quote(self, data: dict[str, Any], ts: int | None = None) -> int:
        """Send one `data` frame with this payload to every connection, subscribed or not."""
        frame = encode_frame(quote_frame(data, ts if ts is not None else now_ms()).encode())
        sent = sum(self.keys.deliver(conn, frame, 1) for conn in self.live)
        if sent:
            self.record(data)
        return sent

    def close_all(self, code: int, reason: str = "") -> None:
        for conn in self.live:
            conn.close(code, reason)

    def drop_all(self) -> None:
        """Cut every connection without a close frame, as a network failure would."""
        for conn in self.connections:
            conn.abort()

    # --- the hub its parts are given, and the owner of each connection -------------------------

    def forget(self, conn: ServerConnection) -> None:
        self.keys.release(conn)
        self._registry.remove(conn)

    def changing(self) -> AbstractContextManager[None]:
        return self._registry.changing()

    def count_stream_connection(self) -> None:
        with self.changing():
            self.accepted += 1

    def answer_rest(self, request_line: str, headers: dict[str, str]) -> tuple[int, Any]:
        with self.changing():
            self.rest_requests += 1
        if self.behaviour.rest_delay:
            self._stopping.wait(self.behaviour.rest_delay)
        return self.rest.answer(request_line, headers)

    def schedule(self, cid: int) -> None:
        self._cadence.schedule(cid)

    def start_flood(self, conn: ServerConnection, ids: list[int]) -> None:
        count = self.behaviour.flood_frames
        threading.Thread(
            target=flood, args=(self, conn, ids, count, self._stopping),
            name="fake-stream-flood", daemon=True,
        ).start()  # fmt: skip

    def record(self, data: dict[str, Any]) -> None:
        price, cid = data.get("p"), data.get("cid")
        if price is not None and isinstance(cid, int):
            text = json.dumps(price)  # the frame's own serialisation of the number
            self.sent_prices.setdefault(cid, set()).add(text)
            self.last_price[cid] = text

    def count_sent(self, frames: int) -> None:
        self.frames_sent += frames

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = ServerConnection(self, sock, subscriptions=Subscriptions(self.limits.counting))
            self._registry.add(conn)
            threading.Thread(
                target=serve, args=(self, conn), name="fake-stream-conn", daemon=True
            ).start()


def _listen(host: str, port: int) -> socket.socket:
    """The bound, listening socket. A refusal is one line naming the address, for a command to
    print, with the operating system's error as its cause."""
    try:
        return socket.create_server((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortBusyError(NAME, host, port) from exc
        where = f"{host}:{port}"  # an IPv6 host is refused before this matters: no AF_INET6
        # create_server appends the address it was given, which the message names already.
        reason = (exc.strerror or str(exc)).split(" (while attempting", 1)[0]
        raise CmcMqttError(f"could not start {NAME} on {where}: {reason}") from exc


__all__ = ["OP_BINARY", "Behaviour", "FakeStreamServer", "ServerConnection", "error_frame"]
