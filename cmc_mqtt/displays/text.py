"""Ready-to-show strings for tickers and LED clocks, formatted by each field's kind.

`BTC $81,187.93 ▲0.53%` from a template such as `{symbol} {price} {arrow}{change}`: prices get
thousands separators above a dollar and significant digits below, large amounts get compact
suffixes (`1.63T`), percentages get a sign. A missing value shows as a dash, never as 0.

In another currency the money placeholders (`{price}`, `{p}`, `{vu}`, `{mc}`, `{value}`,
`{portfolio}`) show the amounts a `MoneyValues` carries, with that currency's symbol where it
goes (`€74,692.90`, `12.50 kr`): the stream's floats are USD, so a converted amount is never
made up here. Without one, the USD output is what it always was.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final

from ..errors import ConfigError
from ..model.coins import CoinInfo
from ..model.fields import FIELDS, FieldKind, price_precision
from ..money.currency import (
    CONTEXT,
    NO_MONEY,
    AmountKind,
    Currency,
    MoneyValues,
    grouped,
    quantize,
    round_amount,
)

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


def format_money(value: Decimal, currency: Currency, kind: AmountKind) -> str:
    """An amount in `currency`, rounded by `money`'s rules and written with its symbol: a price
    (`€74,692.90`, `€0.1970`), a market amount compact (`€1.50T`, `1.50T kr`), a holding to its
    minor units (`€18,870.22`)."""
    if kind is AmountKind.PRICE:
        rounded = round_amount(value, currency, kind)
        places = max(0, -int(rounded.as_tuple().exponent))
        return currency.place(grouped(rounded, places))
    if kind is AmountKind.HOLDING:
        return currency.place(grouped(value, currency.minor_units))
    magnitude = abs(value)
    for threshold, suffix in _SUFFIXES:
        if magnitude >= threshold:
            number = quantize(CONTEXT.divide(value, Decimal(int(threshold))), 2)
            return currency.place(f"{number:.2f}{suffix}")
    return currency.place(grouped(value, min(2, currency.minor_units)))


Filler = Callable[[CoinInfo, Mapping[str, float], MoneyValues], str]
_MONEY_KINDS: Final = {FieldKind.PRICE: AmountKind.PRICE, FieldKind.USD: AmountKind.MARKET}


def _field_value(key: str, kind: FieldKind) -> Filler:
    amount = _MONEY_KINDS.get(kind)

    def value(_coin: CoinInfo, numbers: Mapping[str, float], money: MoneyValues) -> str:
        if amount is not None and not money.from_usd_numbers:
            converted = money.field(key)
            return MISSING if converted is None else format_money(converted, money.currency, amount)
        number = numbers.get(key)
        return MISSING if number is None else format_field(kind, number)

    return value


def _change(signed: bool) -> Filler:
    def value(_coin: CoinInfo, numbers: Mapping[str, float], _money: MoneyValues) -> str:
        change = numbers.get("p24h")
        return MISSING if change is None else format_percent(change, signed=signed)

    return value


def _holding(pick: Callable[[MoneyValues], Decimal | None]) -> Filler:
    def value(_coin: CoinInfo, _numbers: Mapping[str, float], money: MoneyValues) -> str:
        amount = pick(money)
        return (
            MISSING if amount is None else format_money(amount, money.currency, AmountKind.HOLDING)
        )

    return value


def _portfolio_change(_coin: CoinInfo, _numbers: Mapping[str, float], money: MoneyValues) -> str:
    change = money.portfolio_change
    return MISSING if change is None else f"{quantize(change, 2):+.2f}%"


#: Every placeholder a template may use, and how to fill it.
PLACEHOLDERS: Final[dict[str, Filler]] = {
    "symbol": lambda coin, _n, _m: coin.symbol,
    "name": lambda coin, _n, _m: coin.name,
    "id": lambda coin, _n, _m: str(coin.id),
    **{f.key: _field_value(f.key, f.kind) for f in FIELDS},
    "price": _field_value("p", FieldKind.PRICE),
    "arrow": lambda _coin, numbers, _m: arrow(numbers.get("p24h")),
    "change": _change(signed=False),
    "change_signed": _change(signed=True),
    "value": _holding(lambda money: money.value),
    "portfolio": _holding(lambda money: money.portfolio),
    "portfolio_change": _portfolio_change,
}
#: Placeholders that show the 24 h change (coloured by it on a clock).
CHANGE_PLACEHOLDERS: Final = frozenset({"arrow", "change", "change_signed", "p24h"})


class TextTemplate:
    """A template parsed once; rendering formats only the placeholders it names."""

    def __init__(self, template: str, key: str = "template") -> None:
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise ConfigError([f"{key}: {exc}"]) from exc
        names = [n for _, n, _, _ in parsed if n is not None]
        unknown = sorted(set(names) - set(PLACEHOLDERS))
        if unknown:
            listing = ", ".join(sorted(PLACEHOLDERS))
            raise ConfigError([f"{key}: unknown placeholder {{{unknown[0]}}}; known: {listing}"])
        self.template = template
        self.names = frozenset(names)
        self._parsed = parsed
        self._fillers = {name: PLACEHOLDERS[name] for name in names}

    def render(
        self, coin: CoinInfo, numbers: Mapping[str, float], money: MoneyValues = NO_MONEY
    ) -> str:
        values = {name: fill(coin, numbers, money) for name, fill in self._fillers.items()}
        return self.template.format_map(values)

    def render_parts(
        self, coin: CoinInfo, numbers: Mapping[str, float], money: MoneyValues = NO_MONEY
    ) -> list[tuple[str, str | None]]:
        """The rendered text in pieces: (text, placeholder name) for each placeholder, (text,
        None) for the template's own text; joined, they are `render`'s result."""
        values = {name: fill(coin, numbers, money) for name, fill in self._fillers.items()}
        parts: list[tuple[str, str | None]] = []
        for literal, name, spec, conversion in self._parsed:
            if literal:
                parts.append((literal, None))
            if name is not None:
                piece = string.Formatter().format_field(
                    string.Formatter().convert_field(values[name], conversion), spec or ""
                )
                parts.append((piece, name))
        return parts


def render(
    template: str, coin: CoinInfo, numbers: Mapping[str, float], money: MoneyValues = NO_MONEY
) -> str:
    return TextTemplate(template).render(coin, numbers, money)


def check_template(template: str, key: str) -> None:
    """Refuse templates naming unknown placeholders at start-up, not at the first quote."""
    TextTemplate(template, key)
