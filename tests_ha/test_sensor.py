"""The custom integration's sensors inside real Home Assistant: descriptions, values,
precision, availability, unload, diagnostics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant import config_entries
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from cmc_mqtt.model.fields import FIELDS as BRIDGE_FIELDS
from cmc_mqtt.model.fields import price_precision as bridge_precision
from custom_components.cmc_mqtt.diagnostics import async_get_config_entry_diagnostics
from custom_components.cmc_mqtt.fields import FIELDS, FIELDS_BY_KEY, price_precision
from custom_components.cmc_mqtt.sensor import SENSORS, CmcFieldSensor

from .helpers import BTC, add_entry, bridge_online, fire, mock_entry

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "cmc_mqtt"


# --- the field table --------------------------------------------------------------------------


def test_field_table_matches_the_bridge() -> None:
    ours = [(f.key, f.name, f.unit, f.precision, f.enabled_by_default, f.state_class)
            for f in FIELDS]  # fmt: skip
    bridge = [(f.key, f.name, f.unit, f.precision, f.enabled_by_default, f.state_class)
              for f in BRIDGE_FIELDS]  # fmt: skip
    assert ours == bridge
    for price in (81187.93, 1.0, 0.2141, 0.00001234, 0.0):
        assert price_precision(price) == bridge_precision(price)


def test_sensor_descriptions_come_from_the_field_table() -> None:
    assert [d.key for d in SENSORS] == [f.key for f in FIELDS]
    for description, field in zip(SENSORS, FIELDS, strict=True):
        assert description.translation_key == field.key
        assert description.state_class == field.state_class
        assert description.suggested_display_precision == field.precision
        assert description.precision_from_value is (field.precision is None)
        assert description.entity_registry_enabled_default is field.enabled_by_default
        if field.unit == "{symbol}":
            assert description.unit_is_symbol
            assert description.native_unit_of_measurement is None
        else:
            assert description.native_unit_of_measurement == field.unit


def test_translations_name_every_field_and_match_strings() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    assert strings == json.loads((INTEGRATION / "translations" / "en.json").read_text())
    names = strings["entity"]["sensor"]
    fields = {k: v["name"] for k, v in names.items() if k in FIELDS_BY_KEY}
    assert fields == {f.key: f.name for f in FIELDS}  # the bridge device's: test_bridge_device
    icons = json.loads((INTEGRATION / "icons.json").read_text())["entity"]["sensor"]
    assert {f.key for f in FIELDS} <= set(icons)
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    assert manifest["dependencies"] == ["mqtt"]
    assert manifest["iot_class"] == "local_push"
    assert manifest["config_flow"] is True


# --- entities ---------------------------------------------------------------------------------


async def test_sensors_follow_the_bridges_topics(hass: HomeAssistant, mqtt_ready: Any) -> None:
    await add_entry(hass)
    await bridge_online(hass, 1)
    await fire(hass, "cmc/1/p", "81187.93284788371")
    await fire(hass, "cmc/1/cs", "20028706")
    state = hass.states.get(BTC)
    assert state.state == "81187.93284788371"
    assert state.attributes["friendly_name"] == "Bitcoin (BTC) Price"
    assert state.attributes["unit_of_measurement"] == "USD"
    assert state.attributes["state_class"] == "measurement"
    registry = er.async_get(hass)
    supply = registry.async_get("sensor.bitcoin_btc_circulating_supply")
    assert supply.unit_of_measurement == "BTC"
    assert supply.disabled_by is er.RegistryEntryDisabler.INTEGRATION  # as in discovery
    change = registry.async_get("sensor.bitcoin_btc_change_24h")
    assert change.options["sensor"]["suggested_display_precision"] == 2
    assert change.unique_id == "cmc/1/p24h"  # the state topic; never the bridge's discovery ids
    device = dr.async_get(hass).async_get(registry.async_get(BTC).device_id)
    assert device.name == "Bitcoin (BTC)"
    assert device.manufacturer == "CoinMarketCap"


def suggested_precision(hass: HomeAssistant, entity_id: str) -> Any:
    entry = er.async_get(hass).async_get(entity_id)
    assert entry is not None
    return entry.options.get("sensor", {}).get("suggested_display_precision")


async def test_price_precision_follows_the_price(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass, coins=[74, 1], fields=["p"])
    await bridge_online(hass, 74, 1)
    await fire(hass, "cmc/74/p", "0.2141253679644425")
    await fire(hass, "cmc/1/p", "81187.93")
    assert suggested_precision(hass, "sensor.dogecoin_doge_price") == 4
    assert suggested_precision(hass, BTC) == 2
    # The entity states it itself, so Home Assistant keeps it through registry updates
    # (current versions rewrite the stored suggestion from the entity's own on every one).
    er.async_get(hass).async_update_entity(BTC, name="My bitcoin")
    await hass.async_block_till_done()
    assert suggested_precision(hass, BTC) == 2
    await fire(hass, "cmc/74/p", "0.0521")  # a price that needs more digits
    assert suggested_precision(hass, "sensor.dogecoin_doge_price") == 5
    # After a restart, the last suggestion stays until a price arrives.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert suggested_precision(hass, "sensor.dogecoin_doge_price") == 5
    assert suggested_precision(hass, BTC) == 2


async def test_availability_follows_bridge_and_coin_status(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await add_entry(hass)
    await fire(hass, "cmc/1/p", "100.5")
    assert hass.states.get(BTC).state == STATE_UNAVAILABLE  # no status seen yet
    await bridge_online(hass, 1)
    assert hass.states.get(BTC).state == "100.5"
    await fire(hass, "cmc/status", "offline")
    assert hass.states.get(BTC).state == STATE_UNAVAILABLE
    await fire(hass, "cmc/status", "online")
    await fire(hass, "cmc/1/status", "offline")
    assert hass.states.get(BTC).state == STATE_UNAVAILABLE
    await fire(hass, "cmc/bridge/status", "online")  # not a coin: ignored
    await fire(hass, "cmc/1/status", "online")
    assert hass.states.get(BTC).state == "100.5"


async def test_a_coin_going_stale_redraws_only_its_own_entities(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await add_entry(hass, coins=[1, 1027], fields=["p", "p24h"])
    await bridge_online(hass, 1, 1027)
    written: list[str] = []
    write = CmcFieldSensor.async_write_ha_state

    def spy(self: CmcFieldSensor) -> None:
        written.append(self.entity_id)
        write(self)

    with patch.object(CmcFieldSensor, "async_write_ha_state", spy):
        await fire(hass, "cmc/1/status", "offline")
        assert sorted(written) == ["sensor.bitcoin_btc_change_24h", BTC]
        written.clear()
        await fire(hass, "cmc/status", "offline")  # the bridge: every coin
        assert len(written) == 4
    assert hass.states.get("sensor.ethereum_eth_price").state == STATE_UNAVAILABLE


async def test_non_numeric_payloads_are_ignored_and_logged_once(
    hass: HomeAssistant, mqtt_ready: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await add_entry(hass)
    await bridge_online(hass, 1)
    await fire(hass, "cmc/1/p", "100.5")
    for bad in ("abc", "", "NaN", "Infinity", "{}"):
        await fire(hass, "cmc/1/p", bad)
    assert hass.states.get(BTC).state == "100.5"
    assert caplog.text.count("ignoring a non-numeric payload on cmc/1/p") == 1


async def test_unload_releases_the_subscriptions(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass)
    await bridge_online(hass, 1)
    await fire(hass, "cmc/1/p", "100.5")
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(BTC).state == STATE_UNAVAILABLE
    await fire(hass, "cmc/1/p", "200.5")  # nobody listens any more
    assert hass.states.get(BTC).state == STATE_UNAVAILABLE
    assert await hass.config_entries.async_setup(entry.entry_id)  # and it can come back
    await hass.async_block_till_done()
    await bridge_online(hass, 1)
    await fire(hass, "cmc/1/p", "300.5")
    assert hass.states.get(BTC).state == "300.5"


async def test_setup_waits_for_mqtt(hass: HomeAssistant, mqtt_ready: Any) -> None:
    with patch("custom_components.cmc_mqtt.mqtt.async_wait_for_mqtt_client", return_value=False):
        entry = mock_entry()
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is config_entries.ConfigEntryState.SETUP_RETRY
    if hasattr(entry, "error_reason_translation_key"):  # shown translated since 2024.11
        assert entry.error_reason_translation_key == "mqtt_not_connected"
        # Its English message, from strings.json (Home Assistant drops the full stop).
        assert entry.reason == "Home Assistant's MQTT integration is not connected to its broker"


async def test_diagnostics_redact_secrets(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, "api_key": "secret-key"})
    await hass.async_block_till_done()  # the update reloads the entry
    await bridge_online(hass, 1)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert "secret-key" not in json.dumps(diagnostics)
    assert diagnostics["entry"]["data"]["api_key"] == "**REDACTED**"
    assert diagnostics["bridge_online"] is True
    assert diagnostics["coins"]["1"] == {"online": True}
