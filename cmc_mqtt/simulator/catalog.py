"""What the fake's REST endpoints list: its coins (`/v1/cryptocurrency/map`) and fiat currencies
(`/v1/fiat/map`), with exchange rates tests may change while it runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Final

from ..model.coins import BUNDLED_COINS, CoinInfo
from ..model.fiats import BUNDLED_FIATS
from .market import Market

#: Ids listed when the server quotes every id: the bundled coins and 1..this.
LISTED_IDS: Final = 10_000


@dataclass(frozen=True, slots=True)
class FiatListing:
    """One entry of `/v1/fiat/map` as CoinMarketCap serves it: whether the bridge trusts the id
    is the bridge's knowledge, not the map's, so it is not here."""

    id: int
    name: str
    sign: str
    symbol: str


#: What `/v1/fiat/map` lists, by id: the bridge's bundled table, nothing CoinMarketCap would
#: not serve.
FIATS: Final = tuple(
    FiatListing(f.id, f.name, f.sign, f.code)
    for f in sorted(BUNDLED_FIATS.values(), key=lambda f: f.id)
)
FIAT_BY_ID: Final = {f.id: f for f in FIATS}
FIAT_BY_SYMBOL: Final = {f.symbol: f for f in FIATS}

#: Units of each currency one US dollar buys; plausible, not live. A copy is each server's
#: `fiat_rates`, which tests change while it runs.
DEFAULT_FIAT_RATES: Final = {
    "USD": 1.0, "AUD": 1.52, "BRL": 5.1, "CAD": 1.37, "CHF": 0.89, "CNY": 7.2, "DKK": 6.9,
    "EUR": 0.92, "GBP": 0.79, "HKD": 7.8, "INR": 83.5, "JPY": 155.0, "KRW": 1370.0,
    "NOK": 10.8, "NZD": 1.66, "PLN": 3.95, "SEK": 10.6, "SGD": 1.35,
}  # fmt: skip


def coin_listing(cid: int) -> CoinInfo:
    """The bundled coins by their real names; any other id as a made-up but well-formed coin."""
    known = BUNDLED_COINS.get(cid)
    if known is not None:
        return known
    return CoinInfo(cid, f"Simulated Coin {cid}", f"SIM{cid}", f"simulated-coin-{cid}")


def listed_ids(coins: frozenset[int] | None) -> list[int]:
    """Every id the fake's map lists, sorted: the server's coins, or the bundled ones and
    1..LISTED_IDS when it quotes any id."""
    if coins is not None:
        return sorted(coins)
    return sorted(set(BUNDLED_COINS) | set(range(1, LISTED_IDS + 1)))


def map_entry(cid: int, market: Market) -> dict[str, Any]:
    coin = coin_listing(cid)
    return {
        "id": cid,
        "rank": market.rank(cid),
        "name": coin.name,
        "symbol": coin.symbol,
        "slug": coin.slug,
        "is_active": 1,
        "platform": None,
    }


def fiat_entry(fiat: FiatListing) -> dict[str, Any]:
    return asdict(fiat)


def coins_with_symbol(symbol: str, ids: Iterable[int]) -> list[int]:
    return [cid for cid in ids if coin_listing(cid).symbol == symbol]
