"""The field table, as this integration needs it.

The integration must install by copying this folder, so it cannot import the bridge package;
this is its own copy of the bridge's table (`cmc_mqtt/fields.py`), and a test checks that the two
agree on every key, unit, state class, precision and default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # only then: the bridge's tests load this file on its own, outside its package
    from .names import CoinName

SYMBOL_UNIT: Final = "{symbol}"


@dataclass(frozen=True, slots=True)
class FieldInfo:
    key: str
    name: str
    unit: str
    precision: int | None  # None: decided from the price itself
    enabled_by_default: bool
    state_class: str = "measurement"


FIELDS: Final[tuple[FieldInfo, ...]] = (
    FieldInfo("p", "Price", "USD", None, True),
    FieldInfo("vu", "Volume 24h", "USD", 0, True),
    FieldInfo("mc", "Market cap", "USD", 0, True),
    FieldInfo("cs", "Circulating supply", SYMBOL_UNIT, 0, False),
    FieldInfo("p24h", "Change 24h", "%", 2, True),
    FieldInfo("p7d", "Change 7d", "%", 2, False),
    FieldInfo("p30d", "Change 30d", "%", 2, False),
    FieldInfo("p60d", "Change 60d", "%", 2, False),
    FieldInfo("p3m", "Change 3 months", "%", 2, False),
    FieldInfo("p1y", "Change 1 year", "%", 2, False),
    FieldInfo("pytd", "Change year to date", "%", 2, False),
    FieldInfo("pall", "Change all time", "%", 2, False),
    FieldInfo("fdv24h", "Fully diluted value change 24h", "%", 2, False),
)
FIELDS_BY_KEY: Final = {f.key: f for f in FIELDS}
DEFAULT_FIELDS: Final = [f.key for f in FIELDS if f.enabled_by_default]

#: Names of well-known coins (the stream carries only ids): id -> (name, symbol, slug).
KNOWN_COINS: Final[dict[int, tuple[str, str, str]]] = {
    1: ("Bitcoin", "BTC", "bitcoin"),
    1027: ("Ethereum", "ETH", "ethereum"),
    825: ("Tether USDt", "USDT", "tether"),
    52: ("XRP", "XRP", "xrp"),
    1839: ("BNB", "BNB", "bnb"),
    5426: ("Solana", "SOL", "solana"),
    3408: ("USDC", "USDC", "usd-coin"),
    74: ("Dogecoin", "DOGE", "dogecoin"),
    2010: ("Cardano", "ADA", "cardano"),
    6636: ("Polkadot", "DOT", "polkadot-new"),
}


def coin_label(coin_id: int, names: Mapping[int, CoinName] | None = None) -> str:
    """ "Bitcoin (BTC)": the bridge's name for the coin, else the bundled one, else its id."""
    if names and (named := names.get(coin_id)) is not None:
        return f"{named.name} ({named.symbol})"
    known = KNOWN_COINS.get(coin_id)
    return f"{known[0]} ({known[1]})" if known else f"CMC #{coin_id}"


def coin_symbol(coin_id: int, names: Mapping[int, CoinName] | None = None) -> str | None:
    if names and (named := names.get(coin_id)) is not None:
        return named.symbol
    known = KNOWN_COINS.get(coin_id)
    return known[1] if known else None


def coin_page(coin_id: int, names: Mapping[int, CoinName] | None = None) -> str | None:
    named = names.get(coin_id) if names else None
    known = KNOWN_COINS.get(coin_id)
    slug = (named.slug if named is not None else None) or (known[2] if known else None)
    return f"https://coinmarketcap.com/currencies/{slug}/" if slug else None


def price_precision(price: float) -> int:
    """Decimals that show a price usefully: cents above 1 USD, four significant digits below."""
    if price >= 1 or price <= 0:
        return 2
    digits = 0
    while price < 1 and digits < 12:
        price *= 10
        digits += 1
    return min(digits + 3, 12)
