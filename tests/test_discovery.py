"""Discovery payloads, as pure functions: tables, invariants and one golden payload."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.coins import CoinInfo, coin_info
from cmc_mqtt.config import HomeAssistantSettings
from cmc_mqtt.discovery import (
    DiscoveryContext,
    coin_messages,
    is_own_config,
    slugify,
    wanted_topics,
)
from cmc_mqtt.fields import FIELD_KEYS
from cmc_mqtt.state import Topics

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
    ],
)
def test_own_configs_are_recognised_and_others_left_alone(topic: str, ours: bool) -> None:
    assert is_own_config(context(), topic) is ours


def test_wanted_topics_follow_mode_and_switch() -> None:
    assert len(wanted_topics(context(), (1, 1027))) == 26
    assert wanted_topics(context(discovery_mode="device"), (1,)) == {
        "homeassistant/device/cmc_mqtt_1/config"
    }
    assert wanted_topics(context(discovery=False), (1,)) == set()


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        context().ha.node_id = "x"  # type: ignore[misc]
