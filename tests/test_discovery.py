"""Discovery payloads, as pure functions: tables, invariants and one golden payload."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.config import HomeAssistantSettings
from cmc_mqtt.homeassistant.bridge_entities import BRIDGE_ENTITIES
from cmc_mqtt.homeassistant.context import DiscoveryContext
from cmc_mqtt.homeassistant.discovery import (
    bridge_messages,
    coin_messages,
    config_owner,
    is_own_config,
    migrations,
    slugify,
    wanted_topics,
)
from cmc_mqtt.model.coins import CoinInfo, coin_info
from cmc_mqtt.model.fields import FIELD_KEYS
from cmc_mqtt.model.topics import Topics

GOLDEN = Path(__file__).parent / "golden"


def context(**ha: Any) -> DiscoveryContext:
    return DiscoveryContext(HomeAssistantSettings(**ha), Topics("cmc"), "1.2.3")


def configs(ctx: DiscoveryContext, coin: CoinInfo, price: float | None) -> dict[str, Any]:
    return {topic: json.loads(payload) for topic, payload in coin_messages(ctx, coin, price)}


def test_one_config_per_field_on_the_documented_topics() -> None:
    found = configs(context(), coin_info(1), 81187.93)
    assert sorted(found) == sorted(
        f"homeassistant/sensor/cmc_mqtt/1_{key}/config" for key in FIELD_KEYS
    )


def test_price_config_matches_the_golden_payload() -> None:
    found = configs(context(), coin_info(1), 81187.93)
    golden = json.loads((GOLDEN / "btc_price_config.json").read_text())
    assert found["homeassistant/sensor/cmc_mqtt/1_p/config"] == golden


@pytest.mark.parametrize(
    ("key", "name", "unit", "precision", "enabled"),
    [
        ("p", "Price", "USD", 2, True),
        ("vu", "Volume 24h", "USD", 0, True),
        ("mc", "Market cap", "USD", 0, True),
        ("cs", "Circulating supply", "BTC", 0, False),
        ("p24h", "Change 24h", "%", 2, True),
        ("p7d", "Change 7d", "%", 2, False),
        ("fdv24h", "Fully diluted value change 24h", "%", 2, False),
    ],
)
def test_names_units_precision_and_defaults(
    key: str, name: str, unit: str, precision: int, enabled: bool
) -> None:
    config = configs(context(), coin_info(1), 81187.93)[
        f"homeassistant/sensor/cmc_mqtt/1_{key}/config"
    ]
    assert config["name"] == name
    assert config["unit_of_measurement"] == unit
    assert config["suggested_display_precision"] == precision
    assert config["enabled_by_default"] is enabled
    assert config["state_class"] == "measurement"
    assert config["unique_id"] == f"cmc_mqtt_1_{key}"
    assert config["state_topic"] == f"cmc/1/{key}"
    assert config["default_entity_id"] == f"sensor.{slugify('Bitcoin (BTC) ' + name)}"


def test_no_config_pairs_a_monetary_device_class_with_measurement() -> None:
    for config in configs(context(), coin_info(1), 81187.93).values():
        assert "device_class" not in config
        assert "object_id" not in config  # deprecated; default_entity_id replaces it


@pytest.mark.parametrize(("price", "precision"), [(81187.93, 2), (0.2141, 4), (0.00001234, 8)])
def test_price_precision_follows_the_price(price: float, precision: int) -> None:
    config = configs(context(), coin_info(74), price)["homeassistant/sensor/cmc_mqtt/74_p/config"]
    assert config["suggested_display_precision"] == precision


def test_only_the_price_carries_the_json_attributes() -> None:
    found = configs(context(), coin_info(1), None)
    with_attributes = [t for t, c in found.items() if "json_attributes_topic" in c]
    assert with_attributes == ["homeassistant/sensor/cmc_mqtt/1_p/config"]
    assert found[with_attributes[0]]["json_attributes_topic"] == "cmc/1/json"


def test_availability_needs_the_bridge_and_the_coin() -> None:
    for config in configs(context(), coin_info(1), None).values():
        assert config["availability"] == [{"topic": "cmc/status"}, {"topic": "cmc/1/status"}]
        assert config["availability_mode"] == "all"


def test_device_block_and_origin() -> None:
    config = configs(context(), coin_info(1027), 3118.2)[
        "homeassistant/sensor/cmc_mqtt/1027_p/config"
    ]
    assert config["device"] == {
        "identifiers": ["cmc_mqtt_1027"],
        "name": "Ethereum (ETH)",
        "manufacturer": "CoinMarketCap",
        "model": "Cryptocurrency",
        "sw_version": "1.2.3",
        "configuration_url": "https://coinmarketcap.com/currencies/ethereum/",
    }
    assert config["origin"] == {"name": "cmc-mqtt", "sw": "1.2.3", "url": config["origin"]["url"]}


def test_unknown_coins_get_a_fallback_name_and_no_page() -> None:
    config = configs(context(), coin_info(424242), 1.5)
    price = config["homeassistant/sensor/cmc_mqtt/424242_p/config"]
    assert price["device"]["name"] == "CMC #424242 (#424242)"
    assert "configuration_url" not in price["device"]
    supply = config["homeassistant/sensor/cmc_mqtt/424242_cs/config"]
    assert supply["unit_of_measurement"] == "coins"


def test_device_mode_sends_one_message_per_coin() -> None:
    found = configs(context(discovery_mode="device"), coin_info(1), 81187.93)
    assert list(found) == ["homeassistant/device/cmc_mqtt_1/config"]
    payload = found["homeassistant/device/cmc_mqtt_1/config"]
    assert payload["device"]["identifiers"] == ["cmc_mqtt_1"]
    assert payload["availability_mode"] == "all"
    components = payload["components"]
    assert sorted(components) == sorted(f"1_{key}" for key in FIELD_KEYS)
    assert components["1_p"]["platform"] == "sensor"
    assert components["1_p"]["unique_id"] == "cmc_mqtt_1_p"
    assert "device" not in components["1_p"]


def test_field_selection_and_enabling_are_configurable() -> None:
    found = configs(context(fields=("p", "cs"), enabled_fields=("cs",)), coin_info(1), None)
    assert len(found) == 2
    enabled = {t.split("/")[3]: c["enabled_by_default"] for t, c in found.items()}
    assert enabled == {"1_p": False, "1_cs": True}


def test_a_second_bridge_gets_its_own_ids() -> None:
    found = configs(context(node_id="office"), coin_info(1), None)
    config = found["homeassistant/sensor/office/1_p/config"]
    assert config["unique_id"] == "office_1_p"
    assert config["device"]["identifiers"] == ["office_1"]
    assert config["default_entity_id"] == "sensor.office_bitcoin_btc_price"


@pytest.mark.parametrize(
    ("topic", "ours"),
    [
        ("homeassistant/sensor/cmc_mqtt/1_p/config", True),
        ("homeassistant/sensor/cmc_mqtt/1027_fdv24h/config", True),
        ("homeassistant/device/cmc_mqtt_1/config", True),
        ("homeassistant/sensor/office/1_p/config", False),  # another bridge
        ("homeassistant/device/office_1/config", False),
        ("homeassistant/device/cmc_mqtt_x/config", False),
        ("homeassistant/device/cmc_mqtt_extra_1/config", False),
        ("homeassistant/sensor/cmc_mqtt/garage_door/config", False),
        ("other/sensor/cmc_mqtt/1_p/config", False),
        ("homeassistant/binary_sensor/cmc_mqtt/bridge_stream/config", True),
        ("homeassistant/button/cmc_mqtt/bridge_reconnect/config", True),
        ("homeassistant/sensor/cmc_mqtt/bridge_credits_left/config", True),
        ("homeassistant/device/cmc_mqtt_bridge/config", True),
        ("homeassistant/button/cmc_mqtt/1_p/config", False),  # coins are sensors only
        ("homeassistant/binary_sensor/office/bridge_stream/config", False),
        ("homeassistant/device/office_bridge/config", False),
    ],
)
def test_own_configs_are_recognised_and_others_left_alone(topic: str, ours: bool) -> None:
    assert is_own_config(context(), topic) is ours


def test_wanted_topics_follow_mode_and_switch() -> None:
    bridge = len(BRIDGE_ENTITIES)
    assert len(wanted_topics(context(), (1, 1027))) == 26 + bridge
    assert wanted_topics(context(discovery_mode="device"), (1,)) == {
        "homeassistant/device/cmc_mqtt_1/config",
        "homeassistant/device/cmc_mqtt_bridge/config",
    }
    assert wanted_topics(context(discovery=False), (1,)) == set()


# --- the bridge device --------------------------------------------------------------------------


def bridge_configs(ctx: DiscoveryContext) -> dict[str, Any]:
    return {topic: json.loads(payload) for topic, payload in bridge_messages(ctx)}


def test_bridge_table_has_unique_complete_rows() -> None:
    keys = [e.key for e in BRIDGE_ENTITIES]
    assert len(keys) == len(set(keys))
    for entity in BRIDGE_ENTITIES:
        assert entity.key.replace("_", "").isalnum()
        assert entity.key.islower()
        assert entity.name
        assert entity.platform in {"binary_sensor", "sensor", "button"}
        assert entity.category in {"diagnostic", "config"}
        assert (entity.platform == "button") is (entity.source == "request")
        assert entity.source in {"status", "info", "credits", "request"}
        assert bool(entity.path) is (entity.source != "status")


def test_bridge_entities_are_on_their_platforms_topics_with_stable_ids() -> None:
    found = bridge_configs(context())
    assert sorted(found) == sorted(
        f"homeassistant/{e.platform}/cmc_mqtt/bridge_{e.key}/config" for e in BRIDGE_ENTITIES
    )
    for entity in BRIDGE_ENTITIES:
        config = found[f"homeassistant/{entity.platform}/cmc_mqtt/bridge_{entity.key}/config"]
        assert config["unique_id"] == f"cmc_mqtt_bridge_{entity.key}"
        expected = slugify(f"cmc-mqtt bridge {entity.name}")
        assert config["default_entity_id"] == f"{entity.platform}.{expected}"
        assert config["entity_category"] == entity.category
        assert config["device"]["identifiers"] == ["cmc_mqtt_bridge"]
        assert config["device"]["name"] == "cmc-mqtt bridge"
        assert "availability" not in config  # they report the stream's state, up or down
    office = bridge_configs(context(node_id="office"))
    stream = office["homeassistant/binary_sensor/office/bridge_stream/config"]
    assert stream["unique_id"] == "office_bridge_stream"
    assert stream["default_entity_id"] == "binary_sensor.office_cmc_mqtt_bridge_stream"


def test_bridge_entities_read_status_info_and_credits_and_buttons_send_requests() -> None:
    found = {t.split("/")[3]: c for t, c in bridge_configs(context()).items()}
    assert found["bridge_stream"] | {"device": None, "origin": None} == {
        "name": "Stream",
        "unique_id": "cmc_mqtt_bridge_stream",
        "default_entity_id": "binary_sensor.cmc_mqtt_bridge_stream",
        "entity_category": "diagnostic",
        "enabled_by_default": True,
        "device_class": "connectivity",
        "state_topic": "cmc/status",
        "payload_on": "online",
        "payload_off": "offline",
        "device": None,
        "origin": None,
    }
    assert found["bridge_version"]["state_topic"] == "cmc/bridge/info"
    assert found["bridge_version"]["value_template"] == "{{ value_json['version'] }}"
    connections = found["bridge_connections"]["value_template"]
    assert connections == "{{ value_json['connections'] | selectattr('connected') | list | count }}"
    assert found["bridge_last_frame"]["device_class"] == "timestamp"
    left = found["bridge_credits_left"]
    assert left["state_topic"] == "cmc/bridge/credits"
    assert left["value_template"] == (
        "{{ value_json['key']['left'] if value_json['key'] else None }}"
    )
    assert (left["unit_of_measurement"], left["suggested_display_precision"]) == ("credits", 0)
    assert found["bridge_frames"]["state_class"] == "total_increasing"
    reconnect = found["bridge_reconnect"]
    assert reconnect["command_topic"] == "cmc/bridge/request/reconnect"
    assert reconnect["payload_press"] == "{}"
    assert reconnect["device_class"] == "restart"
    assert found["bridge_republish"]["command_topic"] == "cmc/bridge/request/republish"


def test_bridge_device_mode_sends_one_message() -> None:
    ((topic, payload),) = bridge_messages(context(discovery_mode="device"))
    assert topic == "homeassistant/device/cmc_mqtt_bridge/config"
    config = json.loads(payload)
    assert config["device"]["identifiers"] == ["cmc_mqtt_bridge"]
    components = config["components"]
    assert sorted(components) == sorted(f"bridge_{e.key}" for e in BRIDGE_ENTITIES)
    assert components["bridge_stream"]["platform"] == "binary_sensor"
    assert components["bridge_stream"]["unique_id"] == "cmc_mqtt_bridge_stream"  # as per entity
    assert "availability" not in config


# --- changing discovery_mode ------------------------------------------------------------------


def entity_topics(*coins: int) -> list[str]:
    ctx = context()
    return [t for cid in coins for t, _ in coin_messages(ctx, coin_info(cid), None)] + [
        t for t, _ in bridge_messages(ctx)
    ]


def test_config_owner_tells_coin_bridge_and_key() -> None:
    ctx = context()
    assert config_owner(ctx, "homeassistant/sensor/cmc_mqtt/1_p24h/config") == (1, "p24h")
    assert config_owner(ctx, "homeassistant/device/cmc_mqtt_1027/config") == (1027, None)
    assert config_owner(ctx, "homeassistant/sensor/cmc_mqtt/bridge_credits_left/config") == (
        "bridge",
        "credits_left",
    )
    assert config_owner(ctx, "homeassistant/device/cmc_mqtt_bridge/config") == ("bridge", None)
    assert config_owner(ctx, "homeassistant/sensor/office/1_p/config") is None


def test_entity_configs_of_kept_coins_migrate_to_device_mode() -> None:
    ctx = context(discovery_mode="device", fields=("p", "p24h"))
    leftovers = sorted(entity_topics(1, 1027))
    moving, owners = migrations(ctx, leftovers, (1,))
    assert sorted(owners, key=str) == [1, "bridge"]
    assert "homeassistant/sensor/cmc_mqtt/1_p/config" in moving
    assert "homeassistant/sensor/cmc_mqtt/1_p24h/config" in moving
    assert "homeassistant/sensor/cmc_mqtt/1_vu/config" not in moving  # a dropped field goes
    assert not [t for t in moving if "1027" in t]  # a dropped coin goes
    assert "homeassistant/button/cmc_mqtt/bridge_reconnect/config" in moving
    assert len(moving) == 2 + len(BRIDGE_ENTITIES)


def test_device_configs_of_kept_coins_migrate_to_entity_mode() -> None:
    leftovers = [
        "homeassistant/device/cmc_mqtt_1/config",
        "homeassistant/device/cmc_mqtt_5/config",
        "homeassistant/device/cmc_mqtt_bridge/config",
        "homeassistant/device/office_1/config",
    ]
    moving, owners = migrations(context(), leftovers, (1, 1027))
    assert moving == [leftovers[0], leftovers[2]]
    assert owners == [1, "bridge"]


def test_leftovers_of_the_same_mode_or_with_discovery_off_do_not_migrate() -> None:
    # Entity mode now, entity-mode leftovers: dropped fields or coins, removed as ever.
    assert migrations(context(), entity_topics(1), (1,)) == ([], [])
    device = ["homeassistant/device/cmc_mqtt_1/config"]
    assert migrations(context(discovery=False), device, (1,)) == ([], [])


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        context().ha.node_id = "x"  # type: ignore[misc]
