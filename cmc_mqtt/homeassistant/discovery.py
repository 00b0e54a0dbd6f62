"""Home Assistant MQTT discovery payloads: pure functions of (coin, field, settings).

No I/O here, so every payload can be checked by table tests and fed into a real Home Assistant.
Per-entity discovery is the default because it works on every Home Assistant version we test
(2024.3 onward) and on openHAB; device-based discovery (one message per coin) needs HA 2024.12.
Beside the coins there is one bridge device (`bridge_entities.py`), as zigbee2mqtt has.
What the user's currency, holdings and alerts add (converted amounts, a "Value" per held coin,
a "Portfolio" device, an alert event per coin) is described by `MoneyDiscovery`: see
`money_configs.py`, which builds those payloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final

from ..model.coins import CoinInfo
from ..model.fields import FIELDS_BY_KEY, SYMBOL_UNIT, Field, FieldKind, price_precision
from ..model.topics import Message
from .bridge_entities import BRIDGE_ENTITIES, BRIDGE_ENTITIES_BY_KEY, PRESS_PAYLOAD, BridgeEntity
from .context import DiscoveryContext, MoneyDiscovery, Owner
from .entity_ids import DEFAULT_NODE_ID, entity_id, slugify  # noqa: F401  (re-exported)
from .money_entities import PORTFOLIO, coin_extras, extra_keys, portfolio_entities

ORIGIN_URL: Final = "https://github.com/cmc-mqtt/cmc-mqtt"
COINMARKETCAP_PAGE: Final = "https://coinmarketcap.com/currencies/{slug}/"
BRIDGE: Final = "bridge"
BRIDGE_DEVICE_NAME: Final = "cmc-mqtt bridge"
#: Sent to a config topic of the other discovery mode before the new mode's configs: Home
#: Assistant (2025.1 and later) then keeps the entity for the config that takes it over.
MIGRATE_PAYLOAD: Final = '{"migrate_discovery":true}'


def _money(ctx: DiscoveryContext, money: MoneyDiscovery | None) -> MoneyDiscovery:
    return ctx.money() if money is None else money


def device_id(ctx: DiscoveryContext, coin_id: int) -> str:
    return f"{ctx.ha.node_id}_{coin_id}"


def unique_id(ctx: DiscoveryContext, coin_id: int, key: str) -> str:
    return f"{ctx.ha.node_id}_{coin_id}_{key}"


def entity_config_topic(
    ctx: DiscoveryContext, coin_id: int, key: str, platform: str = "sensor"
) -> str:
    return f"{ctx.ha.discovery_prefix}/{platform}/{ctx.ha.node_id}/{coin_id}_{key}/config"


def device_config_topic(ctx: DiscoveryContext, coin_id: int) -> str:
    return f"{ctx.ha.discovery_prefix}/device/{device_id(ctx, coin_id)}/config"


def default_entity_id(ctx: DiscoveryContext, coin: CoinInfo, field: Field) -> str:
    """See `entity_ids.entity_id`: the same id on every Home Assistant version."""
    return entity_id(ctx.ha.node_id, "sensor", coin.label, field.name)


def unit(coin: CoinInfo, field: Field) -> str:
    if field.unit != SYMBOL_UNIT:
        return field.unit
    return coin.symbol if not coin.symbol.startswith("#") else "coins"


def display_precision(field: Field, price: float | None) -> int:
    if field.precision is not None:
        return field.precision
    return price_precision(price) if price is not None else 2


def device_block(ctx: DiscoveryContext, coin: CoinInfo) -> dict[str, Any]:
    block: dict[str, Any] = {
        "identifiers": [device_id(ctx, coin.id)],
        "name": coin.label,
        "manufacturer": "CoinMarketCap",
        "model": "Cryptocurrency",
        "sw_version": ctx.version,
    }
    if coin.slug:
        block["configuration_url"] = COINMARKETCAP_PAGE.format(slug=coin.slug)
    return block


def origin_block(ctx: DiscoveryContext) -> dict[str, Any]:
    return {"name": "cmc-mqtt", "sw": ctx.version, "url": ORIGIN_URL}


def availability(ctx: DiscoveryContext, coin_id: int) -> dict[str, Any]:
    """Unavailable when the bridge is offline or this coin's data went stale."""
    return {
        "availability": [
            {"topic": ctx.topics.status},
            {"topic": ctx.topics.coin(coin_id)["status"]},
        ],
        "availability_mode": "all",
    }


def sensor_config(
    ctx: DiscoveryContext, coin: CoinInfo, field: Field, price: float | None
) -> dict[str, Any]:
    """The sensor part of a config: what is the same in both discovery modes."""
    topics = ctx.topics.coin(coin.id)
    config: dict[str, Any] = {
        "name": field.name,
        "unique_id": unique_id(ctx, coin.id, field.key),
        "default_entity_id": default_entity_id(ctx, coin, field),
        "state_topic": topics[field.key],
        "unit_of_measurement": unit(coin, field),
        "state_class": field.state_class,
        "suggested_display_precision": display_precision(field, price),
        "icon": field.icon,
        "enabled_by_default": field.key in ctx.ha.enabled_fields,
    }
    if field.kind is FieldKind.PRICE:
        config["json_attributes_topic"] = topics["json"]
    return config


def coin_messages(
    ctx: DiscoveryContext,
    coin: CoinInfo,
    price: float | None,
    *,
    money: MoneyDiscovery | None = None,
) -> list[Message]:
    """Every discovery message one coin needs, in the configured mode: its fields, and what
    `money` adds (converted amounts, its value if held, its alert event)."""
    fields = [FIELDS_BY_KEY[key] for key in ctx.ha.fields]
    entries = [("sensor", f.key, sensor_config(ctx, coin, f, price)) for f in fields]
    entries += coin_extras(ctx, coin, price, _money(ctx, money))
    if ctx.ha.discovery_mode == "device":
        components = {
            f"{coin.id}_{key}": {"platform": platform, **config}
            for platform, key, config in entries
        }
        payload = {
            "device": device_block(ctx, coin),
            "origin": origin_block(ctx),
            **availability(ctx, coin.id),
            "components": components,
        }
        return [(device_config_topic(ctx, coin.id), _dump(payload))]
    shared = {"device": device_block(ctx, coin), "origin": origin_block(ctx)}
    shared |= availability(ctx, coin.id)
    return [
        (entity_config_topic(ctx, coin.id, key, platform), _dump(shared | config))
        for platform, key, config in entries
    ]


def portfolio_device_id(ctx: DiscoveryContext) -> str:
    return f"{ctx.ha.node_id}_{PORTFOLIO}"


def portfolio_messages(
    ctx: DiscoveryContext, *, money: MoneyDiscovery | None = None
) -> list[Message]:
    """The "Portfolio" device's messages, in the configured mode; none while nothing is held."""
    entries = portfolio_entities(ctx, _money(ctx, money))
    if not entries:
        return []
    shared = {"device": portfolio_device_block(ctx), "origin": origin_block(ctx)}
    if ctx.ha.discovery_mode == "device":
        components = {f"{PORTFOLIO}_{key}": {"platform": "sensor", **config}
                      for key, config in entries}  # fmt: skip
        return [(portfolio_device_topic(ctx), _dump(shared | {"components": components}))]
    return [(portfolio_config_topic(ctx, key), _dump(shared | config)) for key, config in entries]


def portfolio_config_topic(ctx: DiscoveryContext, key: str) -> str:
    return f"{ctx.ha.discovery_prefix}/sensor/{ctx.ha.node_id}/{PORTFOLIO}_{key}/config"


def portfolio_device_topic(ctx: DiscoveryContext) -> str:
    return f"{ctx.ha.discovery_prefix}/device/{portfolio_device_id(ctx)}/config"


def portfolio_device_block(ctx: DiscoveryContext) -> dict[str, Any]:
    return {
        "identifiers": [portfolio_device_id(ctx)],
        "name": "Portfolio",
        "manufacturer": "cmc-mqtt",
        "model": "Portfolio",
        "sw_version": ctx.version,
    }


# --- the bridge device --------------------------------------------------------------------------


def bridge_device_id(ctx: DiscoveryContext) -> str:
    return f"{ctx.ha.node_id}_{BRIDGE}"


def bridge_unique_id(ctx: DiscoveryContext, key: str) -> str:
    return f"{ctx.ha.node_id}_{BRIDGE}_{key}"


def bridge_config_topic(ctx: DiscoveryContext, entity: BridgeEntity) -> str:
    prefix, node = ctx.ha.discovery_prefix, ctx.ha.node_id
    return f"{prefix}/{entity.platform}/{node}/{BRIDGE}_{entity.key}/config"


def bridge_device_topic(ctx: DiscoveryContext) -> str:
    return f"{ctx.ha.discovery_prefix}/device/{bridge_device_id(ctx)}/config"


def bridge_device_block(ctx: DiscoveryContext) -> dict[str, Any]:
    return {
        "identifiers": [bridge_device_id(ctx)],
        "name": BRIDGE_DEVICE_NAME,
        "manufacturer": "cmc-mqtt",
        "model": "CoinMarketCap stream bridge",
        "sw_version": ctx.version,
        "configuration_url": ORIGIN_URL,
    }


def source_topic(ctx: DiscoveryContext, entity: BridgeEntity) -> str:
    """The topic a bridge entity reads, or a button's request topic."""
    topics = ctx.topics
    if entity.source == "request":
        return topics.request(entity.path[0])
    return {"status": topics.status, "info": topics.info, "credits": topics.credits}[entity.source]


def value_template(entity: BridgeEntity) -> str:
    """The entity's value from its JSON source; `None` (unknown) where a part is null."""
    access = ["value_json"]
    for part in entity.path:
        access.append(f"{access[-1]}['{part}']")
    value = access[-1]
    if entity.count is not None:
        return f"{{{{ {value} | selectattr('{entity.count}') | list | count }}}}"
    if len(access) > 2:  # a nested value: its parents may be null
        guard = " and ".join(access[1:-1])
        return f"{{{{ {value} if {guard} else None }}}}"
    return f"{{{{ {value} }}}}"


def bridge_default_entity_id(ctx: DiscoveryContext, entity: BridgeEntity) -> str:
    return entity_id(ctx.ha.node_id, entity.platform, BRIDGE_DEVICE_NAME, entity.name)


def bridge_config(ctx: DiscoveryContext, entity: BridgeEntity) -> dict[str, Any]:
    """One bridge entity's config. No availability: the stream's state is what these entities
    report, and the buttons are most useful while the stream is down."""
    config: dict[str, Any] = {
        "name": entity.name,
        "unique_id": bridge_unique_id(ctx, entity.key),
        "default_entity_id": bridge_default_entity_id(ctx, entity),
        "entity_category": entity.category,
        "enabled_by_default": entity.enabled_by_default,
    }
    if entity.icon is not None:
        config["icon"] = entity.icon
    if entity.device_class is not None:
        config["device_class"] = entity.device_class
    topic = source_topic(ctx, entity)
    if entity.platform == "button":
        config |= {"command_topic": topic, "payload_press": PRESS_PAYLOAD}
    elif entity.source == "status":
        config |= {"state_topic": topic, "payload_on": "online", "payload_off": "offline"}
    else:
        config |= {"state_topic": topic, "value_template": value_template(entity)}
        if entity.platform == "binary_sensor":  # the template renders Python's True/False
            config |= {"payload_on": "True", "payload_off": "False"}
        if entity.unit is not None:
            config["unit_of_measurement"] = entity.unit
        if entity.state_class is not None:
            config["state_class"] = entity.state_class
        if entity.precision is not None:
            config["suggested_display_precision"] = entity.precision
    return config


def bridge_messages(ctx: DiscoveryContext) -> list[Message]:
    """The bridge device's discovery messages, in the configured mode."""
    shared = {"device": bridge_device_block(ctx), "origin": origin_block(ctx)}
    if ctx.ha.discovery_mode == "device":
        components = {
            f"{BRIDGE}_{e.key}": {"platform": e.platform, **bridge_config(ctx, e)}
            for e in BRIDGE_ENTITIES
        }
        return [(bridge_device_topic(ctx), _dump(shared | {"components": components}))]
    return [(bridge_config_topic(ctx, e), _dump(bridge_config(ctx, e) | shared))
            for e in BRIDGE_ENTITIES]  # fmt: skip


# --- what is ours, and what an earlier run left -------------------------------------------------


def wanted_topics(
    ctx: DiscoveryContext, coin_ids: tuple[int, ...], money: MoneyDiscovery | None = None
) -> set[str]:
    """Config topics this run publishes; every other config of ours is a ghost."""
    if not ctx.announcing:
        return set()
    money = _money(ctx, money)
    portfolio = bool(portfolio_entities(ctx, money))
    if ctx.ha.discovery_mode == "device":
        wanted = {device_config_topic(ctx, cid) for cid in coin_ids} | {bridge_device_topic(ctx)}
        return wanted | ({portfolio_device_topic(ctx)} if portfolio else set())
    coins = {entity_config_topic(ctx, cid, key) for cid in coin_ids for key in ctx.ha.fields}
    for cid in coin_ids:
        extras = extra_keys(money, ctx.ha.fields, cid)
        coins |= {entity_config_topic(ctx, cid, key, platform) for platform, key in extras}
    coins |= {portfolio_config_topic(ctx, key) for key, _ in portfolio_entities(ctx, money)}
    return coins | {bridge_config_topic(ctx, e) for e in BRIDGE_ENTITIES}


def subscription_patterns(ctx: DiscoveryContext) -> list[str]:
    """Where configs of ours from earlier runs can be, in either mode, on any platform."""
    prefix, node = ctx.ha.discovery_prefix, ctx.ha.node_id
    return [f"{prefix}/+/{node}/+/config", f"{prefix}/device/+/config"]


def config_owner(ctx: DiscoveryContext, topic: str) -> tuple[Owner, str | None] | None:
    """(coin id, BRIDGE or PORTFOLIO; entity key) of a config topic this node id publishes,
    the key None for a device config; None for anyone else's (another bridge's are left
    alone)."""
    prefix, node = ctx.ha.discovery_prefix, re.escape(ctx.ha.node_id)
    rest = topic.removeprefix(f"{prefix}/")
    if rest == topic:
        return None
    match = re.fullmatch(
        rf"(?:sensor|event)/{node}/(\d+)_([a-z0-9_]+)/config", rest
    ) or re.fullmatch(
        rf"(?:sensor|binary_sensor|button)/{node}/({BRIDGE}|{PORTFOLIO})_([a-z0-9_]+)/config", rest
    )
    if match is None:
        match = re.fullmatch(rf"device/{node}_(\d+|{BRIDGE}|{PORTFOLIO})/config", rest)
    if match is None:
        return None
    owner = match.group(1)
    key = match.group(2) if match.re.groups > 1 else None
    return (owner if owner in (BRIDGE, PORTFOLIO) else int(owner)), key


def is_own_config(ctx: DiscoveryContext, topic: str) -> bool:
    """True for config topics this node id publishes; another bridge's are left alone."""
    return config_owner(ctx, topic) is not None


def migrations(
    ctx: DiscoveryContext,
    leftovers: Iterable[str],
    coin_ids: tuple[int, ...],
    money: MoneyDiscovery | None = None,
) -> tuple[list[str], list[Owner]]:
    """Of the config topics an earlier run left (`leftovers`, cleared by the sweep), those of
    the other discovery mode whose entity this run announces again, and whose configs to send
    again: Home Assistant moves such an entity to its new config, keeping its id and history,
    when the old topic is first answered with MIGRATE_PAYLOAD. An entity not announced again
    (its coin or field was dropped) is removed as before."""
    if not ctx.announcing:
        return [], []
    coins, device_mode = set(coin_ids), ctx.ha.discovery_mode == "device"
    money = _money(ctx, money)
    portfolio_keys = {key for key, _ in portfolio_entities(ctx, money)}
    moving: list[str] = []
    owners: dict[Owner, None] = {}
    for topic in leftovers:
        found = config_owner(ctx, topic)
        if found is None or (found[1] is None) is device_mode:
            continue  # not ours, or a config of the current mode (dropped coin or field)
        owner, key = found
        if owner == BRIDGE:
            kept = key is None or key in BRIDGE_ENTITIES_BY_KEY
        elif owner == PORTFOLIO:
            kept = bool(portfolio_keys) and (key is None or key in portfolio_keys)
        else:
            extras = {k for _, k in extra_keys(money, ctx.ha.fields, int(owner))}
            kept = owner in coins and (key is None or key in ctx.ha.fields or key in extras)
        if kept:
            moving.append(topic)
            owners[owner] = None
    return moving, list(owners)


def _dump(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))
