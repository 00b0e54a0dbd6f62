"""The field table: the one place that says what each number of `market@crypto_latest_price` is.

Topics, Home Assistant discovery, the custom integration (via its own checked copy) and the
display formats all read this table, so a field is described once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final


class FieldKind(Enum):
    """How a value is shown and what range is plausible for it."""

    PRICE = "price"  # USD per coin; precision depends on the price itself
    USD = "usd"  # a large USD amount (volume, market cap)
    SUPPLY = "supply"  # a count of coins, unit is the coin's symbol
    PERCENT = "percent"  # a change in percent (2.33 means 2.33 %)


#: Placeholder in `Field.unit` replaced by the coin's symbol (circulating supply is in coins).
SYMBOL_UNIT: Final = "{symbol}"


@dataclass(frozen=True, slots=True)
class Field:
    """One numeric field of a quote, with everything needed to publish and describe it."""

    key: str  # the key in the stream's `data` object, and the last topic level
    name: str  # entity name shown by Home Assistant (has_entity_name style)
    kind: FieldKind
    unit: str
    icon: str
    enabled_by_default: bool
    precision: int | None  # suggested display precision; None = decided from the value (price)
    minimum: float | None  # values below this are rejected as corrupt
    short: str  # short label for ticker texts
    state_class: str = "measurement"
    #: Values above this are rejected as corrupt: every amount that enters is bounded, and
    #: these bounds keep every product the bridge computes exact (see `bounds.py`).
    maximum: float = 0.0


#: The largest value a field of each kind may carry. Generous beyond anything CoinMarketCap
#: lists (a price of 10^12 USD, a market cap of 10^18 USD, a supply of 10^30 coins, a change of
#: 10^15 percent), so only a corrupt or hostile frame is refused.
MAXIMUM: Final[dict[FieldKind, float]] = {
    FieldKind.PRICE: 1e12,
    FieldKind.USD: 1e18,
    FieldKind.SUPPLY: 1e30,
    FieldKind.PERCENT: 1e15,
}


def _price(key: str, name: str, icon: str, short: str) -> Field:
    kind = FieldKind.PRICE
    return Field(key, name, kind, "USD", icon, True, None, 0.0, short, maximum=MAXIMUM[kind])


def _usd(key: str, name: str, icon: str, short: str, *, enabled: bool) -> Field:
    kind = FieldKind.USD
    return Field(key, name, kind, "USD", icon, enabled, 0, 0.0, short, maximum=MAXIMUM[kind])


def _supply(key: str, name: str, icon: str, short: str) -> Field:
    kind = FieldKind.SUPPLY
    return Field(key, name, kind, SYMBOL_UNIT, icon, False, 0, 0.0, short, maximum=MAXIMUM[kind])


def _percent(key: str, name: str, short: str, *, enabled: bool = False) -> Field:
    kind = FieldKind.PERCENT
    return Field(
        key, name, kind, "%", "mdi:chart-line", enabled, 2, -100.0, short, maximum=MAXIMUM[kind]
    )


FIELDS: Final[tuple[Field, ...]] = (
    _price("p", "Price", "mdi:currency-usd", "price"),
    _usd("vu", "Volume 24h", "mdi:chart-bar", "vol", enabled=True),
    _usd("mc", "Market cap", "mdi:chart-pie", "cap", enabled=True),
    _supply("cs", "Circulating supply", "mdi:circle-multiple", "supply"),
    _percent("p24h", "Change 24h", "24h", enabled=True),
    _percent("p7d", "Change 7d", "7d"),
    _percent("p30d", "Change 30d", "30d"),
    _percent("p60d", "Change 60d", "60d"),
    _percent("p3m", "Change 3 months", "3m"),
    _percent("p1y", "Change 1 year", "1y"),
    _percent("pytd", "Change year to date", "ytd"),
    _percent("pall", "Change all time", "all"),
    _percent("fdv24h", "Fully diluted value change 24h", "fdv24h"),
)

FIELD_KEYS: Final[tuple[str, ...]] = tuple(f.key for f in FIELDS)
#: The fields that are amounts of money (a price, a USD amount): converted to the user's currency.
CONVERTED_KEYS: Final[tuple[str, ...]] = tuple(
    f.key for f in FIELDS if f.kind in (FieldKind.PRICE, FieldKind.USD)
)
FIELDS_BY_KEY: Final[dict[str, Field]] = {f.key: f for f in FIELDS}


def price_precision(price: float) -> int:
    """Decimals that show a price usefully: cents above 1 USD, four significant digits below."""
    if price >= 1 or price <= 0:
        return 2
    digits = 0
    while price < 1 and digits < 12:
        price *= 10
        digits += 1
    return min(digits + 3, 12)
