"""AWTRIX 3 payloads: the per-coin custom app, its optional line chart, and alerts as a
notification and a blinking indicator.

Everything here follows AWTRIX 3's MQTT API (blueforcer.github.io/awtrix3, "MQTT / HTTP API"):
a custom app is JSON on `[prefix]/custom/[app]`; `text` is a string or a list of `{"t", "c"}`
fragments coloured on their own; `line` is a list of at most 16 integers (11 beside an icon)
drawn one pixel row per unit from the bottom (`y = 8 - value`), and with `autoscale: false` they
are sent already scaled to 1..8, because the clock's autoscale maps 0..max and would flatten a
price moving 1 % into one row; `lifetimeMode: 1` frames a stale app in red. A notification is
the same JSON on `[prefix]/notify` with `hold`, `sound` or `rtttl`; an indicator is
`{"color", "blink"}` on `[prefix]/indicator1..3`, hidden again with black.

Deleting a custom app deletes every app whose name starts with it, so the chart app's name
(`cmc_1_chart`) starts with its coin's app name: removing a coin removes both.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from ..errors import ConfigError
from ..model.coins import CoinInfo
from ..money.alerts import Alert
from ..money.currency import AmountKind, Currency, quantize
from .text import CHANGE_PLACEHOLDERS, format_money

GREEN: Final = "#00FF00"
RED: Final = "#FF0000"
WHITE: Final = "#FFFFFF"
BLACK: Final = (0, 0, 0)
SYMBOL_COLOR: Final = "#FFB000"
APP_PREFIX: Final = "cmc_"
CHART_SUFFIX: Final = "_chart"
MAX_LINE: Final = 16
MAX_LINE_WITH_ICON: Final = 11
LINE_TOP: Final = 8  # a 32 x 8 matrix: values 1..8 are rows 7..0
#: Characters the clock's font draws: ASCII and Latin-1 (`£`, `¥`), and `€`, which the
#: firmware maps; anything else (`₹`, `₩`, `zł`) would vanish, so those show their ISO code.
_CLOCK_EXTRA: Final = frozenset("€")


@dataclass(frozen=True, slots=True)
class AwtrixExtras:
    """The richer options of one clock; every one is off by default."""

    colored_text: bool = False  # the symbol and the 24 h change in their own colours
    symbol_color: str = SYMBOL_COLOR
    chart_points: int = 0  # 0: no chart; 2..16 prices in a second app per coin
    chart_interval: float = 300.0  # seconds per chart point
    notify_alerts: bool = False  # alerts as notifications on the clock
    notify_hold: bool = True  # held until dismissed on the clock
    notify_sound: str | None = None  # a melody file's name on the clock
    notify_rtttl: str | None = None  # or an RTTTL string
    indicator: int | None = None  # 1..3: blink this indicator on an alert
    indicator_blink_ms: int = 500
    indicator_seconds: float = 300.0  # then it is hidden again


def parse_extras(table: Mapping[str, Any], key: str) -> AwtrixExtras:
    """The options from an `[[awtrix]]` table (keys as `AwtrixExtras`'s fields; others are
    left to the caller); ConfigError with one line per problem, each naming its key."""
    problems: list[str] = []
    values: dict[str, Any] = {}

    def take(name: str, ok: bool, wanted: str) -> None:
        if name in table:
            if ok:
                values[name] = table[name]
            else:
                problems.append(f"{key}.{name}: expected {wanted}, got {table[name]!r}")

    def is_int(name: str, low: int, high: int) -> bool:
        value = table.get(name)
        return type(value) is int and low <= value <= high

    def is_number(name: str, low: float) -> bool:
        value = table.get(name)
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (math.isfinite(value) and value >= low)
        )

    def is_text(name: str) -> bool:
        value = table.get(name)
        return isinstance(value, str) and 0 < len(value) <= 2000

    for flag in ("colored_text", "notify_alerts", "notify_hold"):
        take(flag, type(table.get(flag)) is bool, "true or false")
    take("symbol_color", _is_hex_colour(table.get("symbol_color")), 'a colour such as "#FFB000"')
    points = table.get("chart_points")
    take("chart_points", points == 0 or is_int("chart_points", 2, MAX_LINE), "0 or 2..16")
    take("chart_interval", is_number("chart_interval", 1.0), "seconds >= 1")
    take("notify_sound", is_text("notify_sound"), "a melody's file name")
    take("notify_rtttl", is_text("notify_rtttl"), "an RTTTL string")
    take("indicator", is_int("indicator", 1, 3), "1, 2 or 3")
    take("indicator_blink_ms", is_int("indicator_blink_ms", 50, 10_000), "50..10000 ms")
    take("indicator_seconds", is_number("indicator_seconds", 1.0), "seconds >= 1")
    if problems:
        raise ConfigError(problems)
    for name in ("chart_interval", "indicator_seconds"):
        if name in values:
            values[name] = float(values[name])
    return AwtrixExtras(**values)


def _is_hex_colour(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 7 or not value.startswith("#"):
        return False
    return all(c in "0123456789abcdefABCDEF" for c in value[1:])


def change_colour(change: float | None) -> str:
    return WHITE if change is None else (GREEN if change >= 0 else RED)


def clock_currency(currency: Currency) -> Currency:
    """`currency` as the clock can draw it: its ISO code where the symbol has a glyph the
    clock's font lacks (`₹` -> `INR 12.50`)."""
    if all(ord(c) < 256 or c in _CLOCK_EXTRA for c in currency.symbol):
        return currency
    return replace(currency, symbol=currency.code, symbol_after=False)


# --- the coin's app ---


def app_topic(prefix: str, cid: int) -> str:
    return f"{prefix}/custom/{APP_PREFIX}{cid}"


def chart_topic(prefix: str, cid: int) -> str:
    return f"{prefix}/custom/{APP_PREFIX}{cid}{CHART_SUFFIX}"


#: An app topic of ours: the clock's prefix, the coin id, and the chart suffix if a chart.
APP_TOPIC: Final = re.compile(rf"(.*)/custom/{APP_PREFIX}(\d+)({CHART_SUFFIX})?")


def every_app(prefix: str) -> str:
    """A subscription to every custom app of the clock at `prefix` (ours among others')."""
    return f"{prefix}/custom/+"


def is_app_topic(topic: str) -> bool:
    return APP_TOPIC.fullmatch(topic) is not None


def fragments(
    parts: Iterable[tuple[str, str | None]], change: float | None, symbol_color: str
) -> list[dict[str, str]]:
    """Coloured text: the symbol in `symbol_color`, the change green or red, the rest white;
    neighbours of one colour merged. Colours as hex without `#`, as the API's example."""
    out: list[dict[str, str]] = []
    for text, name in parts:
        if not text:
            continue
        if name == "symbol":
            colour = symbol_color
        elif name in CHANGE_PLACEHOLDERS:
            colour = change_colour(change)
        else:
            colour = WHITE
        colour = colour.lstrip("#").upper()
        if out and out[-1]["c"] == colour:
            out[-1]["t"] += text
        else:
            out.append({"t": text, "c": colour})
    return out


def app_payload(
    *,
    text: str | list[dict[str, str]],
    change: float | None,
    lifetime: int,
    icon: str | None,
) -> str:
    """A custom app: green or red by the 24 h change; `lifetimeMode: 1` frames a stale price in
    red on the clock instead of hiding it. Never `save`: that would wear the clock's flash."""
    return _custom_app({"text": text}, change, lifetime, icon)


def _custom_app(
    content: dict[str, object], change: float | None, lifetime: int, icon: str | None
) -> str:
    app: dict[str, object] = {
        **content,
        "color": change_colour(change),
        "lifetime": lifetime,
        "lifetimeMode": 1,
    }
    if icon is not None:
        app["icon"] = icon
    return _json(app)


# --- the chart ---


class PriceHistory:
    """The last `points` prices per coin, one per `interval` seconds: within an interval the
    newest price replaces the last point, so the chart's right end is always current. Bounded
    by the number of coins times `points`; coins no longer streamed are forgotten."""

    def __init__(self, points: int, interval: float) -> None:
        self.points = points
        self.interval = interval
        self._series: dict[int, deque[float]] = {}
        self._slots: dict[int, int] = {}

    def add(self, cid: int, price: float, now: float) -> None:
        slot = int(now // self.interval)
        series = self._series.get(cid)
        if series is None:
            series = self._series[cid] = deque(maxlen=self.points)
        if series and self._slots.get(cid) == slot:
            series[-1] = price
        else:
            series.append(price)
            self._slots[cid] = slot

    def series(self, cid: int) -> list[float]:
        return list(self._series.get(cid, ()))

    def keep_only(self, cids: Iterable[int]) -> None:
        keep = set(cids)
        for cid in [c for c in self._series if c not in keep]:
            del self._series[cid]
            self._slots.pop(cid, None)


def scale_line(prices: Sequence[float], limit: int = MAX_LINE) -> list[int]:
    """The last `limit` prices as rows 1..8 (lowest to highest); a flat series in the middle."""
    recent = list(prices)[-limit:]
    if not recent:
        return []
    low, high = min(recent), max(recent)
    if high <= low:
        return [LINE_TOP // 2] * len(recent)
    span = high - low
    return [1 + round((price - low) / span * (LINE_TOP - 1)) for price in recent]


def chart_payload(
    prices: Sequence[float], change: float | None, lifetime: int, icon: str | None
) -> str | None:
    """The chart app: a line of the prices in the change's colour, beside the coin's icon;
    None with fewer than two points (a line needs two)."""
    line = scale_line(prices, MAX_LINE_WITH_ICON if icon is not None else MAX_LINE)
    if len(line) < 2:
        return None
    return _custom_app({"line": line, "autoscale": False}, change, lifetime, icon)


# --- alerts ---


def alert_text(alert: Alert, coin: CoinInfo) -> str:
    """What the clock says: `BTC above €100,000.00`, `DOGE 24h -5.12%` (its font has no
    arrows)."""
    if alert.kind == "price":
        currency = clock_currency(alert.currency) if alert.currency is not None else None
        level = (
            format_money(alert.level, currency, AmountKind.PRICE)
            if currency is not None
            else f"{alert.level:f}"
        )
        return f"{coin.symbol} {'above' if alert.direction == 'up' else 'below'} {level}"
    return f"{coin.symbol} 24h {quantize(alert.value, 2):+.2f}%"


def notify_payload(alert: Alert, coin: CoinInfo, extras: AwtrixExtras, icon: str | None) -> str:
    """A one-time notification (`[prefix]/notify`), green up, red down; held on the clock
    until dismissed with `notify_hold`, with a sound when one is set."""
    note: dict[str, object] = {
        "text": alert_text(alert, coin),
        "color": GREEN if alert.direction == "up" else RED,
        "hold": extras.notify_hold,
    }
    if icon is not None:
        note["icon"] = icon
    if extras.notify_sound is not None:
        note["sound"] = extras.notify_sound
    elif extras.notify_rtttl is not None:
        note["rtttl"] = extras.notify_rtttl
    return _json(note)


def indicator_payload(direction: str, blink_ms: int) -> str:
    return _json({"color": GREEN if direction == "up" else RED, "blink": blink_ms})


INDICATOR_OFF: Final = json.dumps({"color": list(BLACK)}, separators=(",", ":"))


class AlertSignals:
    """One clock's alert outputs: a notification and an indicator that blinks for a while.
    Used on the MQTT thread only."""

    def __init__(self, prefix: str, extras: AwtrixExtras, icons: Mapping[int, str]) -> None:
        self.prefix = prefix
        self.extras = extras
        self._icons = icons
        self._indicator_until: float | None = None

    @property
    def enabled(self) -> bool:
        return self.extras.notify_alerts or self.extras.indicator is not None

    def on_alert(self, alert: Alert, coin: CoinInfo, now: float) -> list[tuple[str, str]]:
        """(topic, payload) to publish, not retained: an alert is shown once."""
        out: list[tuple[str, str]] = []
        if self.extras.notify_alerts:
            payload = notify_payload(alert, coin, self.extras, self._icons.get(alert.cid))
            out.append((f"{self.prefix}/notify", payload))
        if self.extras.indicator is not None:
            topic = f"{self.prefix}/indicator{self.extras.indicator}"
            out.append((topic, indicator_payload(alert.direction, self.extras.indicator_blink_ms)))
            self._indicator_until = now + self.extras.indicator_seconds
        return out

    def due(self, now: float) -> list[tuple[str, str]]:
        """The indicator hidden again once its time is up."""
        until = self._indicator_until
        if until is None or now < until or self.extras.indicator is None:
            return []
        self._indicator_until = None
        return [(f"{self.prefix}/indicator{self.extras.indicator}", INDICATOR_OFF)]


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
