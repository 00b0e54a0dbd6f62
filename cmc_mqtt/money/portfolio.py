"""What the user's coins are worth: per coin, in total, and how the total moved in 24 hours.

Holdings are `Decimal`s (`0.25` BTC is exactly that), prices come in as the stream's exact texts
and are converted with `money.convert`, so a value is an exact product rounded once. The 24 h
change comes from each coin's own `p24h`: the value a day ago was `value / (1 + p24h / 100)`.

A held coin without a price yet makes the total unavailable (`None`), never a smaller sum that
looks right; a coin without `p24h` leaves the total known but its 24 h change unavailable.
Coins held in zero amounts are ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ..model.topics import OFFLINE, ONLINE, Message, Topics
from .currency import (
    CONTEXT,
    AmountKind,
    Currency,
    amount_text,
    convert,
    quantize,
    round_amount,
    to_decimal,
)

_HUNDRED: Final = Decimal(100)
PERCENT_PLACES: Final = 2


@dataclass(frozen=True, slots=True)
class CoinWorth:
    """One holding valued: exact (unrounded) amounts in the chosen currency."""

    cid: int
    amount: Decimal  # coins held
    price: Decimal
    value: Decimal
    value_24h_ago: Decimal | None  # None without p24h (or at -100 %)


@dataclass(frozen=True, slots=True)
class PortfolioTotal:
    """The whole portfolio; `value` None while a held coin has no price (see `missing`) or
    could not be valued (see `failed`)."""

    value: Decimal | None
    change_24h: Decimal | None
    change_24h_pct: Decimal | None
    coins: tuple[CoinWorth, ...]
    missing: tuple[int, ...]
    #: Held coins whose value could not be computed (an amount beyond every bound): each is
    #: unavailable alone, and the total with them.
    failed: tuple[int, ...] = ()


def value_24h_ago(value: Decimal, p24h: Decimal | None) -> Decimal | None:
    """What `value` was worth 24 h ago, if the change says; None at -100 % or below."""
    if p24h is None:
        return None
    factor = CONTEXT.add(Decimal(1), CONTEXT.divide(p24h, _HUNDRED))
    if factor <= 0:
        return None
    return CONTEXT.divide(value, factor)


def coin_worth(cid: int, amount: Decimal, price: Decimal, p24h: Decimal | None) -> CoinWorth:
    value = CONTEXT.multiply(amount, price)
    return CoinWorth(cid, amount, price, value, value_24h_ago(value, p24h))


def total(
    holdings: Mapping[int, Decimal],
    prices: Mapping[int, Decimal],
    changes: Mapping[int, Decimal],
    *,
    failed: tuple[int, ...] = (),
) -> PortfolioTotal:
    """Value every non-zero holding with `prices` (in the chosen currency) and `changes`
    (p24h in percent); the sum only when every one of them has a price and a value. A coin
    whose value cannot be computed (`ArithmeticError`) joins `failed` (those given already
    failed before: their price could not be converted); the others are still valued."""
    coins: list[CoinWorth] = []
    missing: list[int] = []
    broken = list(failed)
    for cid, amount in sorted(holdings.items()):
        if amount == 0 or cid in failed:
            continue
        price = prices.get(cid)
        if price is None:
            missing.append(cid)
            continue
        try:
            coins.append(coin_worth(cid, amount, price, changes.get(cid)))
        except ArithmeticError:
            broken.append(cid)
    if missing or broken:
        return PortfolioTotal(None, None, None, tuple(coins), tuple(missing), tuple(broken))
    try:
        return _summed(tuple(coins))
    except ArithmeticError:
        return PortfolioTotal(None, None, None, tuple(coins), (), tuple(c.cid for c in coins))


def _summed(coins: tuple[CoinWorth, ...]) -> PortfolioTotal:
    value = _sum(c.value for c in coins)
    agos = [c.value_24h_ago for c in coins]
    if any(ago is None for ago in agos):
        return PortfolioTotal(value, None, None, coins, ())
    before = _sum(ago for ago in agos if ago is not None)
    change = CONTEXT.subtract(value, before)
    pct = CONTEXT.divide(CONTEXT.multiply(change, _HUNDRED), before) if before else None
    return PortfolioTotal(value, change, pct, coins, ())


def _sum(values: Iterable[Decimal]) -> Decimal:
    """An exact sum: the default context would round it to 28 digits."""
    result = Decimal(0)
    for value in values:
        result = CONTEXT.add(result, value)
    return result


class Holdings:
    """Coins held, by id; changed at run time by requests, read by whoever values them."""

    def __init__(self, holdings: Mapping[int, Decimal] | None = None) -> None:
        self._lock = threading.Lock()
        self._held = {cid: a for cid, a in (holdings or {}).items() if a != 0}

    def replace(self, holdings: Mapping[int, Decimal]) -> None:
        """Hold exactly `holdings` from now on (zeros dropped)."""
        with self._lock:
            self._held = {cid: a for cid, a in holdings.items() if a != 0}

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._held)

    def snapshot(self) -> dict[int, Decimal]:
        with self._lock:
            return dict(self._held)


# --- topics and payloads ---


def percent_text(value: Decimal) -> str:
    return amount_text(quantize(value, PERCENT_PLACES))


def portfolio_messages(
    topics: Topics, result: PortfolioTotal | None, currency: Currency
) -> list[Message]:
    """Retained messages for the total (None: no fresh rate). While the total is unknown only
    `status` says `offline`: the last good value stays retained and Home Assistant shows the
    sensors unavailable."""
    offline = [(topics.portfolio("status"), OFFLINE)]
    if result is None or result.value is None:
        return offline
    try:
        return _portfolio_messages(topics, result, result.value, currency)
    except ArithmeticError:  # an amount no rounding can hold: unknown, not frozen
        return offline


def _portfolio_messages(
    topics: Topics, result: PortfolioTotal, total_value: Decimal, currency: Currency
) -> list[Message]:
    out: list[Message] = []
    code = currency.code
    value = amount_text(round_amount(total_value, currency, AmountKind.HOLDING))
    out.append((topics.portfolio_value(code), value))
    change = pct = "null"
    if result.change_24h is not None:
        change = amount_text(round_amount(result.change_24h, currency, AmountKind.HOLDING))
        out.append((topics.portfolio_change(code), change))
    if result.change_24h_pct is not None:
        pct = percent_text(result.change_24h_pct)
        out.append((topics.portfolio("change_24h_pct"), pct))
    coins = ",".join(
        f'"{c.cid}":{amount_text(round_amount(c.value, currency, AmountKind.HOLDING))}'
        for c in result.coins
    )
    out.append(
        (
            topics.portfolio("json"),
            f'{{"currency":"{code}","value":{value},"change_24h":{change},'
            f'"change_24h_pct":{pct},"coins":{{{coins}}}}}',
        )
    )
    out.append((topics.portfolio("status"), ONLINE))
    return out


def coin_value_messages(
    topics: Topics,
    result: PortfolioTotal,
    currency: Currency,
    *,
    unconverted: Collection[int] = (),
) -> list[Message]:
    """`<prefix>/<id>/value_<cur>` for every held coin that has a price, and each held coin's
    `status_<cur>`: `offline` for one that could not be valued, or whose converted fields
    could not be computed (`unconverted`)."""
    out: list[Message] = []
    failed = list(result.failed)
    for coin in result.coins:
        try:
            value = amount_text(round_amount(coin.value, currency, AmountKind.HOLDING))
        except ArithmeticError:
            failed.append(coin.cid)
            continue
        code = currency.code
        out.append((topics.coin_value(coin.cid, code), value))
        status = OFFLINE if coin.cid in unconverted else ONLINE
        out.append((topics.amounts_status(coin.cid, code), status))
    out.extend((topics.amounts_status(cid, currency.code), OFFLINE) for cid in failed)
    return out


def value_from_texts(
    holdings: Mapping[int, Decimal],
    texts: Mapping[int, Mapping[str, str]],
    rate: Decimal | None,
) -> PortfolioTotal | None:
    """The total from the stream's exact USD texts (`{"p": ..., "p24h": ...}` per coin) and
    the rate (1 for USD); None without a usable rate. A coin whose texts cannot be converted
    is `failed`, alone."""
    if rate is None:
        return None
    prices: dict[int, Decimal] = {}
    changes: dict[int, Decimal] = {}
    failed: list[int] = []
    for cid in holdings:
        coin = texts.get(cid) or {}
        try:
            if coin.get("p") is not None:
                prices[cid] = convert(coin["p"], rate)
            if coin.get("p24h") is not None:
                changes[cid] = to_decimal(coin["p24h"])
        except (ArithmeticError, ValueError):
            failed.append(cid)
    return total(holdings, prices, changes, failed=tuple(failed))
