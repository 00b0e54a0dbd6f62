"""The config flow, options and reconfigure of the custom integration inside Home Assistant."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.cmc_mqtt import const
from custom_components.cmc_mqtt.const import CONF_COINS, CONF_FIELDS, CONF_PREFIX, DOMAIN

from .helpers import BTC, add_entry, answer_find, bridge_online, device_with, fire

# --- config flow ------------------------------------------------------------------------------


async def test_flow_finds_the_bridges_coins_and_creates_an_entry(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] == FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await answer_find(
        hass, mqtt_ready,
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
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    step = hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "cmc"})
    task = asyncio.ensure_future(step)
    for _ in range(500):
        if "cmc/+/status" in [c.args[0] for c in mqtt_ready.async_subscribe.call_args_list]:
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


async def test_flow_reports_when_no_bridge_answers(hass: HomeAssistant, mqtt_ready: Any) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    with patch.object(const, "FIND_TIMEOUT", 0.2):
        result = await answer_find(
            hass, mqtt_ready,
            hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "cmc"}),
            None,
        )  # fmt: skip
    assert result["type"] == FlowResultType.FORM
    assert result["errors"] == {"base": "no_coins_found"}


@pytest.mark.parametrize("prefix", ["a/#", "cmc/", "$SYS", "a//b", ""])
async def test_flow_rejects_unusable_prefixes(
    hass: HomeAssistant, mqtt_ready: Any, prefix: str
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: prefix}
    )
    assert result["errors"] == {CONF_PREFIX: "invalid_prefix"}


async def test_flow_refuses_a_second_entry_for_the_same_prefix(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await add_entry(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "cmc"})
    assert result["type"] == FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_flow_needs_a_selection(hass: HomeAssistant, mqtt_ready: Any) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await answer_find(
        hass, mqtt_ready,
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


async def test_flow_aborts_when_mqtt_is_not_connected(hass: HomeAssistant, mqtt_ready: Any) -> None:
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
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1, 1027], fields=["p", "p24h"])
    assert hass.states.get("sensor.ethereum_eth_price") is not None
    result = await answer_find(
        hass, mqtt_ready, hass.config_entries.options.async_init(entry.entry_id),
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
    assert device_with(hass, entry.entry_id, (DOMAIN, "cmc/1027")) is None  # removed
    assert device_with(hass, entry.entry_id, (DOMAIN, "cmc/5426")) is not None


async def test_options_need_a_selection(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass)
    result = await answer_find(
        hass, mqtt_ready, hass.config_entries.options.async_init(entry.entry_id),
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


async def test_reconfigure_changes_the_prefix_and_keeps_the_entities(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    registry = er.async_get(hass)
    registry.async_update_entity(BTC, new_entity_id="sensor.my_btc")
    before = registry.async_get("sensor.my_btc")
    device = device_with(hass, entry.entry_id, (DOMAIN, "cmc/1"))
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
    assert hass.states.get("sensor.my_btc").state == "42.5"
    after = registry.async_get("sensor.my_btc")
    assert after.id == before.id  # the same registry entry: history and settings kept
    assert after.unique_id == "office/cmc/1/p"
    assert len(er.async_entries_for_config_entry(registry, entry.entry_id)) == 1
    moved = device_with(hass, entry.entry_id, (DOMAIN, "office/cmc/1"))
    assert moved is not None
    assert moved.id == device.id


async def test_reconfigure_refuses_bad_or_taken_prefixes(
    hass: HomeAssistant, mqtt_ready: Any
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


async def test_reconfigure_of_a_vanished_entry_aborts(hass: HomeAssistant, mqtt_ready: Any) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "reconfigure", "entry_id": "gone"}
    )
    assert result["reason"] == "entry_not_found"
