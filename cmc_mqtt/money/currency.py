"""Amounts in the user's own currency: USD texts from the stream times a rate, in decimal.

The stream's numbers arrive as exact texts (`"81187.93284788371"`); multiplying their floats by a
rate would publish `74692.89821005301000001` one day. Here the text becomes a `Decimal`, the
product is exact, and one rounding step decides what is shown, by the currency's minor units
(ISO 4217: JPY 0, most 2, KWD 3) and by what the amount is:

- a **price** keeps the currency's minor units from 1 unit up, and 4 significant digits below
  (`0.2141`, `0.00001234`), the rule the USD topics' precision follows (`fields.price_precision`);
- a **market** amount (24 h volume, market cap) is rounded to whole units: its rate has about
  ten significant digits, so cents of a trillion would be noise;
- a **holding** (what the user's coins are worth, the portfolio) keeps the minor units: it is
  money a person owns and reads to the cent.

Rounding is half-to-even, the rule Python's own number formatting applies, so a converted text
and the ticker's text of the same value never disagree.

How a currency is written is one documented convention, not the locale's: English digits
(`1,234.56`); the symbol before the number (`€1,234.56`, `¥12,584,129`, `CHF 12.50`) except
for the currencies whose symbol is conventionally written after it (`12.50 kr`, `12.50 zł`);
a space between symbol and number when the symbol is a word (`CHF`, `kr`) or follows the number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from enum import Enum
from typing import Final

from ..model.bounds import shown
from ..model.fields import FIELDS, FieldKind
from ..model.topics import Topics

#: Enough digits for any product of a stream text and a rate to be exact (texts carry at most
#: about 20 significant digits, rates 12): rounding happens once, on purpose, in `round_amount`.
#: The exponent range is bounded too: every amount that enters is (`bounds.py`, the field
#: table), so a result beyond 10^999 can only be a bug, and it traps (`Overflow`, an
#: `ArithmeticError` the valuation contains to its coin) instead of growing without limit.
CONTEXT: Final = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    Emax=999,
    Emin=-999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
#: Decimals shown at most for a tiny price (the USD rule's cap, `fields.price_precision`).
MAX_PRICE_DECIMALS: Final = 12
_SIGNIFICANT_BELOW_ONE: Final = 4
_ONE: Final = Decimal(1)


class AmountKind(Enum):
    """What an amount is, which decides its rounding."""

    PRICE = "price"  # per coin: minor units from 1 up, 4 significant digits below
    MARKET = "market"  # volume, market cap: whole units
    HOLDING = "holding"  # a holding's or the portfolio's worth: minor units


@dataclass(frozen=True, slots=True)
class Currency:
    """A fiat currency as shown: ISO code, symbol, minor units, where the symbol goes."""

    code: str
    symbol: str
    minor_units: int = 2
    symbol_after: bool = False

    def place(self, number: str) -> str:
        """`number` (already formatted, maybe with a leading "-") with the symbol placed:
        `-€2.50`, `CHF 12.50`, `12.50 kr`, `-12.50 kr`."""
        if self.symbol_after:
            return f"{number} {self.symbol}"
        sign, digits = ("-", number[1:]) if number.startswith("-") else ("", number)
        space = " " if self.symbol[-1:].isalpha() else ""
        return f"{sign}{self.symbol}{space}{digits}"


def _c(code: str, symbol: str, minor: int = 2, *, after: bool = False) -> Currency:
    return Currency(code, symbol, minor, after)


#: Common fiat currencies. Minor units are ISO 4217's; symbols the common English-text ones
#: (a prefix like A$ tells the dollars apart). Any other code in CoinMarketCap's fiat map works
#: too, written as `XYZ 1,234.56` with 2 minor units (see `currency`).
CURRENCIES: Final[dict[str, Currency]] = {
    c.code: c
    for c in (
        _c("USD", "$"), _c("EUR", "€"), _c("GBP", "£"), _c("JPY", "¥", 0), _c("CNY", "¥"),
        _c("AUD", "A$"), _c("CAD", "C$"), _c("NZD", "NZ$"), _c("HKD", "HK$"), _c("SGD", "S$"),
        _c("TWD", "NT$"), _c("MXN", "MX$"), _c("ARS", "AR$"), _c("CLP", "CLP", 0),
        _c("COP", "COP"), _c("BRL", "R$"), _c("PEN", "S/"), _c("CHF", "CHF"),
        _c("SEK", "kr", after=True), _c("NOK", "kr", after=True), _c("DKK", "kr", after=True),
        _c("ISK", "kr", 0, after=True), _c("PLN", "zł", after=True),
        _c("CZK", "Kč", after=True), _c("HUF", "Ft", after=True), _c("RON", "lei", after=True),
        _c("RUB", "₽", after=True), _c("UAH", "₴", after=True), _c("TRY", "₺"),
        _c("INR", "₹"), _c("PKR", "Rs"), _c("KRW", "₩", 0), _c("IDR", "Rp"), _c("THB", "฿"),
        _c("PHP", "₱"), _c("MYR", "RM"), _c("VND", "₫", 0, after=True), _c("ZAR", "R"),
        _c("NGN", "₦"), _c("EGP", "E£"), _c("ILS", "₪"), _c("AED", "AED"), _c("SAR", "SAR"),
        _c("QAR", "QAR"), _c("KWD", "KWD", 3), _c("BHD", "BHD", 3), _c("OMR", "OMR", 3),
        _c("JOD", "JOD", 3), _c("KZT", "₸"),
    )
}  # fmt: skip
USD: Final = CURRENCIES["USD"]

#: Which stream fields are amounts of money (converted), and of what kind; the rest are not.
FIELD_AMOUNTS: Final[dict[str, AmountKind]] = {
    f.key: AmountKind.PRICE if f.kind is FieldKind.PRICE else AmountKind.MARKET
    for f in FIELDS
    if f.kind in (FieldKind.PRICE, FieldKind.USD)
}


def currency(code: str, symbol: str | None = None) -> Currency:
    """The currency for an ISO code: the table's entry, or `code` itself (or `symbol`, e.g.
    the fiat map's sign) before the number with 2 minor units."""
    code = code.strip().upper()
    known = CURRENCIES.get(code)
    if known is not None:
        return known
    return Currency(code, symbol or code)


def to_decimal(text: str | Decimal) -> Decimal:
    """A finite `Decimal` from an exact number text; ValueError for anything else."""
    if isinstance(text, Decimal):
        value = text
    else:
        try:
            value = Decimal(text.strip())
        except (InvalidOperation, AttributeError) as exc:
            raise ValueError(f"not a number: {shown(text)}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number: {shown(text)}")
    return value


def convert(usd: str | Decimal, rate: Decimal) -> Decimal:
    """The exact product of a USD amount (its text) and a rate (currency units per USD)."""
    return CONTEXT.multiply(to_decimal(usd), rate)


def decimals(value: Decimal, currency: Currency, kind: AmountKind) -> int:
    """Decimals `value` is shown with: see the module's docstring."""
    if kind is AmountKind.MARKET:
        return 0
    minor = currency.minor_units
    if kind is AmountKind.HOLDING or value == 0 or abs(value) >= _ONE:
        return minor
    # adjusted() is the exponent of the first significant digit: 0.2141 -> -1, 0.00001234 -> -5
    wanted = -abs(value).adjusted() + _SIGNIFICANT_BELOW_ONE - 1
    return max(minor, min(wanted, MAX_PRICE_DECIMALS))


def round_amount(value: Decimal, currency: Currency, kind: AmountKind) -> Decimal:
    """`value` rounded as it is shown and published (half to even). A price just under 1 that
    rounds up to 1 (`0.999996`) is shown as a price of 1, with the minor units."""
    places = decimals(value, currency, kind)
    rounded = quantize(value, places)
    if kind is AmountKind.PRICE and abs(value) < _ONE <= abs(rounded):
        rounded = quantize(value, currency.minor_units)
    return rounded


def quantize(value: Decimal, places: int) -> Decimal:
    """`value` to `places` decimals, half to even; never a negative zero."""
    result = value.quantize(_ONE.scaleb(-places), context=CONTEXT)
    return result.copy_abs() if result.is_zero() else result  # never "-0.00"


def amount_text(value: Decimal) -> str:
    """The plain text of a rounded amount for a topic: no exponent, no grouping (`1234.50`)."""
    return f"{value:f}"


def converted_text(usd: str | Decimal, rate: Decimal, currency: Currency, kind: AmountKind) -> str:
    """A USD text converted, rounded and written for a topic: `convert` + `round_amount`."""
    return amount_text(round_amount(convert(usd, rate), currency, kind))


def grouped(value: Decimal, places: int) -> str:
    """`value` with thousands separators and exactly `places` decimals: `1,234.50`."""
    return f"{quantize(value, places):,.{places}f}"


def converted_key(key: str, currency: Currency) -> str:
    """The topic level of a converted field: `p` in EUR is `p_eur` (`<prefix>/<id>/p_eur`), so
    the name says the currency and the USD topics stay as they are (`Topics.amount_level`)."""
    return Topics.amount_level(key, currency.code)


def converted_fields(texts: Mapping[str, str], rate: Decimal, currency: Currency) -> dict[str, str]:
    """Every money field among a coin's USD texts, converted: `{"p_eur": "74692.90", ...}`."""
    return {
        converted_key(key, currency): converted_text(text, rate, currency, FIELD_AMOUNTS[key])
        for key, text in texts.items()
        if key in FIELD_AMOUNTS
    }


@dataclass(frozen=True, slots=True)
class MoneyValues:
    """Amounts in the chosen currency for one rendering; a missing one shows as a dash.

    `fields` holds the converted money fields by stream key (`p`, `vu`, `mc`); None means
    "the USD numbers as they are", which only USD may say. `value` is this coin's holding's
    worth, `portfolio` the total, `portfolio_change` its 24 h change in percent."""

    currency: Currency = USD
    fields: Mapping[str, Decimal] | None = None
    value: Decimal | None = None
    portfolio: Decimal | None = None
    portfolio_change: Decimal | None = None

    def field(self, key: str) -> Decimal | None:
        return None if self.fields is None else self.fields.get(key)

    @property
    def from_usd_numbers(self) -> bool:
        return self.fields is None and self.currency.code == "USD"


NO_MONEY: Final = MoneyValues()
