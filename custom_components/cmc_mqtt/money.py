"""The user's currency and holdings, as this integration learns them from the bridge.

The bridge converts and values; this integration only shows what it publishes. What it needs
to know ahead of the values is which entities exist: the bridge's `bridge/info` says which
currency it converts to (`fx.currency`, present only when that is not USD) and what is held
(`portfolio`, from bridges that value holdings). The entry remembers that (`Money.to_entry`),
so the entities exist at start-up before the bridge has spoken, and follows it when it changes.

Like `fields.py`, this module imports nothing of Home Assistant or of this package: a test of
the bridge's suite loads it from its file and checks the tables below against the bridge's
(`cmc_mqtt/money.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

USD: Final = "USD"

#: The fields the bridge converts (`<prefix>/<id>/<key>_<cur>`), and how it rounds them: a
#: price to the currency's minor units (more digits below 1), a market amount to whole units.
AMOUNT_FIELDS: Final[dict[str, str]] = {"p": "price", "vu": "market", "mc": "market"}

#: ISO 4217 minor units where they are not 2 (the bridge's default, also for codes it does not
#: know): holdings and the portfolio are shown to them.
MINOR_UNITS: Final[dict[str, int]] = {
    "JPY": 0, "CLP": 0, "ISK": 0, "KRW": 0, "VND": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3,
}  # fmt: skip
PERCENT_PLACES: Final = 2
PERCENT_KEY: Final = "change_24h_pct"

_CODE: Final = re.compile(r"[A-Z][A-Z0-9]{1,9}")
#: Keys of `Money.to_entry` in the entry's data.
CURRENCY_KEY: Final = "currency"
PORTFOLIO_KEY: Final = "portfolio"


def minor_units(code: str) -> int:
    return MINOR_UNITS.get(code, 2)


def amount(value: object) -> Decimal | None:
    """An amount the bridge or a user wrote (a number, or its exact text) as a finite
    `Decimal`; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _code(value: object) -> str | None:
    return value if isinstance(value, str) and _CODE.fullmatch(value) else None


def held_coins(holdings: object) -> tuple[int, ...]:
    """The coin ids of `portfolio.holdings` (or a holdings answer) held in an amount above 0."""
    if not isinstance(holdings, Mapping):
        return ()
    held = set()
    for key, value in holdings.items():
        number = amount(value)
        if isinstance(key, str) and key.isdigit() and number is not None and number > 0:
            held.add(int(key))
    return tuple(sorted(held))


@dataclass(frozen=True, slots=True)
class Money:
    """What the bridge converts to and values, as far as entities depend on it.

    `currency`: the converted fields' currency; None when the bridge does not convert (USD, or
    a bridge older than conversion). `holding_currency`: the portfolio's currency (the same, or
    USD); None when the bridge does not value holdings. `held`: the coins held."""

    currency: str | None = None
    holding_currency: str | None = None
    held: tuple[int, ...] = ()

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> Money:
        fx = info.get("fx")
        currency = _code(fx.get("currency")) if isinstance(fx, Mapping) else None
        portfolio = info.get("portfolio")
        if not isinstance(portfolio, Mapping):
            return cls(currency if currency != USD else None)
        return cls(
            currency if currency != USD else None,
            _code(portfolio.get("currency")),
            held_coins(portfolio.get("holdings")),
        )

    @classmethod
    def from_entry(cls, data: Mapping[str, Any]) -> Money:
        portfolio = data.get(PORTFOLIO_KEY)
        if not isinstance(portfolio, Mapping):
            return cls(_code(data.get(CURRENCY_KEY)))
        held = portfolio.get("held")
        return cls(
            _code(data.get(CURRENCY_KEY)),
            _code(portfolio.get("currency")),
            tuple(sorted(c for c in held if isinstance(c, int))) if isinstance(held, list) else (),
        )

    def to_entry(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """`data` (the entry's) with this money in place of what it remembered."""
        out = {k: v for k, v in data.items() if k not in (CURRENCY_KEY, PORTFOLIO_KEY)}
        if self.currency is not None:
            out[CURRENCY_KEY] = self.currency
        if self.holding_currency is not None:
            out[PORTFOLIO_KEY] = {"currency": self.holding_currency, "held": list(self.held)}
        return out

    def converted_key(self, field: str) -> str | None:
        """`p_eur` for `p` in EUR: the topic level and key of a converted field."""
        if self.currency is None or field not in AMOUNT_FIELDS:
            return None
        return f"{field}_{self.currency.lower()}"

    def value_key(self) -> str | None:
        """`value_eur`: the topic level of a held coin's value and of the portfolio's total."""
        if self.holding_currency is None:
            return None
        return f"value_{self.holding_currency.lower()}"

    def change_key(self) -> str | None:
        if self.holding_currency is None:
            return None
        return f"change_24h_{self.holding_currency.lower()}"

    def coin_keys(self, coin_id: int, fields: Iterable[str]) -> list[str]:
        """The keys this money adds to a coin: its chosen money fields converted, its value
        while it is held."""
        keys = [key for field in fields if (key := self.converted_key(field)) is not None]
        value = self.value_key()
        if coin_id in self.held and value is not None:
            keys.append(value)
        return keys

    def portfolio_keys(self) -> list[str]:
        """The portfolio device's keys: its total, 24 h change and 24 h change in percent."""
        value, change = self.value_key(), self.change_key()
        if not self.held or value is None or change is None:
            return []
        return [value, change, PERCENT_KEY]

    def fx_status_topic(self, prefix: str) -> str | None:
        """The rate's status: `offline` while it is stale, and converted values with it."""
        if self.currency is None:
            return None
        return f"{prefix}/fx/{self.currency.lower()}/status"

    def amounts_status_filter(self, prefix: str) -> str | None:
        """`<prefix>/+/status_<cur>`: whether each coin's amounts in the currency (converted
        fields, its value) could be computed from its newest quote (`online`) or not."""
        code = self.holding_currency or self.currency
        return None if code is None else f"{prefix}/+/status_{code.lower()}"

    def value_needs_rate(self) -> bool:
        """Holdings valued in the converted currency go stale with the rate (as in the
        bridge's discovery: every amount in another currency than USD lists the rate)."""
        return self.currency is not None and self.holding_currency == self.currency


def text_places(value: Decimal) -> int:
    """The decimals of a number as the bridge wrote it (`74692.90` -> 2): it rounds a converted
    price for its currency and size before publishing, so its text says the precision."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
