"""The custom integration inside real Home Assistant: flows, entities, availability, unload."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant import config_entries
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from cmc_mqtt.fields import FIELDS as BRIDGE_FIELDS
from cmc_mqtt.fields import price_precision as bridge_precision
from custom_components.cmc_mqtt import const
from custom_components.cmc_mqtt.const import CONF_COINS, CONF_FIELDS, CONF_PREFIX, DOMAIN
from custom_components.cmc_mqtt.diagnostics import async_get_config_entry_diagnostics
from custom_components.cmc_mqtt.fields import FIELDS, price_precision

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "cmc_mqtt"
BTC = "sensor.bitcoin_btc_price"


@pytest.fixture
async def mqtt_mock(hass: HomeAssistant, mock_hass_config: None, mqtt_mock_entry: Any) -> Any:
    return await mqtt_mock_entry()


async def add_entry(
    hass: HomeAssistant, coins: list[int] | None = None, fields: list[str] | None = None,
    prefix: str = "cmc",
) -> MockConfigEntry:  # fmt: skip
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"cmc-mqtt ({prefix})",
        unique_id=prefix,
        data={CONF_PREFIX: prefix},
        options={CONF_COINS: coins or [1, 1027], CONF_FIELDS: fields or ["p", "p24h", "cs"]},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def fire(hass: HomeAssistant, topic: str, payload: str) -> None:
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()


async def bridge_online(hass: HomeAssistant, *coins: int, prefix: str = "cmc") -> None:
    await fire(hass, f"{prefix}/status", "online")
    for cid in coins:
        await fire(hass, f"{prefix}/{cid}/status", "online")


async def answer_find(hass: HomeAssistant, mqtt_mock: Any, step: Any, info: dict[str, Any] | None,
                      prefix: str = "cmc") -> dict[str, Any]:  # fmt: skip
    """Run a flow step that looks for the bridge, answering as the broker would: with the
    bridge's retained info once the flow has subscribed to it."""
    task = asyncio.ensure_future(step)
    topic = f"{prefix}/bridge/info"
    for _ in range(500):
        calls = [c.args[0] for c in mqtt_mock.async_subscribe.call_args_list]
        if topic in calls or task.done():
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the flow never subscribed to the bridge's info topic")
    if info is not None:
        async_fire_mqtt_message(hass, topic, json.dumps(info), retain=True)
    result: dict[str, Any] = await asyncio.wait_for(task, 10)
    return result


# --- the field table --------------------------------------------------------------------------


def test_field_table_matches_the_bridge() -> None:
    ours = [(f.key, f.name, f.unit, f.precision, f.enabled_by_default, f.state_class)
            for f in FIELDS]  # fmt: skip
    bridge = [(f.key, f.name, f.unit, f.precision, f.enabled_by_default, f.state_class)
              for f in BRIDGE_FIELDS]  # fmt: skip
    assert ours == bridge
    for price in (81187.93, 1.0, 0.2141, 0.00001234, 0.0):
        assert price_precision(price) == bridge_precision(price)


def test_translations_name_every_field_and_match_strings() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    assert strings == json.loads((INTEGRATION / "translations" / "en.json").read_text())
    names = strings["entity"]["sensor"]
    assert {k: v["name"] for k, v in names.items()} == {f.key: f.name for f in FIELDS}
    icons = json.loads((INTEGRATION / "icons.json").read_text())["entity"]["sensor"]
    assert set(icons) == {f.key for f in FIELDS}
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    assert manifest["dependencies"] == ["mqtt"]
    assert manifest["iot_class"] == "local_push"
    assert manifest["config_flow"] is True


# --- config flow ------------------------------------------------------------------------------


async def test_flow_finds_the_bridges_coins_and_creates_an_entry(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] == FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await answer_find(
        hass, mqtt_mock,
        hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "cmc"}),
        {"crypto_ids": [1, 1027, 74], "version": "x"},
    )  # fmt: skip
    assert result["type"] == FlowResultType.FORM
    assert result["step_id"] == "coins"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_COINS: ["1", "74"], CONF_FIELDS: ["p", "p24h"]}
    )
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert result["title"] == "cmc-mqtt (cmc)"
    assert result["data"] == {CONF_PREFIX: "cmc"}
    assert result["options"] == {CONF_COINS: [1, 74], CONF_FIELDS: ["p", "p24h"]}
    await hass.async_block_till_done()
    assert hass.states.get("sensor.dogecoin_doge_price") is not None


async def test_flow_also_finds_coins_by_their_status_and_survives_bad_info(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    step = hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "cmc"})
    task = asyncio.ensure_future(step)
    for _ in range(500):
        if "cmc/+/status" in [c.args[0] for c in mqtt_mock.async_subscribe.call_args_list]:
            break
        await asyncio.sleep(0.01)
    async_fire_mqtt_message(hass, "cmc/bridge/info", "not json", retain=True)
    async_fire_mqtt_message(hass, "cmc/5426/status", "online", retain=True)
    async_fire_mqtt_message(hass, "cmc/bridge/status", "online", retain=True)  # not a coin
    # A broker delivers a retained topic once per subscription; the good info arrives live.
    async_fire_mqtt_message(hass, "cmc/bridge/info", json.dumps({"crypto_ids": [1]}))
    result = await asyncio.wait_for(task, 10)
    assert result["step_id"] == "coins"
    schema = result["data_schema"].schema
    coins_field = next(k for k in schema if k == CONF_COINS)
    assert sorted(schema[coins_field].options) == ["1", "5426"]


async def test_flow_reports_when_no_bridge_answers(hass: HomeAssistant, mqtt_mock: Any) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    with patch.object(const, "FIND_TIMEOUT", 0.2):
        result = await answer_find(
            hass, mqtt_mock,
            hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "cmc"}),
            None,
        )  # fmt: skip
    assert result["type"] == FlowResultType.FORM
    assert result["errors"] == {"base": "no_coins_found"}


@pytest.mark.parametrize("prefix", ["a/#", "cmc/", "$SYS", "a//b", ""])
async def test_flow_rejects_unusable_prefixes(
    hass: HomeAssistant, mqtt_mock: Any, prefix: str
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: prefix}
    )
    assert result["errors"] == {CONF_PREFIX: "invalid_prefix"}


async def test_flow_refuses_a_second_entry_for_the_same_prefix(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    await add_entry(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "cmc"})
    assert result["type"] == FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_flow_needs_a_selection(hass: HomeAssistant, mqtt_mock: Any) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await answer_find(
        hass, mqtt_mock,
        hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "cmc"}),
        {"crypto_ids": [1]},
    )  # fmt: skip
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_COINS: [], CONF_FIELDS: ["p"]}
    )
    assert result["errors"] == {"base": "nothing_selected"}


async def test_flow_aborts_without_mqtt(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert result["type"] == FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


async def test_flow_aborts_when_mqtt_is_not_connected(hass: HomeAssistant, mqtt_mock: Any) -> None:
    # A broker that stays away cannot be staged quickly here: Home Assistant would wait for it.
    with patch(
        "custom_components.cmc_mqtt.config_flow.mqtt.async_wait_for_mqtt_client",
        return_value=False,
    ):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert result["type"] == FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_connected"


# --- options and reconfigure ------------------------------------------------------------------


async def test_options_change_coins_and_fields_without_a_restart(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    entry = await add_entry(hass, coins=[1, 1027], fields=["p", "p24h"])
    assert hass.states.get("sensor.ethereum_eth_price") is not None
    result = await answer_find(
        hass, mqtt_mock, hass.config_entries.options.async_init(entry.entry_id),
        {"crypto_ids": [1, 1027, 5426]},
    )  # fmt: skip
    assert result["type"] == FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COINS: ["1", "5426"], CONF_FIELDS: ["p", "mc"]}
    )
    assert result["type"] == FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    assert registry.async_get("sensor.solana_sol_market_cap") is not None
    assert registry.async_get("sensor.ethereum_eth_price") is None  # no orphans
    assert registry.async_get("sensor.bitcoin_btc_change_24h") is None
    devices = dr.async_get(hass)
    assert devices.async_get_device(identifiers={(DOMAIN, f"{entry.entry_id}_1027")}) is None


async def test_options_need_a_selection(hass: HomeAssistant, mqtt_mock: Any) -> None:
    entry = await add_entry(hass)
    result = await answer_find(
        hass, mqtt_mock, hass.config_entries.options.async_init(entry.entry_id),
        {"crypto_ids": [1]},
    )  # fmt: skip
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COINS: ["1"], CONF_FIELDS: []}
    )
    assert result["errors"] == {"base": "nothing_selected"}


async def start_reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result: dict[str, Any] = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
    )
    return result


async def test_reconfigure_changes_the_prefix(hass: HomeAssistant, mqtt_mock: Any) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    result = await start_reconfigure(hass, entry)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: "office/cmc"}
    )
    assert result["type"] == FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_PREFIX] == "office/cmc"
    assert entry.unique_id == "office/cmc"
    await bridge_online(hass, 1, prefix="office/cmc")
    await fire(hass, "office/cmc/1/p", "42.5")
    assert hass.states.get(BTC).state == "42.5"


async def test_reconfigure_refuses_bad_or_taken_prefixes(
    hass: HomeAssistant, mqtt_mock: Any
) -> None:
    entry = await add_entry(hass, prefix="cmc")
    await add_entry(hass, prefix="other", coins=[74], fields=["p"])
    result = await start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "a#"})
    assert result["errors"] == {CONF_PREFIX: "invalid_prefix"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: "other"}
    )
    assert result["errors"] == {CONF_PREFIX: "already_configured"}


async def test_reconfigure_of_a_vanished_entry_aborts(hass: HomeAssistant, mqtt_mock: Any) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "reconfigure", "entry_id": "gone"}
    )
    assert result["reason"] == "entry_not_found"


# --- entities ---------------------------------------------------------------------------------


async def test_sensors_follow_the_bridges_topics(hass: HomeAssistant, mqtt_mock: Any) -> None:
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
    assert change.unique_id.endswith("_1_p24h")
    assert not change.unique_id.startswith("cmc_mqtt_1")  # never the bridge's discovery ids
    device = dr.async_get(hass).async_get(registry.async_get(BTC).device_id)
    assert device.name == "Bitcoin (BTC)"
    assert device.manufacturer == "CoinMarketCap"


async def test_price_precision_follows_the_first_price(hass: HomeAssistant, mqtt_mock: Any) -> None:
    await add_entry(hass, coins=[74, 1], fields=["p"])
    await bridge_online(hass, 74, 1)
    await fire(hass, "cmc/74/p", "0.2141253679644425")
    await fire(hass, "cmc/1/p", "81187.93")
    registry = er.async_get(hass)
    doge = registry.async_get("sensor.dogecoin_doge_price")
    assert doge.options["sensor"]["suggested_display_precision"] == 4
    btc = registry.async_get(BTC)
    assert btc.options["sensor"]["suggested_display_precision"] == 2


async def test_availability_follows_bridge_and_coin_status(
    hass: HomeAssistant, mqtt_mock: Any
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


async def test_non_numeric_payloads_are_ignored_and_logged_once(
    hass: HomeAssistant, mqtt_mock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await add_entry(hass)
    await bridge_online(hass, 1)
    await fire(hass, "cmc/1/p", "100.5")
    for bad in ("abc", "", "NaN", "Infinity", "{}"):
        await fire(hass, "cmc/1/p", bad)
    assert hass.states.get(BTC).state == "100.5"
    assert caplog.text.count("ignoring a non-numeric payload on cmc/1/p") == 1


async def test_unload_releases_the_subscriptions(hass: HomeAssistant, mqtt_mock: Any) -> None:
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


async def test_setup_waits_for_mqtt(hass: HomeAssistant, mqtt_mock: Any) -> None:
    with patch("custom_components.cmc_mqtt.mqtt.async_wait_for_mqtt_client", return_value=False):
        entry = MockConfigEntry(domain=DOMAIN, data={CONF_PREFIX: "cmc"}, options={})
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is config_entries.ConfigEntryState.SETUP_RETRY


async def test_diagnostics_redact_secrets(hass: HomeAssistant, mqtt_mock: Any) -> None:
    entry = await add_entry(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, "api_key": "secret-key"})
    await hass.async_block_till_done()  # the update reloads the entry
    await bridge_online(hass, 1)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert "secret-key" not in json.dumps(diagnostics)
    assert diagnostics["entry"]["data"]["api_key"] == "**REDACTED**"
    assert diagnostics["bridge_online"] is True
    assert diagnostics["coins"]["1"] == {"online": True}
