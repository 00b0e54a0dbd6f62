"""Home Assistant MQTT discovery payloads: pure functions of (coin, field, settings).

No I/O here, so every payload can be checked by table tests and fed into a real Home Assistant.
Per-entity discovery is the default because it works on every Home Assistant version we test
(2024.3 onward) and on openHAB; device-based discovery (one message per coin) needs HA 2024.12.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from .coins import CoinInfo
from .config import HomeAssistantSettings
from .fields import FIELDS_BY_KEY, SYMBOL_UNIT, Field, FieldKind, price_precision
from .state import Topics

ORIGIN_URL: Final = "https://github.com/cmc-mqtt/cmc-mqtt"
DEFAULT_NODE_ID: Final = "cmc_mqtt"
COINMARKETCAP_PAGE: Final = "https://coinmarketcap.com/currencies/{slug}/"

Message = tuple[str, str]


@dataclass(frozen=True, slots=True)
class DiscoveryContext:
    ha: HomeAssistantSettings
    topics: Topics
    version: str


def slugify(text: str) -> str:
    """Home Assistant's entity-id shape: lower case, runs of other characters become one '_'."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def device_id(ctx: DiscoveryContext, coin_id: int) -> str:
    return f"{ctx.ha.node_id}_{coin_id}"


def unique_id(ctx: DiscoveryContext, coin_id: int, key: str) -> str:
    return f"{ctx.ha.node_id}_{coin_id}_{key}"


def entity_config_topic(ctx: DiscoveryContext, coin_id: int, key: str) -> str:
    return f"{ctx.ha.discovery_prefix}/sensor/{ctx.ha.node_id}/{coin_id}_{key}/config"


def device_config_topic(ctx: DiscoveryContext, coin_id: int) -> str:
    return f"{ctx.ha.discovery_prefix}/device/{device_id(ctx, coin_id)}/config"


def default_entity_id(ctx: DiscoveryContext, coin: CoinInfo, field: Field) -> str:
    """The id Home Assistant 2024.3 derives by itself (device name + entity name), so the ids
    match on every version; a second bridge (another node_id) gets its node id in front."""
    base = slugify(f"{coin.label} {field.name}")
    if ctx.ha.node_id != DEFAULT_NODE_ID:
        base = f"{slugify(ctx.ha.node_id)}_{base}"
    return f"sensor.{base}"


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


def coin_messages(ctx: DiscoveryContext, coin: CoinInfo, price: float | None) -> list[Message]:
    """Every discovery message one coin needs, in the configured mode."""
    fields = [FIELDS_BY_KEY[key] for key in ctx.ha.fields]
    if ctx.ha.discovery_mode == "device":
        components = {
            f"{coin.id}_{f.key}": {"platform": "sensor", **sensor_config(ctx, coin, f, price)}
            for f in fields
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
        (
            entity_config_topic(ctx, coin.id, f.key),
            _dump(sensor_config(ctx, coin, f, price) | shared),
        )
        for f in fields
    ]


def wanted_topics(ctx: DiscoveryContext, coin_ids: tuple[int, ...]) -> set[str]:
    """Config topics this run publishes; every other config of ours is a ghost."""
    if not ctx.ha.discovery:
        return set()
    if ctx.ha.discovery_mode == "device":
        return {device_config_topic(ctx, cid) for cid in coin_ids}
    return {entity_config_topic(ctx, cid, key) for cid in coin_ids for key in ctx.ha.fields}


def subscription_patterns(ctx: DiscoveryContext) -> list[str]:
    """Where configs of ours from earlier runs can be, in either mode."""
    prefix, node = ctx.ha.discovery_prefix, ctx.ha.node_id
    return [f"{prefix}/sensor/{node}/+/config", f"{prefix}/device/+/config"]


def is_own_config(ctx: DiscoveryContext, topic: str) -> bool:
    """True for config topics this node id publishes; another bridge's are left alone."""
    prefix, node = ctx.ha.discovery_prefix, re.escape(ctx.ha.node_id)
    rest = topic.removeprefix(f"{prefix}/")
    if rest == topic:
        return False
    return bool(
        re.fullmatch(rf"sensor/{node}/\d+_[a-z0-9]+/config", rest)
        or re.fullmatch(rf"device/{node}_\d+/config", rest)
    )


def _dump(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))
