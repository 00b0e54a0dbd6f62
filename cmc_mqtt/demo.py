"""`cmc-mqtt demo`: the whole path on one machine with nothing to set up.

Simulator → bridge → MQTT broker (embedded, or the one already on the port) → a subscriber
whose view is drawn as a live table. What the table shows is what any MQTT client would see.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .bridge import Bridge
from .coins import BUNDLED_COINS, coin_info
from .config import parse_settings
from .embedded_broker import EmbeddedBroker, broker_answers
from .errors import CmcMqttError
from .simulator import FakeStreamServer
from .text import arrow, format_percent, format_price

LOG = logging.getLogger(__name__)
DEMO_COINS: Final = tuple(BUNDLED_COINS)
GREEN, RED, DIM, BOLD, RESET = "\x1b[32m", "\x1b[31m", "\x1b[2m", "\x1b[1m", "\x1b[0m"


@dataclass
class SubscriberView:
    """What a plain MQTT subscriber has received, kept for drawing."""

    quotes: dict[int, dict[str, Any]] = field(default_factory=dict)
    received: dict[int, float] = field(default_factory=dict)
    coin_status: dict[int, str] = field(default_factory=dict)
    bridge_status: str = "?"
    arrivals: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        parts = message.topic.split("/")
        with self.lock:
            self.arrivals.append(now)
            if parts[-1] == "status" and len(parts) == 2:
                self.bridge_status = message.payload.decode(errors="replace")
            elif len(parts) == 3 and parts[1].isdigit():
                cid = int(parts[1])
                if parts[2] == "json":
                    self.quotes[cid] = json.loads(message.payload)
                    self.received[cid] = now
                elif parts[2] == "status":
                    self.coin_status[cid] = message.payload.decode(errors="replace")

    def rate(self, now: float, window: float = 5.0) -> float:
        with self.lock:
            while self.arrivals and self.arrivals[0] < now - window:
                self.arrivals.popleft()
            return len(self.arrivals) / window


def draw(view: SubscriberView, coins: tuple[int, ...], url: str, *, color: bool) -> str:
    """One frame of the table, as text (ANSI colours when `color`)."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    now = time.monotonic()
    lines = [
        paint(f"cmc-mqtt demo: what an MQTT subscriber sees on {url}", BOLD),
        "",
        f"{'Coin':<22} {'Price':>16} {'24h':>10} {'Age':>6}  Status",
    ]
    with view.lock:
        for cid in coins:
            quote = view.quotes.get(cid)
            name = coin_info(cid).label
            if quote is None:
                lines.append(f"{name:<22} {'waiting…':>16}")
                continue
            price = format_price(float(quote["p"])) if quote.get("p") is not None else "-"
            change = quote.get("p24h")
            change_text = (
                "-" if change is None else f"{arrow(change)}{format_percent(change, signed=False)}"
            )
            change_cell = f"{change_text:>10}"
            if change is not None:
                change_cell = paint(change_cell, GREEN if change >= 0 else RED)
            age = f"{now - view.received[cid]:.0f}s"
            status = view.coin_status.get(cid, "?")
            lines.append(f"{name:<22} {price:>16} {change_cell} {age:>6}  {status}")
        bridge = view.bridge_status
    rate = view.rate(now)
    lines += [
        "",
        f"bridge: {bridge}   messages: {rate:.0f}/s   (Ctrl-C stops)",
    ]
    return "\n".join(lines)


def run_demo(
    *,
    port: int = 1883,
    listen: str = "127.0.0.1",
    coins: tuple[int, ...] = DEMO_COINS,
    duration: float | None = None,
    out: TextIO = sys.stdout,
    stop: threading.Event | None = None,
    fast: float = 5.0,
    slow: float = 15.0,
) -> int:
    """Run everything until `stop` is set or `duration` passes; returns an exit code."""
    stop = stop or threading.Event()
    embedded: EmbeddedBroker | None = None
    host = "127.0.0.1" if listen in ("0.0.0.0", "::") else listen
    if broker_answers(host, port):
        origin = "the broker already running there"
    else:
        embedded = EmbeddedBroker(listen, port).start()
        origin = "embedded broker"
    simulator = FakeStreamServer(fast_interval=fast, slow_interval=slow).start()
    raw = {
        "cmc": {"api_key": "demo", "url": simulator.url, "crypto_ids": list(coins),
                "lookup_names": False},
        "mqtt": {"host": host, "port": port, "client_id": f"cmc-mqtt-demo-{os.getpid()}"},
    }  # fmt: skip
    bridge = Bridge(parse_settings(raw, environ={})).start()
    view = SubscriberView()
    subscriber = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"cmc-demo-view-{os.getpid()}")
    subscriber.on_message = view.on_message
    subscriber.on_connect = lambda c, *_a: c.subscribe("cmc/#")
    subscriber.connect(host, port)
    subscriber.loop_start()
    url = f"mqtt://{host}:{port}"
    tty = out.isatty()
    print(_connect_hints(url, host, port, listen, origin), file=out)
    deadline = None if duration is None else time.monotonic() + duration
    try:
        if tty:
            out.write("\x1b[2J")
        while not stop.wait(1.0):
            frame = draw(view, coins, url, color=tty)
            out.write(("\x1b[H\x1b[J" + frame) if tty else frame + "\n\n")
            out.flush()
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        subscriber.disconnect()  # wakes its network thread, so the stop below is immediate
        subscriber.loop_stop()
        bridge.stop()
        simulator.stop()
        if embedded is not None:
            embedded.stop()
        if tty:
            out.write("\n")
        print(_connect_hints(url, host, port, listen, origin), file=out)
    return 0


def _connect_hints(url: str, host: str, port: int, listen: str, origin: str) -> str:
    pad = " " * 19
    lines = [
        f"Broker: {url} ({origin}); simulated CoinMarketCap stream, no API key used.",
        f"  Watch it:        mosquitto_sub -h {host} -p {port} -v -t 'cmc/#'",
        "  Home Assistant:  add the MQTT integration: broker <this machine's address>,",
        f"{pad}port {port}; the coins appear as devices by discovery.",
    ]
    if listen == "127.0.0.1":
        lines.append(f"{pad}(run with --listen 0.0.0.0 to reach it from another machine)")
    return "\n".join(lines)


def demo_main(port: int, listen: str, duration: float | None) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stop.set())
    try:
        return run_demo(port=port, listen=listen, duration=duration, stop=stop)
    except CmcMqttError as exc:
        print(f"cmc-mqtt demo: {exc}", file=sys.stderr)
        return 2
