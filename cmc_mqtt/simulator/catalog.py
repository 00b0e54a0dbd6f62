"""What the fake's REST endpoints list: its coins (`/v1/cryptocurrency/map`) and fiat currencies
(`/v1/fiat/map`), with exchange rates tests may change while it runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from ..model.coins import BUNDLED_COINS, CoinInfo
from .market import Market

#: Ids listed when the server quotes every id: the bundled coins and 1..this.
LISTED_IDS: Final = 10_000


@dataclass(frozen=True, slots=True)
class Fiat:
    id: int
    name: str
    sign: str
    symbol: str


#: CoinMarketCap's fiat ids. Seen in CoinMarketCap's documentation or in clients of it: USD 2781,
#: AUD 2782, BRL 2783, EUR 2790, GBP 2791. The others are UNVERIFIED: inferred from the ids
#: running alphabetically by ISO code from AUD (2782) to ZAR, which the verified ones fit.
FIATS: Final = (
    Fiat(2781, "United States Dollar", "$", "USD"),
    Fiat(2782, "Australian Dollar", "$", "AUD"),
    Fiat(2783, "Brazilian Real", "R$", "BRL"),
    Fiat(2784, "Canadian Dollar", "$", "CAD"),  # unverified
    Fiat(2785, "Swiss Franc", "Fr", "CHF"),  # unverified
    Fiat(2787, "Chinese Yuan", "¥", "CNY"),  # unverified
    Fiat(2789, "Danish Krone", "kr", "DKK"),  # unverified
    Fiat(2790, "Euro", "€", "EUR"),
    Fiat(2791, "Pound Sterling", "£", "GBP"),
    Fiat(2792, "Hong Kong Dollar", "$", "HKD"),  # unverified
    Fiat(2796, "Indian Rupee", "₹", "INR"),  # unverified
    Fiat(2797, "Japanese Yen", "¥", "JPY"),  # unverified
    Fiat(2798, "South Korean Won", "₩", "KRW"),  # unverified
    Fiat(2801, "Norwegian Krone", "kr", "NOK"),  # unverified
    Fiat(2802, "New Zealand Dollar", "$", "NZD"),  # unverified
    Fiat(2805, "Polish Złoty", "zł", "PLN"),  # unverified
    Fiat(2807, "Swedish Krona", "kr", "SEK"),  # unverified
    Fiat(2808, "Singapore Dollar", "S$", "SGD"),  # unverified
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


def fiat_entry(fiat: Fiat) -> dict[str, Any]:
    return {"id": fiat.id, "name": fiat.name, "sign": fiat.sign, "symbol": fiat.symbol}


def coins_with_symbol(symbol: str, ids: Iterable[int]) -> list[int]:
    return [cid for cid in ids if coin_listing(cid).symbol == symbol]
