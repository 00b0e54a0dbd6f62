"""The bridge's discovery payloads and states, fed into a real Home Assistant MQTT integration.

Everything published here comes from the bridge's own code (discovery.py, state.py, frames.py);
nothing is a copy. Home Assistant 2024.3 is the oldest version we support.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from cmc_mqtt.homeassistant.bridge_entities import BRIDGE_ENTITIES
from cmc_mqtt.rest.key_info import KeyInfo

from .bridge_messages import (
    bridge_credits,
    bridge_info,
    discover,
    discover_bridge,
    last_price,
    live,
)
from .helpers import HA_RELEASE, device_with

BTC = "sensor.bitcoin_btc_price"
HA_AT_LEAST_2025_10 = HA_RELEASE >= (2025, 10)


async def test_sensors_have_the_expected_ids_names_units_and_values(
    hass: HomeAssistant, mqtt_ready: None
) -> None:
    await discover(hass, 1)
    state = hass.states.get(BTC)
    assert state is not None
    assert state.state == last_price(1)
    assert state.attributes["friendly_name"] == "Bitcoin (BTC) Price"
    assert state.attributes["unit_of_measurement"] == "USD"
    assert state.attributes["state_class"] == "measurement"
    assert state.attributes["icon"] == "mdi:currency-usd"
    assert state.attributes["cid"] == 1  # json_attributes_topic
    change = hass.states.get("sensor.bitcoin_btc_change_24h")
    assert change is not None
    assert change.attributes["unit_of_measurement"] == "%"
    cap = hass.states.get("sensor.bitcoin_btc_market_cap")
    assert cap is not None
    assert cap.attributes["unit_of_measurement"] == "USD"


async def test_registry_entries_precision_and_disabled_defaults(
    hass: HomeAssistant, mqtt_ready: None
) -> None:
    await discover(hass, 1, 74)
    registry = er.async_get(hass)
    price = registry.async_get(BTC)
    assert price is not None
    assert price.unique_id == "cmc_mqtt_1_p"
    assert price.options["sensor"]["suggested_display_precision"] == 2
    doge = registry.async_get("sensor.dogecoin_doge_price")
    assert doge is not None
    assert doge.options["sensor"]["suggested_display_precision"] == 4  # a sub-dollar coin
    supply = registry.async_get("sensor.bitcoin_btc_circulating_supply")
    assert supply is not None
    assert supply.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert supply.unit_of_measurement == "BTC"
    enabled = {e.entity_id for e in registry.entities.values() if e.disabled_by is None}
    default_on = {"price", "change_24h", "market_cap", "volume_24h"}
    assert {f"sensor.bitcoin_btc_{name}" for name in default_on} <= enabled
    assert len([e for e in registry.entities.values() if e.platform == "mqtt"]) == 26


async def test_one_device_per_coin(hass: HomeAssistant, mqtt_ready: None) -> None:
    await discover(hass, 1, 1027)
    mqtt_entry = hass.config_entries.async_entries("mqtt")[0].entry_id
    device = device_with(hass, mqtt_entry, ("mqtt", "cmc_mqtt_1"))
    assert device is not None
    assert device.name == "Bitcoin (BTC)"
    assert device.manufacturer == "CoinMarketCap"
    assert device.model == "Cryptocurrency"
    assert device.sw_version == "1.2.3"
    assert device.configuration_url == "https://coinmarketcap.com/currencies/bitcoin/"
    assert device_with(hass, mqtt_entry, ("mqtt", "cmc_mqtt_1027")) is not None
    assert len(dr.async_entries_for_config_entry(dr.async_get(hass), mqtt_entry)) == 2


async def test_unavailable_when_the_bridge_or_the_coin_is_offline(
    hass: HomeAssistant, mqtt_ready: None
) -> None:
    await discover(hass, 1)
    assert hass.states.get(BTC).state == last_price(1)
    await live(hass, "cmc/status", "offline")
    assert hass.states.get(BTC).state == STATE_UNAVAILABLE
    await live(hass, "cmc/status", "online")
    assert hass.states.get(BTC).state == last_price(1)
    await live(hass, "cmc/1/status", "offline")  # the coin's data went stale
    assert hass.states.get(BTC).state == STATE_UNAVAILABLE
    await live(hass, "cmc/1/status", "online")
    await live(hass, "cmc/1/p", "90000.5")
    assert hass.states.get(BTC).state == "90000.5"


async def test_an_empty_config_removes_the_entity(hass: HomeAssistant, mqtt_ready: None) -> None:
    await discover(hass, 1)
    assert hass.states.get(BTC) is not None
    await live(hass, "homeassistant/sensor/cmc_mqtt/1_p/config", "")
    assert hass.states.get(BTC) is None
    assert er.async_get(hass).async_get(BTC) is None


async def test_a_second_bridge_gets_separate_entities(
    hass: HomeAssistant, mqtt_ready: None
) -> None:
    await discover(hass, 1)
    await discover(hass, 1, node_id="office")
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", "mqtt", "cmc_mqtt_1_p") == BTC
    # default_entity_id is honoured from HA 2025.10; older versions derive the id from the
    # device and entity names and de-duplicate it.
    expected = "sensor.office_bitcoin_btc_price" if HA_AT_LEAST_2025_10 else f"{BTC}_2"
    assert registry.async_get_entity_id("sensor", "mqtt", "office_1_p") == expected
    assert hass.states.get(expected) is not None


@pytest.mark.skipif(
    HA_RELEASE < (2024, 12),
    reason="device-based discovery arrived in Home Assistant 2024.12",
)
async def test_device_based_discovery(hass: HomeAssistant, mqtt_ready: None) -> None:
    await discover(hass, 1, discovery_mode="device")
    assert hass.states.get(BTC) is not None


# --- the bridge device ------------------------------------------------------------------------

STREAM = "binary_sensor.cmc_mqtt_bridge_stream"


def bridge_state(hass: HomeAssistant, name: str, platform: str = "sensor") -> str:
    state = hass.states.get(f"{platform}.cmc_mqtt_bridge_{name}")
    assert state is not None, f"{platform}.cmc_mqtt_bridge_{name}"
    return state.state


async def test_the_bridge_device_and_its_diagnostic_entities(
    hass: HomeAssistant, mqtt_ready: None
) -> None:
    await discover_bridge(hass)
    registry = er.async_get(hass)
    ours = [e for e in registry.entities.values() if e.unique_id.startswith("cmc_mqtt_bridge_")]
    assert len(ours) == len(BRIDGE_ENTITIES)
    for entity in BRIDGE_ENTITIES:
        entry = registry.async_get(registry.async_get_entity_id(
            entity.platform, "mqtt", f"cmc_mqtt_bridge_{entity.key}"
        ) or "")  # fmt: skip
        assert entry is not None, entity.key
        assert entry.entity_category == entity.category
        # What changes with every frame is there, but disabled until a user wants it.
        disabled = None if entity.enabled_by_default else er.RegistryEntryDisabler.INTEGRATION
        assert entry.disabled_by == disabled, entity.key
    mqtt_entry = hass.config_entries.async_entries("mqtt")[0].entry_id
    device = device_with(hass, mqtt_entry, ("mqtt", "cmc_mqtt_bridge"))
    assert device is not None
    assert (device.name, device.sw_version) == ("cmc-mqtt bridge", "1.2.3")
    assert registry.async_get(STREAM).device_id == device.id
    assert hass.states.get(STREAM).attributes["device_class"] == "connectivity"


async def test_the_bridge_entities_show_what_the_bridge_publishes(
    hass: HomeAssistant, mqtt_ready: None
) -> None:
    await discover_bridge(hass, enable_all=True)
    info = bridge_info(1, 1027)
    await live(hass, "cmc/status", "online")
    await live(hass, "cmc/bridge/info", info)
    await live(hass, "cmc/bridge/credits", bridge_credits())
    assert bridge_state(hass, "stream", "binary_sensor") == "on"
    assert bridge_state(hass, "version") == "1.2.3"
    assert bridge_state(hass, "connections_in_use") == "1"  # the other one is down
    assert bridge_state(hass, "frames_received") == str(json.loads(info)["frames"])
    assert bridge_state(hass, "reconnects") == "0"
    last = dt_util.parse_datetime(bridge_state(hass, "last_frame"))
    assert last == dt_util.parse_datetime(json.loads(info)["last_frame_time"])
    assert bridge_state(hass, "credits_used_this_month") == "1200.0"
    assert float(bridge_state(hass, "credits_projected_this_month")) > 1200
    assert bridge_state(hass, "credits_left") == STATE_UNKNOWN  # the key not checked yet
    key = KeyInfo(used=100.0, left=9900.0, limit=10000.0, day_used=5.0, checked="x")
    await live(hass, "cmc/bridge/credits", bridge_credits(key=key))
    assert bridge_state(hass, "credits_left") == "9900.0"
    assert bridge_state(hass, "credit_budget", "binary_sensor") == "off"
    await live(hass, "cmc/bridge/credits", bridge_credits(budget=100))  # projected far over it
    assert bridge_state(hass, "credit_budget", "binary_sensor") == "on"
    # The stream going down is shown, not hidden as unavailable; so are the other entities.
    await live(hass, "cmc/status", "offline")
    assert bridge_state(hass, "stream", "binary_sensor") == "off"
    assert bridge_state(hass, "version") == "1.2.3"


async def test_no_frame_yet_is_an_unknown_last_frame(
    hass: HomeAssistant, mqtt_ready: None, caplog: pytest.LogCaptureFixture
) -> None:
    await discover_bridge(hass, enable_all=True)
    await live(hass, "cmc/bridge/info", bridge_info(1, frames=False))
    assert bridge_state(hass, "last_frame") == STATE_UNKNOWN
    assert bridge_state(hass, "frames_received") == "0"
    if HA_RELEASE >= (2024, 10):  # before, a timestamp of "None" was also logged as invalid
        assert "Invalid state message" not in caplog.text  # (home-assistant/core#126694)


async def test_the_buttons_send_the_bridges_requests(hass: HomeAssistant, mqtt_ready: Any) -> None:
    await discover_bridge(hass)
    for name, action in (("reconnect_stream", "reconnect"), ("republish", "republish")):
        mqtt_ready.async_publish.reset_mock()
        await hass.services.async_call(
            "button", "press", {"entity_id": f"button.cmc_mqtt_bridge_{name}"}, blocking=True
        )
        (call,) = mqtt_ready.async_publish.call_args_list
        assert call.args == (f"cmc/bridge/request/{action}", "{}", 0, False)


@pytest.mark.skipif(
    HA_RELEASE < (2024, 12),
    reason="device-based discovery arrived in Home Assistant 2024.12",
)
async def test_the_bridge_device_in_device_based_discovery(
    hass: HomeAssistant, mqtt_ready: None
) -> None:
    await discover_bridge(hass, discovery_mode="device")
    await live(hass, "cmc/status", "online")
    await live(hass, "cmc/bridge/info", bridge_info(1))
    assert bridge_state(hass, "stream", "binary_sensor") == "on"
    assert bridge_state(hass, "connections_in_use") == "1"
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("button", "mqtt", "cmc_mqtt_bridge_reconnect") == (
        "button.cmc_mqtt_bridge_reconnect_stream"
    )
