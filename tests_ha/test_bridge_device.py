"""The custom integration's bridge device: the same entities as the bridge's discovery gives,
reading the same topics, from a table checked equal to the bridge's; its buttons ask the
bridge and show its answer."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from cmc_mqtt.homeassistant.bridge_entities import BRIDGE_ENTITIES as BRIDGE_TABLE
from cmc_mqtt.homeassistant.discovery import bridge_default_entity_id
from cmc_mqtt.model.coins import BUNDLED_COINS
from cmc_mqtt.rest.key_info import KeyInfo
from custom_components.cmc_mqtt import async_remove_config_entry_device, const
from custom_components.cmc_mqtt.bridge_entities import BRIDGE_ENTITIES, NOISY, value_of
from custom_components.cmc_mqtt.const import DOMAIN
from custom_components.cmc_mqtt.diagnostics import async_get_config_entry_diagnostics
from custom_components.cmc_mqtt.fields import KNOWN_COINS

from .bridge_messages import bridge_credits, bridge_info, context
from .helpers import add_entry, answer_request, device_with, fire

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "cmc_mqtt"
STREAM = "binary_sensor.cmc_mqtt_bridge_stream"


# --- the table ----------------------------------------------------------------------------------


def test_bridge_table_matches_the_bridges() -> None:
    """Row by row, but for the noisy figures, which only the integration disables by default
    (the bridge's discovery may come to disable them too: then the two are equal)."""
    ours = [dataclasses.replace(e, enabled_by_default=True) if e.key in NOISY else e
            for e in BRIDGE_ENTITIES]  # fmt: skip
    assert [dataclasses.astuple(e) for e in ours] == [
        dataclasses.astuple(
            dataclasses.replace(e, enabled_by_default=True) if e.key in NOISY else e
        )
        for e in BRIDGE_TABLE
    ]
    assert {e.key for e in BRIDGE_ENTITIES if not e.enabled_by_default} == NOISY


def test_known_coins_match_the_bridges_bundled_names() -> None:
    assert {cid: (c.name, c.symbol, c.slug) for cid, c in BUNDLED_COINS.items()} == KNOWN_COINS


def test_translations_and_icons_name_every_bridge_entity() -> None:
    strings = json.loads((INTEGRATION / "strings.json").read_text())
    icons = json.loads((INTEGRATION / "icons.json").read_text())["entity"]
    for entity in BRIDGE_ENTITIES:
        assert strings["entity"][entity.platform][entity.key] == {"name": entity.name}
        icon = icons.get(entity.platform, {}).get(entity.key)
        assert icon == ({"default": entity.icon} if entity.icon else None), entity.key


@pytest.mark.parametrize(
    ("payload", "values"),
    [
        (None, {"version": None, "connections": None, "credits_left": None}),
        ({"version": "1.2", "connections": "x"}, {"version": "1.2", "connections": 0}),
        ({"connections": [{"connected": True}, {"connected": False}, 5]}, {"connections": 1}),
        ({"key": None}, {"credits_left": None}),
        ({"key": {"left": 12.5}}, {"credits_left": 12.5}),
        ({"key": 7}, {"credits_left": None}),
    ],
)
def test_values_are_read_as_the_discovery_templates_read_them(
    payload: dict[str, Any] | None, values: dict[str, Any]
) -> None:
    table = {e.key: e for e in BRIDGE_ENTITIES}
    assert {key: value_of(table[key], payload) for key in values} == values


# --- the entities -------------------------------------------------------------------------------


async def test_the_bridge_device_has_the_discovery_entity_ids(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    registry = er.async_get(hass)
    device = device_with(hass, entry.entry_id, (DOMAIN, "cmc/bridge"))
    assert device is not None
    assert device.name == "cmc-mqtt bridge"
    ctx = context()
    for entity in BRIDGE_ENTITIES:
        expected = bridge_default_entity_id(
            ctx, next(e for e in BRIDGE_TABLE if e.key == entity.key)
        )
        entry_id = registry.async_get_entity_id(entity.platform, DOMAIN, f"cmc/bridge/{entity.key}")
        assert entry_id == expected
        registered = registry.async_get(entry_id)
        assert registered.device_id == device.id
        assert registered.entity_category == entity.category
        disabled = entity.key in NOISY
        assert (registered.disabled_by is not None) is disabled, entity.key
    assert device.entry_type == dr.DeviceEntryType.SERVICE


async def enable_noisy(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """The figures that change with every frame, disabled by default, enabled as a user
    would (the entry reloads to add them)."""
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.unique_id.rsplit("/", 1)[-1] in NOISY:
            registry.async_update_entity(entity.entity_id, disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


async def test_the_bridge_entities_show_what_the_bridge_publishes(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await enable_noisy(hass, await add_entry(hass, coins=[1], fields=["p"]))
    assert hass.states.get(STREAM).state == STATE_UNKNOWN  # no status seen yet
    info = bridge_info(1, 1027)
    await fire(hass, "cmc/status", "online")
    await fire(hass, "cmc/bridge/info", info)
    await fire(hass, "cmc/bridge/credits", bridge_credits())

    def state(name: str) -> str:
        return hass.states.get(f"sensor.cmc_mqtt_bridge_{name}").state

    await fire(hass, "cmc/status", "online")  # said again (a republish): nothing changes
    assert hass.states.get(STREAM).state == "on"
    assert hass.states.get(STREAM).attributes["device_class"] == "connectivity"
    assert state("version") == "1.2.3"
    assert state("connections_in_use") == "1"
    assert state("frames_received") == str(json.loads(info)["frames"])
    assert state("reconnects") == "0"
    last = dt_util.parse_datetime(json.loads(info)["last_frame_time"])
    assert dt_util.parse_datetime(state("last_frame")) == last
    assert float(state("credits_used_this_month")) == 1200.0
    assert state("credits_left") == STATE_UNKNOWN
    key = KeyInfo(used=100.0, left=9900.0, limit=10000.0, day_used=5.0, checked="x")
    await fire(hass, "cmc/bridge/credits", bridge_credits(key=key))
    assert float(state("credits_left")) == 9900.0
    budget = "binary_sensor.cmc_mqtt_bridge_credit_budget"
    assert hass.states.get(budget).state == "off"
    assert hass.states.get(budget).attributes["device_class"] == "problem"
    await fire(hass, "cmc/bridge/credits", bridge_credits(key=key, budget=100))  # far over it
    assert hass.states.get(budget).state == "on"
    await fire(hass, "cmc/bridge/info", bridge_info(1, frames=False))
    assert state("last_frame") == STATE_UNKNOWN
    await fire(hass, "cmc/bridge/info", "not json")
    assert state("version") == STATE_UNKNOWN
    await fire(hass, "cmc/status", "offline")
    assert hass.states.get(STREAM).state == "off"  # shown, not unavailable
    assert float(state("credits_left")) == 9900.0
    assert hass.states.get("sensor.bitcoin_btc_price").state == STATE_UNAVAILABLE


async def test_going_away_and_coming_back_are_each_logged_once(
    hass: HomeAssistant, mqtt_ready: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/status", "online")
    assert "back online" not in caplog.text  # it was never away
    for _ in range(2):
        await fire(hass, "cmc/status", "offline")
        await fire(hass, "cmc/status", "offline")  # said again: nothing new
        await fire(hass, "cmc/status", "online")
        await fire(hass, "cmc/status", "online")
    assert caplog.text.count("the cmc-mqtt bridge on 'cmc' is offline") == 2
    assert caplog.text.count("the cmc-mqtt bridge on 'cmc' is back online") == 2


async def test_a_bridge_offline_from_the_start_is_logged(
    hass: HomeAssistant, mqtt_ready: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/status", "offline")  # its retained last will
    await fire(hass, "cmc/status", "online")
    assert caplog.text.count("is offline") == 1
    assert caplog.text.count("is back online") == 1


async def test_every_device_shows_the_bridges_version(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass, coins=[1, 1027], fields=["p"])
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert [d.sw_version for d in devices] == [None] * 3  # not said yet
    await fire(hass, "cmc/bridge/info", bridge_info(1, 1027))
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert [d.sw_version for d in devices] == ["1.2.3"] * 3
    assert await hass.config_entries.async_reload(entry.entry_id)  # kept, and said again
    await hass.async_block_till_done()
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert [d.sw_version for d in devices] == ["1.2.3"] * 3
    newer = json.dumps({**json.loads(bridge_info(1, 1027)), "version": "1.3.0"})
    await fire(hass, "cmc/bridge/info", newer)
    device = device_with(hass, entry.entry_id, (DOMAIN, "cmc/bridge"))
    assert device is not None
    assert device.sw_version == "1.3.0"


async def test_only_a_device_the_entry_no_longer_uses_may_be_deleted(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    left = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "cmc/5426")}
    )
    assert await async_remove_config_entry_device(hass, entry, left)
    used = device_with(hass, entry.entry_id, (DOMAIN, "cmc/1"))
    assert used is not None
    assert not await async_remove_config_entry_device(hass, entry, used)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert not await async_remove_config_entry_device(hass, entry, left)  # cannot tell


async def test_the_bridge_device_stays_when_coins_change_and_moves_with_the_prefix(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    registry = er.async_get(hass)
    before = registry.async_get(STREAM)
    hass.config_entries.async_update_entry(entry, options={"coins": [74], "fields": ["p"]})
    await hass.async_block_till_done()
    assert registry.async_get(STREAM).id == before.id
    assert device_with(hass, entry.entry_id, (DOMAIN, "cmc/bridge")) is not None


async def test_diagnostics_include_what_the_bridge_reports(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/bridge/info", bridge_info(1))
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["bridge"]["info"]["version"] == "1.2.3"
    assert diagnostics["bridge"]["credits"] is None


# --- the buttons --------------------------------------------------------------------------------


def press(hass: HomeAssistant, name: str) -> Any:
    return hass.services.async_call(
        "button", "press", {"entity_id": f"button.cmc_mqtt_bridge_{name}"}, blocking=True
    )


@pytest.mark.parametrize(("name", "action"), [("republish", "republish"),
                                              ("reconnect_stream", "reconnect")])  # fmt: skip
async def test_a_button_asks_the_bridge(
    hass: HomeAssistant, mqtt_ready: Any, name: str, action: str
) -> None:
    await add_entry(hass, coins=[1], fields=["p"])
    ok = {"status": "ok", "data": {}}
    _, request = await answer_request(hass, mqtt_ready, press(hass, name), action, ok)
    assert set(request) == {"transaction"}
    state = hass.states.get(f"button.cmc_mqtt_bridge_{name}")
    assert state.state != STATE_UNKNOWN  # the time it was pressed


async def test_a_refused_press_shows_the_bridges_reason(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await add_entry(hass, coins=[1], fields=["p"])
    error = "not streaming: no connection is open (no coins, or the budget stopped it)"
    refusal = {"status": "error", "error": error, "data": {}}
    with pytest.raises(HomeAssistantError) as raised:
        await answer_request(hass, mqtt_ready, press(hass, "reconnect_stream"), "reconnect",
                             refusal)  # fmt: skip
    assert raised.value.translation_key == "request_not_streaming"
    assert raised.value.translation_placeholders == {"error": error}


async def test_a_press_nobody_answers_says_so(hass: HomeAssistant, mqtt_ready: Any) -> None:
    await add_entry(hass, coins=[1], fields=["p"])
    with patch.object(const, "REQUEST_TIMEOUT", 0.2), pytest.raises(HomeAssistantError) as raised:
        await answer_request(hass, mqtt_ready, press(hass, "republish"), "republish", None)
    assert raised.value.translation_key == "request_no_answer"
