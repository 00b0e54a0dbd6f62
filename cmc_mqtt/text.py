"""Ready-to-show strings for tickers and LED clocks, formatted by each field's kind.

`BTC $81,187.93 ▲0.53%` from a template such as `{symbol} {price} {arrow}{change}`: prices get
thousands separators above a dollar and significant digits below, large amounts get compact
suffixes (`1.63T`), percentages get a sign. A missing value shows as a dash, never as 0.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from typing import Final

from .coins import CoinInfo
from .errors import ConfigError
from .fields import FIELDS, FieldKind

MISSING: Final = "\u2013"  # en dash
UP, DOWN, FLAT = "▲", "▼", "▬"
DEFAULT_TEMPLATE: Final = "{symbol} {price} {arrow}{change}"
_SUFFIXES: Final = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def format_price(value: float) -> str:
    """`$81,187.93` above a dollar; four significant digits below (`$0.2141`, `$0.00001234`)."""
    if value >= 1 or value <= 0:
        return f"${value:,.2f}"
    decimals = min(12, 3 - math.floor(math.log10(value)))
    text = f"{value:.{decimals}f}"
    return f"${value:,.2f}" if float(text) >= 1 else f"${text}"


def format_compact(value: float, *, dollars: bool) -> str:
    """`1.63T`, `29.93B`, `858.39M`; small amounts keep their digits."""
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    unit = "$" if dollars else ""
    for threshold, suffix in _SUFFIXES:
        if magnitude >= threshold:
            return f"{sign}{unit}{magnitude / threshold:.2f}{suffix}"
    return f"{sign}{unit}{magnitude:,.2f}"


def format_percent(value: float, *, signed: bool = True) -> str:
    return f"{value:+.2f}%" if signed else f"{abs(value):.2f}%"


def arrow(change: float | None) -> str:
    if change is None:
        return ""
    if change > 0:
        return UP
    return DOWN if change < 0 else FLAT


def format_field(kind: FieldKind, value: float) -> str:
    if kind is FieldKind.PRICE:
        return format_price(value)
    if kind is FieldKind.USD:
        return format_compact(value, dollars=True)
    if kind is FieldKind.SUPPLY:
        return format_compact(value, dollars=False)
    return format_percent(value)


def placeholders(coin: CoinInfo, numbers: Mapping[str, float]) -> dict[str, str]:
    """Everything a template may name: coin names, each field by key, and conveniences."""
    values = {"symbol": coin.symbol, "name": coin.name, "id": str(coin.id)}
    for field in FIELDS:
        number = numbers.get(field.key)
        values[field.key] = MISSING if number is None else format_field(field.kind, number)
    change = numbers.get("p24h")
    values["price"] = values["p"]
    values["arrow"] = arrow(change)
    values["change"] = MISSING if change is None else format_percent(change, signed=False)
    values["change_signed"] = values["p24h"]
    return values


def render(template: str, coin: CoinInfo, numbers: Mapping[str, float]) -> str:
    return template.format_map(placeholders(coin, numbers))


def check_template(template: str, key: str) -> None:
    """Refuse templates naming unknown placeholders at start-up, not at the first quote."""
    known = set(placeholders(CoinInfo(1, "x", "X"), {}))
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError([f"{key}: {exc}"]) from None
    unknown = sorted(names - known)
    if unknown:
        raise ConfigError(
            [f"{key}: unknown placeholder {{{unknown[0]}}}; known: {', '.join(sorted(known))}"]
        )
