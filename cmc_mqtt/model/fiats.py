"""CoinMarketCap's fiat currencies that the bridge knows without asking: one table, read by the
bridge when `/v1/fiat/map` cannot be fetched and served by the simulator as that map.

CoinMarketCap gives the ids, so only those seen in its documentation or in clients of it are
marked `verified` (USD, AUD, BRL, EUR, GBP). The others are inferred from the ids running
alphabetically by ISO code from AUD (2782), which the verified ones fit: the bridge never sends
an unverified id, only its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Fiat:
    id: int
    code: str  # ISO 4217; CoinMarketCap's maps call it `symbol`
    name: str
    sign: str
    #: The id came from CoinMarketCap (its map, or its documentation), so it may be sent.
    verified: bool


USD_ID: Final = 2781

#: By ISO code, like `BUNDLED_COINS`: a code the bridge is configured with is looked up here.
BUNDLED_FIATS: Final[dict[str, Fiat]] = {
    f.code: f
    for f in (
        Fiat(USD_ID, "USD", "United States Dollar", "$", verified=True),
        Fiat(2782, "AUD", "Australian Dollar", "$", verified=True),
        Fiat(2783, "BRL", "Brazilian Real", "R$", verified=True),
        Fiat(2784, "CAD", "Canadian Dollar", "$", verified=False),
        Fiat(2785, "CHF", "Swiss Franc", "Fr", verified=False),
        Fiat(2787, "CNY", "Chinese Yuan", "¥", verified=False),
        Fiat(2789, "DKK", "Danish Krone", "kr", verified=False),
        Fiat(2790, "EUR", "Euro", "€", verified=True),
        Fiat(2791, "GBP", "Pound Sterling", "£", verified=True),
        Fiat(2792, "HKD", "Hong Kong Dollar", "$", verified=False),
        Fiat(2796, "INR", "Indian Rupee", "₹", verified=False),
        Fiat(2797, "JPY", "Japanese Yen", "¥", verified=False),
        Fiat(2798, "KRW", "South Korean Won", "₩", verified=False),
        Fiat(2801, "NOK", "Norwegian Krone", "kr", verified=False),
        Fiat(2802, "NZD", "New Zealand Dollar", "$", verified=False),
        Fiat(2805, "PLN", "Polish Złoty", "zł", verified=False),
        Fiat(2807, "SEK", "Swedish Krona", "kr", verified=False),
        Fiat(2808, "SGD", "Singapore Dollar", "S$", verified=False),
    )
}
