"""Names for coin ids: the stream only carries numeric ids, people want "Bitcoin (BTC)"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True, slots=True)
class CoinInfo:
    id: int
    name: str
    symbol: str
    slug: str | None = None
    #: CoinMarketCap's rank when the REST map told it: the top 500 are pushed every 5 s, the
    #: rest every 15 s, which is what a coin costs in credits.
    rank: int | None = field(default=None, compare=False)

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
