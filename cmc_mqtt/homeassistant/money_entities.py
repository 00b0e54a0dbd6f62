"""What the user's currency, holdings and alerts add to Home Assistant discovery.

Per coin: the price, volume and market cap in the chosen currency (their own topics, `p_eur`),
a "Value" sensor for a held coin, and an MQTT `event` entity for its alerts. Beside the coins:
a "Portfolio" device with the total and its 24 h change. `discovery.py` puts these configs into
the coin's (and the portfolio's) messages in either discovery mode.

Amounts are `device_class: monetary`, which Home Assistant allows with `state_class: total`
only (any other state class is logged as impossible and drops long-term statistics); the
percentage stays a `measurement`. Amount names carry the currency code, as their topics and
unique ids do, so a changed currency is a new entity rather than statistics in mixed units.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Final

from ..model.coins import CoinInfo
from ..model.fields import FIELDS_BY_KEY
from ..model.topics import Topics
from ..money.alerts import EVENT_TYPES
from ..money.currency import FIELD_AMOUNTS, AmountKind, Currency, converted_key, decimals
from ..money.portfolio import PERCENT_PLACES
from .context import DiscoveryContext, MoneyDiscovery
from .entity_ids import entity_id

PORTFOLIO: Final = "portfolio"
ALERT: Final = "alert"
MONETARY: Final = "monetary"
#: The only state class Home Assistant allows for `device_class: monetary`.
MONETARY_STATE_CLASS: Final = "total"


#: (platform, key, config) of one entity; the caller adds device, origin and the topic.
Entry = tuple[str, str, dict[str, Any]]


def value_key(currency: Currency) -> str:
    """The level of `<prefix>/<id>/value_<cur>`, the key of the coin's "Value" entity."""
    return Topics.amount_level("value", currency.code)


def extra_keys(money: MoneyDiscovery, fields: tuple[str, ...], cid: int) -> list[tuple[str, str]]:
    """(platform, key) of each entity `money` adds to coin `cid`: converted amounts of the
    money fields among `fields`, its value if held, its alert event."""
    keys: list[tuple[str, str]] = []
    if money.converts and money.currency is not None:
        keys += [("sensor", converted_key(k, money.currency)) for k in fields if k in FIELD_AMOUNTS]
    if cid in money.held:
        keys.append(("sensor", value_key(money.holding_currency)))
    if money.alerts:
        keys.append(("event", ALERT))
    return keys


def _entity_id(ctx: DiscoveryContext, platform: str, label: str, name: str) -> str:
    return entity_id(ctx.ha.node_id, platform, label, name)


def _availability(*topics: str) -> dict[str, Any]:
    return {"availability": [{"topic": t} for t in topics], "availability_mode": "all"}


def price_decimals(price: float | None, money: MoneyDiscovery, currency: Currency) -> int:
    """Decimals of the converted price as `money` rounds it: from the USD price times the rate
    (1 while the rate is unknown); the currency's minor units without a usable price."""
    if price is None or not math.isfinite(price):
        return currency.minor_units
    value = Decimal(repr(price)) * (money.rate if money.rate is not None else 1)
    return decimals(value, currency, AmountKind.PRICE)


def coin_extras(
    ctx: DiscoveryContext, coin: CoinInfo, price: float | None, money: MoneyDiscovery
) -> list[Entry]:
    """The configs of the entities `money` adds to one coin (see `extra_keys`). Converted
    amounts and the value are unavailable while the bridge, the coin or the rate is not live,
    or while this coin's amounts cannot be computed (`<prefix>/<id>/status_<cur>`)."""
    base = ctx.topics.coin_base(coin.id)
    status = ctx.topics.status
    coin_status = ctx.topics.coin(coin.id)["status"]
    out: list[Entry] = []
    currency = money.holding_currency
    code = currency.code
    live = [status, coin_status] + ([ctx.topics.fx_status(code)] if money.converts else [])
    live.append(ctx.topics.amounts_status(coin.id, code))
    for platform, key in extra_keys(money, ctx.ha.fields, coin.id):
        config: dict[str, Any] = {"unique_id": f"{ctx.ha.node_id}_{coin.id}_{key}"}
        if platform == "event":
            config |= {
                "name": "Alert",
                "default_entity_id": _entity_id(ctx, "event", coin.label, "Alert"),
                "state_topic": ctx.topics.coin_alert(coin.id),
                "event_types": list(EVENT_TYPES),
                "icon": "mdi:bell-ring",
                **_availability(status),
            }
        elif key == value_key(currency):
            config |= {
                "name": f"Value {code}",
                "default_entity_id": _entity_id(ctx, "sensor", coin.label, f"Value {code}"),
                "state_topic": base + key,
                "unit_of_measurement": code,
                "device_class": MONETARY,
                "state_class": MONETARY_STATE_CLASS,
                "suggested_display_precision": currency.minor_units,
                "icon": "mdi:wallet",
                **_availability(*live),
            }
        else:
            field = FIELDS_BY_KEY[key.rsplit("_", 1)[0]]
            precision = (
                price_decimals(price, money, currency)
                if FIELD_AMOUNTS[field.key] is AmountKind.PRICE
                else 0
            )
            name = f"{field.name} {code}"
            config |= {
                "name": name,
                "default_entity_id": _entity_id(ctx, "sensor", coin.label, name),
                "state_topic": base + key,
                "unit_of_measurement": code,
                "device_class": MONETARY,
                "state_class": MONETARY_STATE_CLASS,
                "suggested_display_precision": precision,
                "enabled_by_default": field.key in ctx.ha.enabled_fields,
                **_availability(*live),
            }
        out.append((platform, key, config))
    return out


def _level(topic: str) -> str:
    """A topic's last level: a portfolio entity's key is the level its value is published on."""
    return topic.rpartition("/")[2]


def portfolio_entities(
    ctx: DiscoveryContext, money: MoneyDiscovery
) -> list[tuple[str, dict[str, Any]]]:
    """(key, config) of the "Portfolio" device's sensors; none while nothing is held. They are
    unavailable while the bridge is offline or the total cannot be known (`portfolio/status`)."""
    if not money.held:
        return []
    currency = money.holding_currency
    code = currency.code
    topics = ctx.topics
    live = _availability(topics.status, topics.portfolio("status"))
    amount = {
        "unit_of_measurement": code,
        "device_class": MONETARY,
        "state_class": MONETARY_STATE_CLASS,
        "suggested_display_precision": currency.minor_units,
    }
    value, change = topics.portfolio_value(code), topics.portfolio_change(code)
    rows: list[tuple[str, str, str, dict[str, Any]]] = [
        (_level(value), f"Value {code}", value,
         amount | {"icon": "mdi:wallet", "json_attributes_topic": topics.portfolio("json")}),
        (_level(change), f"Change 24h {code}", change, amount | {"icon": "mdi:chart-line"}),
        ("change_24h_pct", "Change 24h", topics.portfolio("change_24h_pct"),
         {"unit_of_measurement": "%", "state_class": "measurement",
          "suggested_display_precision": PERCENT_PLACES, "icon": "mdi:chart-line"}),
    ]  # fmt: skip
    node = ctx.ha.node_id
    return [
        (key, {
            "name": name,
            "unique_id": f"{node}_{PORTFOLIO}_{key}",
            "default_entity_id": _entity_id(ctx, "sensor", "Portfolio", name),
            "state_topic": topic,
            **extra,
            **live,
        })
        for key, name, topic, extra in rows
    ]  # fmt: skip
