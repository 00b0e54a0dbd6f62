"""Draws README's pictures: the demo's terminal table, a ticker text on an AWTRIX clock, and
the clock's richer options (coloured text in euros, the chart app, an alert).

Run: .venv/bin/pip install pillow && .venv/bin/python scripts/make_pictures.py
Every picture comes from the project's own code (the demo's `draw`, the display renderers, the
AWTRIX payloads), fed by the simulator's market with a fixed seed or fixed numbers, so they
change only when that code does. The clock pictures draw the payload as the firmware would: a
3x5 font, the line chart's `y = 8 - value` rows joined by lines, indicator 1's three pixels.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decimal import Decimal  # noqa: E402

from cmc_mqtt.commands.demo import SubscriberView, draw  # noqa: E402
from cmc_mqtt.config import AwtrixSettings  # noqa: E402
from cmc_mqtt.displays.awtrix import (  # noqa: E402
    AwtrixExtras,
    chart_payload,
    clock_currency,
    fragments,
    indicator_payload,
    notify_payload,
)
from cmc_mqtt.displays.text import TextTemplate, render  # noqa: E402
from cmc_mqtt.extensions.display_outputs import awtrix_payload  # noqa: E402
from cmc_mqtt.model.coins import BUNDLED_COINS, coin_info  # noqa: E402
from cmc_mqtt.money.alerts import Alert  # noqa: E402
from cmc_mqtt.money.currency import (  # noqa: E402
    CURRENCIES,
    MoneyValues,
    convert,
)
from cmc_mqtt.simulator import Market  # noqa: E402

OUT = ROOT / "docs"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
ANSI = re.compile(r"\x1b\[(\d+)m")
COLOURS = {"0": (220, 220, 220), "1": (255, 255, 255), "2": (140, 140, 140),
           "31": (240, 80, 80), "32": (80, 220, 120)}  # fmt: skip


def demo_table() -> Path:
    market = Market(seed=7)
    view = SubscriberView()
    now = time.monotonic()
    for age, cid in enumerate(BUNDLED_COINS):
        view.quotes[cid] = market.step(cid)
        view.received[cid] = now - (age % 5)
        view.coin_status[cid] = "online"
    view.bridge_status = "online"
    view.arrivals.extend([now] * 140)
    text = draw(view, tuple(BUNDLED_COINS), "mqtt://127.0.0.1:1883", color=True)
    font = ImageFont.truetype(FONT, 16)
    lines = text.split("\n")
    width, height = 9.6 * 72 + 40, 22 * len(lines) + 40
    image = Image.new("RGB", (int(width), int(height)), (24, 26, 33))
    pen = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        x, colour = 20.0, COLOURS["0"]
        for part in ANSI.split(line):
            if part in COLOURS:
                colour = COLOURS[part]
                continue
            pen.text((x, 20 + 22 * row), part, font=font, fill=colour)
            x += pen.textlength(part, font=font)
    path = OUT / "demo.png"
    image.save(path)
    return path


# A 3x5 pixel font, close to what LED clocks use; each glyph is five rows of three bits.
GLYPHS = {
    "0": "111 101 101 101 111", "1": "010 110 010 010 111", "2": "111 001 111 100 111",
    "3": "111 001 111 001 111", "4": "101 101 111 001 001", "5": "111 100 111 001 111",
    "6": "111 100 111 101 111", "7": "111 001 010 010 010", "8": "111 101 111 101 111",
    "9": "111 101 111 001 111", "B": "110 101 110 101 110", "T": "111 010 010 010 010",
    "C": "111 100 100 100 111", "E": "111 100 110 100 111", "H": "101 101 111 101 101",
    "$": "011 110 010 011 110", ".": "000 000 000 000 010", ",": "000 000 000 010 100",
    "+": "000 010 111 010 000", "-": "000 000 111 000 000", "%": "101 001 010 100 101",
    " ": "000 000 000 000 000", "A": "010 101 111 101 101", "O": "010 101 101 101 010",
    "V": "101 101 101 101 010", "€": "011 100 110 100 011",
}  # fmt: skip
Colour = tuple[int, int, int]
Pixels = dict[tuple[int, int], Colour]
LED, GAP = 14, 4
OFF: Colour = (35, 35, 40)


def rgb(hex_colour: str) -> Colour:
    digits = hex_colour.lstrip("#")
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))


def text_pixels(pieces: list[tuple[str, Colour]], x: int = 0) -> tuple[Pixels, int]:
    """Lit pixels of coloured text in the 3x5 font (rows 2..6), one blank column per glyph,
    uppercase as the clock shows it by default; and the width used."""
    lit: Pixels = {}
    for text, colour in pieces:
        for char in text.upper():
            rows = GLYPHS[char].split()
            for dx in range(3):
                for dy, row in enumerate(rows):
                    if row[dx] == "1":
                        lit[(x + dx, 2 + dy)] = colour
            x += 4
    return lit, x


def line_pixels(line: list[int], with_icon: bool, colour: Colour) -> Pixels:
    """The firmware's `drawLineChart`: points spread over the width beside the icon, each at
    row `8 - value`, joined by straight lines."""
    width, start = (23, 9) if with_icon else (32, 0)
    step = width / (len(line) - 1)
    points = [(start + int(step * i), 8 - value) for i, value in enumerate(line)]
    lit: Pixels = {}
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(steps + 1):
            x = round(x0 + (x1 - x0) * i / steps)
            y = round(y0 + (y1 - y0) * i / steps)
            if 0 <= x < 32 and 0 <= y < 8:
                lit[(x, y)] = colour
    return lit


def coin_icon() -> Pixels:
    """A stand-in for the clock's icon (the user picks one from LaMetric's gallery): a coin."""
    ring = ["00111100", "01111110", "11100111", "11011011", "11011111", "11100111", "01111110",
            "00111100"]  # fmt: skip
    return {
        (x, y): (247, 147, 26) if bit == "1" else (90, 50, 10)
        for y, row in enumerate(ring)
        for x, bit in enumerate(row)
        if bit == "1" or (2 <= x <= 5 and 2 <= y <= 5)
    }


def led_picture(lit: Pixels, columns: int, caption: str, name: str) -> Path:
    """The matrix as LEDs (lit or dark), `columns` wide, with the payload as a caption."""
    font = ImageFont.truetype(FONT, 16)
    lines = [caption[i : i + 150] for i in range(0, len(caption), 150)]
    width = max(columns * (LED + GAP) + 40, 40 + int(9.6 * max(len(line) for line in lines)))
    image = Image.new("RGB", (width, 8 * (LED + GAP) + 40 + 22 * len(lines)), (10, 10, 12))
    pen = ImageDraw.Draw(image)
    for x in range(columns):
        for y in range(8):
            left, top = 20 + x * (LED + GAP), 20 + y * (LED + GAP)
            pen.ellipse((left, top, left + LED, top + LED), fill=lit.get((x, y), OFF))
    for row, line in enumerate(lines):
        pen.text((20, 8 * (LED + GAP) + 30 + 22 * row), line, font=font, fill=(200, 200, 200))
    path = OUT / name
    image.save(path)
    return path


BTC_USD = {"p": 81187.93284788371, "p24h": 0.534347439686}
BTC_TEXTS = {"p": "81187.93284788371"}
EUR_RATE = Decimal("0.92")


def awtrix_colours_picture() -> Path:
    """`colored_text = true` in euros: the symbol and the change in their own colours."""
    clock = AwtrixSettings(prefix="awtrix_clock")
    eur = clock_currency(CURRENCIES["EUR"])
    money = MoneyValues(eur, {k: convert(v, EUR_RATE) for k, v in BTC_TEXTS.items()})
    parts = TextTemplate(clock.template).render_parts(coin_info(1), BTC_USD, money)
    text = fragments(parts, BTC_USD["p24h"], AwtrixExtras().symbol_color)
    lit, width = text_pixels([(f["t"], rgb(f["c"])) for f in text])
    payload = json.dumps(text, ensure_ascii=False)
    caption = f'"text": {payload}  (currency = "EUR", colored_text = true)'
    return led_picture(lit, width, caption, "awtrix-colours.png")


def awtrix_chart_picture() -> Path:
    """`chart_points = 11` beside an icon: the last prices of the simulator's market."""
    market = Market(seed=7)
    prices = [float(market.step(1)["p"]) for _ in range(11)]
    payload = chart_payload(prices, -0.8, 120, "5791")
    assert payload is not None
    app = json.loads(payload)
    lit = coin_icon()
    lit.update(line_pixels(app["line"], True, rgb(app["color"])))
    caption = f"cmc_1_chart: {payload}  (chart_points = 11, an icon beside it)"
    return led_picture(lit, 32, caption, "awtrix-chart.png")


def awtrix_alert_picture() -> Path:
    """An alert: the notification's text and indicator 1 (three pixels, top right)."""
    extras = AwtrixExtras(notify_alerts=True, indicator=1)
    eur = CURRENCIES["EUR"]
    alert = Alert(1, "price", "up", Decimal(75000), Decimal("75012.5"), 0.0, eur)
    note = json.loads(notify_payload(alert, coin_info(1), extras, None))
    indicator = json.loads(indicator_payload(alert.direction, extras.indicator_blink_ms))
    lit, width = text_pixels([(note["text"], rgb(note["color"]))])
    columns = max(32, width)
    for pixel in ((columns - 1, 0), (columns - 2, 0), (columns - 1, 1)):
        lit[pixel] = rgb(indicator["color"])
    caption = f"notify: {json.dumps(note, ensure_ascii=False)}  indicator1: {json.dumps(indicator)}"
    return led_picture(lit, columns, caption, "awtrix-alert.png")


def awtrix_picture() -> Path:
    clock = AwtrixSettings(prefix="awtrix_clock")
    numbers = {"p": 81187.93284788371, "p24h": 0.534347439686}
    text = render(clock.template, coin_info(1), numbers)
    app = json.loads(awtrix_payload(clock, text, numbers["p24h"], 1))
    colour = tuple(int(app["color"][i : i + 2], 16) for i in (1, 3, 5))
    columns: list[list[bool]] = []
    for char in app["text"]:
        rows = GLYPHS[char].split()
        for x in range(3):
            columns.append([False, False] + [r[x] == "1" for r in rows] + [False])
        columns.append([False] * 8)
    led, gap = 14, 4
    width = len(columns) * (led + gap) + 40
    image = Image.new("RGB", (width, 8 * (led + gap) + 70), (10, 10, 12))
    pen = ImageDraw.Draw(image)
    for x, column in enumerate(columns):
        for y, lit in enumerate(column):
            fill = colour if lit else (35, 35, 40)
            left, top = 20 + x * (led + gap), 20 + y * (led + gap)
            pen.ellipse((left, top, left + led, top + led), fill=fill)
    payload = json.dumps(app, ensure_ascii=False)
    caption = f"{payload}  (the clock scrolls it across its 32 x 8 matrix)"
    font = ImageFont.truetype(FONT, 16)
    pen.text((20, 8 * (led + gap) + 35), caption, font=font, fill=(200, 200, 200))
    path = OUT / "awtrix.png"
    image.save(path)
    return path


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for make in (demo_table, awtrix_picture, awtrix_colours_picture, awtrix_chart_picture,
                 awtrix_alert_picture):  # fmt: skip
        made = make()
        print(f"wrote {made.relative_to(ROOT)}")
