"""Names for coin ids: the stream only carries numeric ids, people want "Bitcoin (BTC)"."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, Final, TypeGuard

#: CoinMarketCap's ids are positive 32-bit integers: anything else is no coin id.
MAX_COIN_ID: Final = 2**31 - 1
#: The longest name, symbol and slug shown (the configuration allows the same).
MAX_NAME: Final = 64
MAX_SYMBOL: Final = 16
MAX_SLUG: Final = 64
#: Unicode's control (Cc), format (Cf), line and paragraph separator (Zl, Zp) characters, and
#: lone surrogates (Cs, which no payload can encode): invisible or layout-changing (U+202E
#: turns the text after it around), so never shown.
HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def is_coin_id(value: Any) -> TypeGuard[int]:
    """An exact integer in 1..`MAX_COIN_ID` (a bool is no id, though Python calls it an int)."""
    return type(value) is int and 0 < value <= MAX_COIN_ID


def clean_text(value: Any, limit: int) -> str | None:
    """Text from outside made safe to show: no hidden characters, no surrounding space, at most
    `limit` characters; None when nothing is left or it is not text."""
    if not isinstance(value, str):
        return None
    # The common case, asked for every ticker text: already clean. After `isprintable` the
    # only whitespace left is the ASCII space (every other kind is not printable).
    if len(value) <= limit and value.isprintable() and value[:1] != " " and value[-1:] != " ":
        return value or None
    if not value.isprintable():  # a space is printable; every hidden character is not
        value = "".join(c for c in value if unicodedata.category(c) not in HIDDEN_CATEGORIES)
    text = value.strip()[:limit].strip()
    return text or None


@dataclass(frozen=True, slots=True)
class CoinInfo:
    """A coin's names. Every name is cleaned here, whatever its source (CoinMarketCap's map,
    the cache file, the bundled table, the configuration): nothing hidden reaches a payload."""

    id: int
    name: str
    symbol: str
    slug: str | None = None
    #: CoinMarketCap's rank when the REST map told it: the top 500 are pushed every 5 s, the
    #: rest every 15 s, which is what a coin costs in credits.
    rank: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        name = clean_text(self.name, MAX_NAME) or f"CMC #{self.id}"
        symbol = clean_text(self.symbol, MAX_SYMBOL) or f"#{self.id}"
        slug = clean_text(self.slug, MAX_SLUG)
        if (name, symbol, slug) != (self.name, self.symbol, self.slug):
            object.__setattr__(self, "name", name)
            object.__setattr__(self, "symbol", symbol)
            object.__setattr__(self, "slug", slug)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.symbol})"


#: Well-known coins, so names work with no API call. Symbols are not unique; ids are.
BUNDLED_COINS: Final[dict[int, CoinInfo]] = {
    c.id: c
    for c in (
        CoinInfo(1, "Bitcoin", "BTC", "bitcoin"),
        CoinInfo(1027, "Ethereum", "ETH", "ethereum"),
        CoinInfo(825, "Tether USDt", "USDT", "tether"),
        CoinInfo(52, "XRP", "XRP", "xrp"),
        CoinInfo(1839, "BNB", "BNB", "bnb"),
        CoinInfo(5426, "Solana", "SOL", "solana"),
        CoinInfo(3408, "USDC", "USDC", "usd-coin"),
        CoinInfo(74, "Dogecoin", "DOGE", "dogecoin"),
        CoinInfo(2010, "Cardano", "ADA", "cardano"),
        CoinInfo(6636, "Polkadot", "DOT", "polkadot-new"),
    )
}


def coin_info(coin_id: int, overrides: dict[int, CoinInfo] | None = None) -> CoinInfo:
    """Best known name for an id: config override, then bundled table, then "CMC #<id>"."""
    if overrides and coin_id in overrides:
        return overrides[coin_id]
    known = BUNDLED_COINS.get(coin_id)
    if known is not None:
        return known
    return unnamed(coin_id)


def unnamed(coin_id: int) -> CoinInfo:
    """What a coin is called while nothing better is known."""
    return CoinInfo(coin_id, f"CMC #{coin_id}", f"#{coin_id}")
