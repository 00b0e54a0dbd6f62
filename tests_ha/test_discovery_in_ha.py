"""The bridge's discovery payloads and states, fed into a real Home Assistant MQTT integration.

Everything published here comes from the bridge's own code (discovery.py, state.py, frames.py);
nothing is a copy. Home Assistant 2024.3 is the oldest version we support.
"""

from __future__ import annotations

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .bridge_messages import discover, last_price, live
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
