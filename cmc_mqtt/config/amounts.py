"""The amounts of a configuration: the currency and its rate, credits, holdings and alert levels,
each within `model.bounds`' range and precision, refused rather than rounded.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..errors import ConfigError
from ..model import bounds
from ..money.alerts import AlertRule, parse_rules
from ..money.rate import RATE_DIGITS, FxSettings, default_max_age, parse_rate
from .problems import collect, key_of
from .settings import CreditSettings


def fx_settings(cmc: Mapping[str, Any], problems: list[str]) -> FxSettings:
    """`currency` and the `fx_*` keys, with what only makes sense together checked."""
    defaults = FxSettings()
    source = cmc.get("fx_source", defaults.source)
    currency = cmc.get("currency", defaults.currency)
    interval = float(cmc.get("fx_interval", defaults.interval))
    rate = None
    if "fx_rate" in cmc:
        rate = collect(lambda: _fx_rate(cmc["fx_rate"], "cmc.fx_rate"), problems, None)
    converts = currency != "USD"
    if converts and source == "mqtt" and "fx_topic" not in cmc:
        problems.append('cmc.fx_topic: required with fx_source = "mqtt"')
    if converts and source == "fixed" and "fx_rate" not in cmc:
        problems.append('cmc.fx_rate: required with fx_source = "fixed"')
    max_age = float(cmc["fx_max_age"]) if "fx_max_age" in cmc else None
    if converts and source == "coinmarketcap" and max_age is not None and max_age <= interval:
        problems.append(
            f"cmc.fx_max_age: must be more than fx_interval ({interval:g} s), or every rate "
            "would go stale before the next one comes"
        )
    if converts and source == "fixed" and max_age is not None:
        problems.append("cmc.fx_max_age: a fixed rate never goes stale; remove it")
    if max_age is None and converts:
        max_age = default_max_age(source, interval)
    return FxSettings(
        currency=currency,
        source=source,
        interval=interval,
        max_age=max_age,
        topic=cmc.get("fx_topic"),
        topic_key=cmc.get("fx_topic_key", defaults.topic_key),
        inverted=cmc.get("fx_inverted", defaults.inverted),
        rate=rate,
    )


def _fx_rate(value: object, key: str) -> Decimal:
    """A fixed rate within `bounds.MIN_RATE`..`MAX_RATE` with at most `RATE_DIGITS`
    significant digits: refused beyond that, not rounded (the user wrote more than is used)."""
    problem = (
        f"{key}: expected units of the currency per US dollar, from "
        f"{bounds.MIN_RATE:f} up to {bounds.written(bounds.MAX_RATE)}, "
        f"at most {RATE_DIGITS} significant digits, got {bounds.shown(value)}"
    )
    places = RATE_DIGITS - bounds.MIN_RATE.adjusted() - 1
    try:
        number = bounds.parse_amount(value, key, maximum=bounds.MAX_RATE, places=places)
    except ConfigError as exc:
        raise ConfigError([problem]) from exc
    if number < bounds.MIN_RATE or len(number.normalize().as_tuple().digits) > RATE_DIGITS:
        raise ConfigError([problem])
    return parse_rate(number)


def _amount(value: object, key: str, problems: list[str], fallback: Any, **bound: Any) -> Any:
    """`bounds.parse_amount(value, key, **bound)`, or its problem added and `fallback`."""
    return collect(functools.partial(bounds.parse_amount, value, key, **bound), problems, fallback)


def credit_settings(cmc: Mapping[str, Any], problems: list[str]) -> CreditSettings:
    """What the stream costs and the month's budget, each within `bounds`' range and places."""
    defaults = CreditSettings()

    def amount(name: str, maximum: Decimal, fallback: float, *, positive: bool = False) -> float:
        if name not in cmc:
            return fallback
        found = _amount(
            cmc[name],
            f"cmc.{name}",
            problems,
            Decimal(0),
            maximum=maximum,
            places=bounds.CREDIT_PLACES,
            positive=positive,
            what="a number of credits",
        )
        return float(found)

    budget = amount("monthly_credit_budget", bounds.MAX_CREDIT_BUDGET, 0.0, positive=True)
    return CreditSettings(
        per_message=amount("credits_per_message", bounds.MAX_CREDIT_COST, defaults.per_message),
        per_subscription=amount(
            "credits_per_subscription", bounds.MAX_CREDIT_COST, defaults.per_subscription
        ),
        monthly_budget=budget if "monthly_credit_budget" in cmc else None,
        on_budget=cmc.get("on_budget", defaults.on_budget),
        key_info_interval=float(cmc.get("key_info_interval", defaults.key_info_interval)),
    )


def holdings_of(coins: Mapping[str, Mapping[str, Any]], problems: list[str]) -> dict[int, Decimal]:
    held: dict[int, Decimal] = {}
    for key, values in coins.items():
        if "holdings" in values:
            amount = _amount(
                values["holdings"],
                f"coins.{key}.holdings",
                problems,
                None,
                maximum=bounds.MAX_HOLDING,
                places=bounds.HOLDING_PLACES,
                what="a number of coins",
            )
            if amount:
                held[int(key)] = amount
    return held


def alert_rules(tables: list[dict[str, Any]], problems: list[str]) -> tuple[AlertRule, ...]:
    """`[[alerts]]` as rules: each level and hysteresis within its bounds first (a price level
    and its hysteresis in currency units, a change level and its hysteresis in percent), then
    `alerts.parse_rules` for what makes a rule; a key refused here is not refused twice."""
    mine: list[str] = []
    for index, table in enumerate(tables):
        kind = "change" if "change" in table and "price" not in table else "price"
        maximum = bounds.MAX_PRICE_LEVEL if kind == "price" else bounds.MAX_CHANGE_LEVEL
        for name, positive in (("price", True), ("change", False), ("hysteresis", False)):
            if name not in table:
                continue
            top = bounds.MAX_CHANGE_LEVEL if name == "change" else maximum
            _amount(
                table[name],
                f"alerts[{index}].{name}",
                mine,
                None,
                maximum=top,
                places=bounds.LEVEL_PLACES,
                positive=positive,
                what="a percent" if name == "change" or kind == "change" else "a price",
            )
    theirs: list[str] = []
    rules = collect(lambda: parse_rules(tables), theirs, ())
    said = {key_of(line) for line in mine}
    problems.extend([*mine, *(line for line in theirs if key_of(line) not in said)])
    return rules if not mine else ()
