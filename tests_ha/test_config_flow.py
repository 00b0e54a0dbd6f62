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
from custom_components.cmc_mqtt.const import (
    CONF_COINS,
    CONF_FIELDS,
    CONF_FOLLOW,
    CONF_PREFIX,
    DOMAIN,
)

from .helpers import (
    BTC,
    add_entry,
    answer_find,
    answer_request,
    bridge_online,
    coin_entities,
    device_with,
    entry_options,
    fire,
    mock_entry,
    options_step,
)

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
    # New entries follow the bridge's coins; 1027 was streamed and left out.
    assert result["options"] == entry_options([1, 74], ["p", "p24h"], follow=True,
                                              bridge=[1, 74, 1027])  # fmt: skip
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


async def finish(hass: HomeAssistant, mqtt: Any, flow_id: str, prefix: str = "cmc") -> None:
    """After an error, the user corrects it and the flow ends with an entry."""
    result = await answer_find(
        hass, mqtt,
        hass.config_entries.flow.async_configure(flow_id, {CONF_PREFIX: prefix}),
        {"crypto_ids": [1, 1027]}, prefix,
    )  # fmt: skip
    assert result["step_id"] == "coins"
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_COINS: ["1"], CONF_FIELDS: ["p"]}
    )
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_PREFIX: prefix}
    await hass.async_block_till_done()


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
    await finish(hass, mqtt_ready, result["flow_id"])  # the bridge is running now


@pytest.mark.parametrize("prefix", ["a/#", "cmc/", "$SYS", "a//b", ""])
async def test_flow_rejects_unusable_prefixes(
    hass: HomeAssistant, mqtt_ready: Any, prefix: str
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: prefix}
    )
    assert result["errors"] == {CONF_PREFIX: "invalid_prefix"}
    await finish(hass, mqtt_ready, result["flow_id"], "office/cmc")


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
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_COINS: ["1"], CONF_FIELDS: ["p"], CONF_FOLLOW: False}
    )
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert result["options"] == entry_options([1], ["p"], follow=False)


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
    result = await options_step(
        hass, mqtt_ready, entry, "entities", {"crypto_ids": [1, 1027, 5426]}
    )
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
    result = await options_step(hass, mqtt_ready, entry, "entities", {"crypto_ids": [1]})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COINS: ["1"], CONF_FIELDS: []}
    )
    assert result["errors"] == {"base": "nothing_selected"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COINS: ["1"], CONF_FIELDS: ["vu"]}
    )
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_FIELDS] == ["vu"]


# --- coins added to and removed from the bridge ------------------------------------------------


def choices(result: dict[str, Any], key: str) -> list[str]:
    """The values a select field of a form offers."""
    schema = result["data_schema"].schema
    field = next(k for k in schema if k == key)
    return [option["value"] for option in schema[field].config["options"]]


async def test_coins_added_on_the_bridge_become_sensors(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    result = await options_step(hass, mqtt_ready, entry, "add_coins", {"crypto_ids": [1, 1027]})
    assert result["step_id"] == "add_coins"
    offered = choices(result, "known")
    assert "1839" in offered  # BNB, by name and symbol
    assert "1" not in offered  # already on the bridge
    configure = hass.config_entries.options.async_configure(
        result["flow_id"], {"known": ["1839"], "ids": "52, 74"}
    )
    ok = {"status": "ok", "data": {"ids": [1839, 52, 74], "coins": [1, 1027, 1839, 52, 74]}}
    result, request = await answer_request(hass, mqtt_ready, configure, "coins/add", ok)
    assert request["ids"] == [1839, 52, 74]
    assert isinstance(request["transaction"], str)
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_COINS] == [1, 1839, 52, 74]
    await hass.async_block_till_done()
    assert hass.states.get("sensor.bnb_bnb_price") is not None
    assert hass.states.get("sensor.xrp_xrp_price") is not None


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("limit reached: no room on this key's connections for 52", "limit_reached"),
        ("over budget: with these coins the stream costs about 38,880 credits", "over_budget"),
        ("unknown id: 99999999", "unknown_id"),
        ("refused: requests must not be retained", "refused"),
    ],
)
async def test_the_bridges_refusal_is_shown(
    hass: HomeAssistant, mqtt_ready: Any, error: str, reason: str
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    result = await options_step(hass, mqtt_ready, entry, "add_coins", {"crypto_ids": [1]})
    configure = hass.config_entries.options.async_configure(result["flow_id"], {"ids": "52"})
    refusal = {"status": "error", "error": error, "data": {}}
    result, _ = await answer_request(hass, mqtt_ready, configure, "coins/add", refusal)
    assert result["type"] == FlowResultType.FORM
    assert result["errors"] == {"base": reason}
    assert result["description_placeholders"] == {"answer": f"\n\n> {error}"}
    assert entry.options[CONF_COINS] == [1]  # nothing changed
    await add_after_all(hass, mqtt_ready, entry, result["flow_id"])


async def add_after_all(
    hass: HomeAssistant, mqtt: Any, entry: MockConfigEntry, flow_id: str
) -> None:
    """Asked again, the bridge agrees: the flow ends and the coin is the entry's."""
    configure = hass.config_entries.options.async_configure(flow_id, {"ids": "52"})
    ok = {"status": "ok", "data": {"ids": [52], "coins": [1, 52]}}
    result, _ = await answer_request(hass, mqtt, configure, "coins/add", ok)
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_COINS] == [1, 52]


async def test_an_answer_to_someone_else_is_not_ours(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    result = await options_step(hass, mqtt_ready, entry, "add_coins", {"crypto_ids": [1]})
    with patch.object(const, "REQUEST_TIMEOUT", 0.3):
        configure = hass.config_entries.options.async_configure(result["flow_id"], {"ids": "52"})
        task = asyncio.ensure_future(configure)
        await asyncio.sleep(0.05)
        for other in ('{"status": "ok", "transaction": "not-ours"}', "garbage", "[1]"):
            async_fire_mqtt_message(hass, "cmc/bridge/response/coins/add", other)
        result = await asyncio.wait_for(task, 10)
    assert result["errors"] == {"base": "no_answer"}
    assert result["description_placeholders"] == {"answer": ""}
    await add_after_all(hass, mqtt_ready, entry, result["flow_id"])


async def test_typed_ids_must_be_ids_and_something_must_be_chosen(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    result = await options_step(hass, mqtt_ready, entry, "add_coins", {"crypto_ids": [1]})
    configure = hass.config_entries.options.async_configure
    result = await configure(result["flow_id"], {"ids": "52, bitcoin"})
    assert result["errors"] == {"ids": "invalid_ids"}
    result = await configure(result["flow_id"], {"ids": " "})
    assert result["errors"] == {"base": "no_coins_chosen"}
    assert not [c for c in mqtt_ready.async_publish.call_args_list if "request" in c.args[0]]
    await add_after_all(hass, mqtt_ready, entry, result["flow_id"])


async def test_coins_removed_from_the_bridge_lose_their_sensors(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1, 1027], fields=["p"])
    result = await options_step(
        hass, mqtt_ready, entry, "remove_coins", {"crypto_ids": [1, 1027, 5426]}
    )
    assert choices(result, CONF_COINS) == ["1", "1027", "5426"]
    configure = hass.config_entries.options.async_configure
    result = await configure(result["flow_id"], {})
    assert result["errors"] == {"base": "no_coins_chosen"}
    ok = {"status": "ok", "data": {"ids": [1027], "coins": [1, 5426]}}
    result, request = await answer_request(
        hass, mqtt_ready, configure(result["flow_id"], {CONF_COINS: ["1027"]}), "coins/remove", ok
    )
    assert request["ids"] == [1027]
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_COINS] == [1]
    await hass.async_block_till_done()
    assert er.async_get(hass).async_get("sensor.ethereum_eth_price") is None


async def test_a_removal_nobody_answers_changes_nothing(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1, 1027], fields=["p"])
    result = await options_step(hass, mqtt_ready, entry, "remove_coins", {"crypto_ids": [1, 1027]})
    with patch.object(const, "REQUEST_TIMEOUT", 0.2):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_COINS: ["1027"]}
        )
    assert result["errors"] == {"base": "no_answer"}
    assert entry.options[CONF_COINS] == [1, 1027]
    ok = {"status": "ok", "data": {"ids": [1027], "coins": [1]}}
    configure = hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COINS: ["1027"]}
    )
    result, _ = await answer_request(hass, mqtt_ready, configure, "coins/remove", ok)
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_COINS] == [1]


async def test_the_bridge_is_asked_only_through_a_loaded_entry(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = mock_entry()
    entry.add_to_hass(hass)  # not set up
    result = await hass.config_entries.options.async_init(entry.entry_id)
    for step in ("add_coins", "remove_coins"):
        menu = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            menu["flow_id"], {"next_step_id": step}
        )
        assert result["type"] == FlowResultType.ABORT
        assert result["reason"] == "not_loaded"


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
    assert len(coin_entities(hass, entry.entry_id)) == 1
    stream = registry.async_get("binary_sensor.cmc_mqtt_bridge_stream")
    assert stream.unique_id == "office/cmc/bridge/stream"  # the bridge device moves along
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
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PREFIX: "new"})
    assert result["type"] == FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PREFIX] == "new"


async def test_reconfigure_of_a_vanished_entry_aborts(hass: HomeAssistant, mqtt_ready: Any) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "reconfigure", "entry_id": "gone"}
    )
    assert result["reason"] == "entry_not_found"
