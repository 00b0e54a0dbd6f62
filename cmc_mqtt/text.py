"""Ready-to-show strings for tickers and LED clocks, formatted by each field's kind.

`BTC $81,187.93 ▲0.53%` from a template such as `{symbol} {price} {arrow}{change}`: prices get
thousands separators above a dollar and significant digits below, large amounts get compact
suffixes (`1.63T`), percentages get a sign. A missing value shows as a dash, never as 0.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Final

from .coins import CoinInfo
from .errors import ConfigError
from .fields import FIELDS, FieldKind, price_precision

MISSING: Final = "\u2013"  # en dash
UP, DOWN, FLAT = "▲", "▼", "▬"
DEFAULT_TEMPLATE: Final = "{symbol} {price} {arrow}{change}"
_SUFFIXES: Final = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def format_price(value: float) -> str:
    """`$81,187.93` above a dollar; four significant digits below (`$0.2141`, `$0.00001234`):
    the decimals Home Assistant is told to show (`price_precision`), so both agree."""
    text = f"{value:,.{price_precision(value)}f}"
    return f"${value:,.2f}" if value < 1 and float(text) >= 1 else f"${text}"


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


def _field_value(key: str, kind: FieldKind) -> Callable[[CoinInfo, Mapping[str, float]], str]:
    def value(_coin: CoinInfo, numbers: Mapping[str, float]) -> str:
        number = numbers.get(key)
        return MISSING if number is None else format_field(kind, number)

    return value


def _change(signed: bool) -> Callable[[CoinInfo, Mapping[str, float]], str]:
    def value(_coin: CoinInfo, numbers: Mapping[str, float]) -> str:
        change = numbers.get("p24h")
        return MISSING if change is None else format_percent(change, signed=signed)

    return value


#: Every placeholder a template may use, and how to fill it.
PLACEHOLDERS: Final[dict[str, Callable[[CoinInfo, Mapping[str, float]], str]]] = {
    "symbol": lambda coin, _n: coin.symbol,
    "name": lambda coin, _n: coin.name,
    "id": lambda coin, _n: str(coin.id),
    **{f.key: _field_value(f.key, f.kind) for f in FIELDS},
    "price": _field_value("p", FieldKind.PRICE),
    "arrow": lambda _coin, numbers: arrow(numbers.get("p24h")),
    "change": _change(signed=False),
    "change_signed": _change(signed=True),
}


class TextTemplate:
    """A template parsed once; rendering formats only the placeholders it names."""

    def __init__(self, template: str, key: str = "template") -> None:
        try:
            names = [n for _, n, _, _ in string.Formatter().parse(template) if n is not None]
        except ValueError as exc:
            raise ConfigError([f"{key}: {exc}"]) from None
        unknown = sorted(set(names) - set(PLACEHOLDERS))
        if unknown:
            listing = ", ".join(sorted(PLACEHOLDERS))
            raise ConfigError([f"{key}: unknown placeholder {{{unknown[0]}}}; known: {listing}"])
        self.template = template
        self._fillers = {name: PLACEHOLDERS[name] for name in names}

    def render(self, coin: CoinInfo, numbers: Mapping[str, float]) -> str:
        values = {name: fill(coin, numbers) for name, fill in self._fillers.items()}
        return self.template.format_map(values)


def render(template: str, coin: CoinInfo, numbers: Mapping[str, float]) -> str:
    return TextTemplate(template).render(coin, numbers)


def check_template(template: str, key: str) -> None:
    """Refuse templates naming unknown placeholders at start-up, not at the first quote."""
    TextTemplate(template, key)
