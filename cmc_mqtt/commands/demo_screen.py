"""What `cmc-mqtt demo` shows: a subscriber's view of the topics, drawn as a table, with the
hints and the log's warnings in a footer under it, so a redraw never wipes them."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import paho.mqtt.client as mqtt

from ..displays.text import arrow, format_percent, format_price
from ..model.coins import coin_info
from ..util.redact import RedactingFormatter
from ..util.secret import Secret

GREEN, RED, DIM, BOLD, RESET = "\x1b[32m", "\x1b[31m", "\x1b[2m", "\x1b[1m", "\x1b[0m"
#: Warnings kept for the footer: the newest, so a storm cannot push the table off the screen.
FOOTER_LINES: Final = 5


@dataclass
class SubscriberView:
    """What a plain MQTT subscriber of `<prefix>/#` has received, kept for drawing."""

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


class FooterLog(logging.Handler):
    """Keeps the newest warnings for the footer instead of writing them where the next redraw
    would wipe them; secrets are masked as in the bridge's own log."""

    def __init__(self, secrets: Sequence[Secret] = ()) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s", secrets))
        self.lines: deque[str] = deque(maxlen=FOOTER_LINES)
        self._lines_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record).splitlines()[0]  # the message, not a traceback
        with self._lines_lock:
            self.lines.append(text)

    def snapshot(self) -> list[str]:
        with self._lines_lock:
            return list(self.lines)


def draw(
    view: SubscriberView,
    coins: tuple[int, ...],
    url: str,
    *,
    color: bool,
    footer: Sequence[str] = (),
    warnings: Sequence[str] = (),
) -> str:
    """One frame: the table, then the footer (hints, then the newest warnings)."""

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
    lines += ["", f"bridge: {bridge}   messages: {view.rate(now):.0f}/s   (Ctrl-C stops)"]
    if footer:
        lines += ["", *(paint(line, DIM) for line in footer)]
    if warnings:
        lines += ["", *(paint(line, RED) for line in warnings)]
    return "\n".join(lines)
