"""An entry that follows the bridge's coins: coins added on the bridge (by `coins/add`, the
add-on's options or its config) become devices with the entry's fields, removed ones go, coins
the user left out stay out; an entry that does not follow keeps its coins as pinned.

`bridge/info` is the bridge's own payload (bridge_messages.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cmc_mqtt.const import CONF_BRIDGE_COINS, CONF_COINS, CONF_FOLLOW, DOMAIN
from custom_components.cmc_mqtt.follow import followed_coins, remembered

from .bridge_messages import bridge_info
from .helpers import coin_devices, device_with, entry_options, fire, mock_entry, options_step

# --- the rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coins", "known", "bridge", "expected"),
    [
        ([1, 1027], [1, 1027], [1, 1027, 74], [1, 1027, 74]),  # added on the bridge
        ([1, 1027], [1, 1027], [1], [1]),  # removed from it
        ([1], [1, 1027], [1, 1027, 74], [1, 74]),  # 1027 was left out: it stays out
        ([1], None, [1, 1027], [1]),  # never seen: nothing counts as new
        ([1, 5], [1], [1], [1]),  # not streamed at all: gone
        ([74, 1], [1, 74], [1, 74, 2010], [74, 1, 2010]),  # the user's order, then new ones
        ([1], [1], [], []),  # a bridge that streams nothing
    ],
)
def test_which_coins_an_entry_follows(
    coins: list[int], known: list[int] | None, bridge: list[int], expected: list[int]
) -> None:
    assert followed_coins(coins, known, bridge) == expected


def test_only_a_following_entry_changes_its_coins() -> None:
    info = json.loads(bridge_info(1, 1027))
    data = {"topic_prefix": "cmc"}
    pinned = entry_options([1], ["p"])
    assert remembered(data, pinned, info) == (data, pinned)
    following = entry_options([1], ["p"], follow=True, bridge=[1])
    _, options = remembered(data, following, info)
    assert options == entry_options([1, 1027], ["p"], follow=True, bridge=[1, 1027])
    silent = {"version": "0.1.0"}  # an info without coins says nothing about them
    assert remembered({}, following, silent) == ({}, following)


# --- in Home Assistant ------------------------------------------------------------------------


async def following_entry(
    hass: HomeAssistant, coins: list[int], bridge: list[int], *, follow: bool = True
) -> MockConfigEntry:
    base = mock_entry(coins, ["p", "p24h"])
    options = entry_options(coins, ["p", "p24h"], follow=follow, bridge=bridge)
    entry = MockConfigEntry(
        domain=DOMAIN, title=base.title, unique_id="cmc", version=base.version,
        data=dict(base.data), options=options,
    )  # fmt: skip
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def coins_with_devices(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    return {
        value.rsplit("/", 1)[-1]
        for device in coin_devices(hass, entry.entry_id)
        for _, value in device.identifiers
    }


async def test_coins_added_on_the_bridge_appear_and_removed_ones_go(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await following_entry(hass, [1, 1027], [1, 1027])
    await fire(hass, "cmc/bridge/info", bridge_info(1, 1027, 74))
    await hass.async_block_till_done()
    assert entry.options[CONF_COINS] == [1, 1027, 74]
    assert coins_with_devices(hass, entry) == {"1", "1027", "74"}
    registry = er.async_get(hass)
    assert registry.async_get("sensor.dogecoin_doge_price") is not None  # the entry's fields
    assert registry.async_get("sensor.dogecoin_doge_change_24h") is not None
    await fire(hass, "cmc/bridge/info", bridge_info(74))
    await hass.async_block_till_done()
    assert entry.options[CONF_COINS] == [74]
    assert coins_with_devices(hass, entry) == {"74"}
    assert registry.async_get("sensor.bitcoin_btc_price") is None
    await fire(hass, "cmc/bridge/info", bridge_info(74))  # again: nothing to do
    assert entry.options[CONF_COINS] == [74]


async def test_coins_left_out_stay_out(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await following_entry(hass, [1], [1, 1027])
    await fire(hass, "cmc/bridge/info", bridge_info(1, 1027, 74))
    await hass.async_block_till_done()
    assert entry.options[CONF_COINS] == [1, 74]
    assert device_with(hass, entry.entry_id, (DOMAIN, "cmc/1027")) is None


async def test_pinned_coins_stay_as_they_are(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await following_entry(hass, [1, 1027], [1, 1027], follow=False)
    await fire(hass, "cmc/bridge/info", bridge_info(74))
    await hass.async_block_till_done()
    assert entry.options[CONF_COINS] == [1, 1027]
    assert coins_with_devices(hass, entry) == {"1", "1027"}


async def test_following_is_switched_in_the_options(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await following_entry(hass, [1], [1], follow=False)
    result = await options_step(hass, mqtt_ready, entry, "entities", {"crypto_ids": [1, 1027]})
    schema = result["data_schema"].schema
    follow = next(key for key in schema if key == CONF_FOLLOW)
    assert follow.default() is False  # as the entry has it
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COINS: ["1"], "fields": ["p"], CONF_FOLLOW: True}
    )
    assert result["type"] == FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_FOLLOW] is True
    assert entry.options[CONF_BRIDGE_COINS] == [1, 1027]  # 1027 was seen, and left out
    await fire(hass, "cmc/bridge/info", bridge_info(1, 1027, 52))
    await hass.async_block_till_done()
    assert entry.options[CONF_COINS] == [1, 52]
