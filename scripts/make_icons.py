"""Draw the add-on's icon and logo and the integration's brand icon: PNG from plain Python.

A gold coin with a rising price line on a navy tile; the logo adds the name in a pixel font.
No imaging library: shapes are tested per sub-pixel (4x4 per pixel, for smooth edges) and the
PNG is written with zlib. Run from the repository root: python scripts/make_icons.py
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAVY = (26, 43, 76)
GOLD = (247, 181, 0)
GOLD_DARK = (196, 137, 0)
WHITE = (255, 255, 255)
SUB = 4  # sub-samples per pixel edge

Shape = Callable[[float, float], bool]  # unit square coordinates -> inside?
Layer = tuple[Shape, tuple[int, int, int]]

# 5x9 glyphs, rows top to bottom: ascenders from row 0, x-height rows 2-6, descenders 7-8.
FONT = {
    "c": ["", "", " ### ", "#    ", "#    ", "#    ", " ### "],
    "m": ["", "", "## # ", "# # #", "# # #", "# # #", "# # #"],
    "q": ["", "", " ####", "#   #", "#   #", "#   #", " ####", "    #", "    #"],
    "t": [" #   ", " #   ", "#### ", " #   ", " #   ", " #  #", "  ## "],
    "-": ["", "", "", "", "#### "],
}


def rounded_square(radius: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        dx = max(radius - x, 0.0, x - (1 - radius))
        dy = max(radius - y, 0.0, y - (1 - radius))
        return dx * dx + dy * dy <= radius * radius

    return inside


def disc(cx: float, cy: float, r: float) -> Shape:
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def polyline(points: list[tuple[float, float]], width: float) -> Shape:
    half = width / 2

    def near(x: float, y: float) -> bool:
        for (ax, ay), (bx, by) in itertools.pairwise(points):
            vx, vy = bx - ax, by - ay
            t = max(0.0, min(1.0, ((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy)))
            if math.hypot(x - ax - t * vx, y - ay - t * vy) <= half:
                return True
        return False

    return near


def icon_layers() -> list[Layer]:
    line = [(0.26, 0.64), (0.42, 0.50), (0.54, 0.58), (0.74, 0.36)]
    return [
        (rounded_square(0.18), NAVY),
        (disc(0.5, 0.5, 0.36), GOLD_DARK),
        (disc(0.5, 0.5, 0.31), GOLD),
        (polyline(line, 0.075), NAVY),
        (polyline([(0.66, 0.36), (0.74, 0.36), (0.74, 0.44)], 0.075), NAVY),
    ]


def render(width: int, height: int, layers: list[Layer], box: tuple[int, int, int]) -> bytes:
    """RGBA rows for PNG (each led by filter byte 0); layers drawn in a square of `box[2]`
    pixels at (box[0], box[1])."""
    left, top, size = box
    rows = bytearray()
    for py in range(height):
        rows.append(0)
        for px in range(width):
            inside_box = left <= px < left + size and top <= py < top + size
            rgba = _pixel(px - left, py - top, size, layers) if inside_box else (0, 0, 0, 0)
            rows.extend(rgba)
    return bytes(rows)


def _pixel(px: int, py: int, size: int, layers: list[Layer]) -> tuple[int, int, int, int]:
    acc = [0.0, 0.0, 0.0, 0.0]
    for sy in range(SUB):
        for sx in range(SUB):
            x, y = (px + (sx + 0.5) / SUB) / size, (py + (sy + 0.5) / SUB) / size
            colour = None
            for shape, rgb in layers:
                if shape(x, y):
                    colour = rgb
            if colour is not None:
                acc[0] += colour[0]
                acc[1] += colour[1]
                acc[2] += colour[2]
                acc[3] += 1
    n = acc[3]
    if n == 0:
        return (0, 0, 0, 0)
    return (round(acc[0] / n), round(acc[1] / n), round(acc[2] / n), round(255 * n / SUB**2))


def stamp_text(rows: bytearray, width: int, text: str, x0: int, y0: int, scale: int) -> None:
    stride = width * 4 + 1
    for i, char in enumerate(text):
        for gy, line in enumerate(FONT[char]):
            for gx, bit in enumerate(line):
                if bit != "#":
                    continue
                for dy in range(scale):
                    for dx in range(scale):
                        x, y = x0 + (i * 6 + gx) * scale + dx, y0 + gy * scale + dy
                        at = y * stride + 1 + x * 4
                        rows[at : at + 4] = bytes((*NAVY, 255))


def png(width: int, height: int, rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def icon(size: int) -> bytes:
    return png(size, size, render(size, size, icon_layers(), (0, 0, size)))


def logo(width: int, height: int) -> bytes:
    rows = bytearray(render(width, height, icon_layers(), (0, 0, height)))
    scale = 3
    text = "cmc-mqtt"
    stamp_text(rows, width, text, height + 8, (height - 9 * scale) // 2, scale)
    return png(width, height, bytes(rows))


def main() -> None:
    outputs = {
        ROOT / "cmc-mqtt" / "icon.png": icon(128),
        ROOT / "cmc-mqtt" / "logo.png": logo(250, 100),
        ROOT / "custom_components" / "cmc_mqtt" / "brand" / "icon.png": icon(256),
        ROOT / "custom_components" / "cmc_mqtt" / "brand" / "icon@2x.png": icon(512),
    }
    for path, data in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{path.relative_to(ROOT)}: {len(data)} bytes")


if __name__ == "__main__":
    main()
