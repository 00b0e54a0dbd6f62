"""Draws README's pictures: the demo's terminal table and a ticker text on an AWTRIX clock.

Run: .venv/bin/pip install pillow && .venv/bin/python scripts/make_pictures.py
Both pictures come from the project's own code (the demo's `draw`, the display renderer), fed
by the simulator's market with a fixed seed, so they change only when that code does.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmc_mqtt.coins import BUNDLED_COINS, coin_info  # noqa: E402
from cmc_mqtt.config import AwtrixSettings  # noqa: E402
from cmc_mqtt.demo import SubscriberView, draw  # noqa: E402
from cmc_mqtt.displays import awtrix_payload  # noqa: E402
from cmc_mqtt.simulator import Market  # noqa: E402
from cmc_mqtt.text import render  # noqa: E402

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
    " ": "000 000 000 000 000",
}  # fmt: skip


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
    for made in (demo_table(), awtrix_picture()):
        print(f"wrote {made.relative_to(ROOT)}")
