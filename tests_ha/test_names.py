"""Coins beyond the bundled ten, named by the bridge: its retained `bridge/names`, written here
by the bridge's own report, names their devices (so their entities), the options flow's lists
and circulating supply's unit, and renames devices made before the names came."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from cmc_mqtt.model.coins import CoinInfo
from custom_components.cmc_mqtt.const import DOMAIN
from custom_components.cmc_mqtt.names import CoinName, parse_names

from .bridge_messages import bridge_names
from .helpers import add_entry, bridge_online, device_with, entity_state, fire, options_step

PEPE = CoinInfo(24478, "Pepe", "PEPE", "pepe")
PRICE = "sensor.cmc_24478_price"  # made before any name was known
SUPPLY = "sensor.cmc_24478_circulating_supply"


def pepe_device(hass: HomeAssistant, entry_id: str) -> dr.DeviceEntry:
    device = device_with(hass, entry_id, (DOMAIN, "cmc/24478"))
    assert device is not None
    return device


async def named_entry(hass: HomeAssistant) -> str:
    """An entry for Pepe and Bitcoin, its supply sensor enabled, the bridge online; no names
    heard yet."""
    entry = await add_entry(hass, coins=[24478, 1], fields=["p", "cs"])
    er.async_get(hass).async_update_entity(SUPPLY, disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await bridge_online(hass, 24478, 1)
    await fire(hass, "cmc/24478/p", "0.00001234")
    await fire(hass, "cmc/24478/cs", "420690000000000")
    return entry.entry_id


# --- the payload --------------------------------------------------------------------------------


def test_names_are_read_as_the_bridge_writes_them() -> None:
    payload = bridge_names(24478, 1, 99999, fetched=(PEPE,))
    assert parse_names(payload) == {
        24478: CoinName("Pepe", "PEPE", "pepe"),
        1: CoinName("Bitcoin", "BTC", "bitcoin"),
    }  # 99999 has no name the bridge knows: left out, as the bridge leaves it out


@pytest.mark.parametrize("payload", ["", "not json", "[1, 2]", '"Pepe"', "null", b"\xff"])
def test_a_payload_that_is_not_an_object_is_no_names_at_all(payload: Any) -> None:
    assert parse_names(payload) is None


def test_entries_of_the_wrong_shape_are_left_out_and_text_is_made_safe() -> None:
    payload = {
        "24478": {"name": " Pe\x00pe\x1b[31m \u0085", "symbol": "PE\nPE", "slug": "pepe"},
        "5": {"name": "N" * 100, "symbol": "S" * 40, "slug": "javascript:alert(1)"},
        "6": {"name": "Six", "symbol": "SIX", "slug": "x" * 65},
        "0": {"name": "Zero", "symbol": "Z"},
        str(2**31): {"name": "Huge", "symbol": "H"},
        "-1": {"name": "Minus", "symbol": "M"},
        "٣": {"name": "Arabic three", "symbol": "A"},
        "btc": {"name": "Bitcoin", "symbol": "BTC"},
        "7": "Seven",
        "8": {"name": "Eight"},
        "9": {"name": "\x01\x02", "symbol": "NINE"},
        "10": {"name": 10, "symbol": "TEN"},
    }
    assert parse_names(json.dumps(payload)) == {
        24478: CoinName("Pepe[31m", "PEPE", "pepe"),
        5: CoinName("N" * 64, "S" * 16, None),
        6: CoinName("Six", "SIX", None),
    }


# --- in Home Assistant --------------------------------------------------------------------------


async def test_without_the_topic_a_coin_keeps_its_number(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry_id = await named_entry(hass)
    assert pepe_device(hass, entry_id).name == "CMC #24478"
    assert pepe_device(hass, entry_id).configuration_url is None
    assert entity_state(hass, PRICE).attributes["friendly_name"] == "CMC #24478 Price"
    assert entity_state(hass, SUPPLY).attributes["unit_of_measurement"] == "coins"
    bitcoin = device_with(hass, entry_id, (DOMAIN, "cmc/1"))
    assert bitcoin is not None
    assert bitcoin.name == "Bitcoin (BTC)"  # the bundled table


async def test_names_arriving_after_set_up_rename_the_devices(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry_id = await named_entry(hass)
    mine = CoinInfo(1, "My Bitcoin", "XBT")  # the user's override beats the bundled name
    await fire(
        hass, "cmc/bridge/names", bridge_names(24478, 1, fetched=(PEPE,), overrides={1: mine})
    )
    device = pepe_device(hass, entry_id)
    assert device.name == "Pepe (PEPE)"
    assert device.configuration_url == "https://coinmarketcap.com/currencies/pepe/"
    assert entity_state(hass, PRICE).attributes["friendly_name"] == "Pepe (PEPE) Price"
    assert entity_state(hass, PRICE).state == "0.00001234"
    assert entity_state(hass, SUPPLY).attributes["unit_of_measurement"] == "PEPE"
    bitcoin = device_with(hass, entry_id, (DOMAIN, "cmc/1"))
    assert bitcoin is not None
    assert bitcoin.name == "My Bitcoin (XBT)"
    assert bitcoin.configuration_url == "https://coinmarketcap.com/currencies/bitcoin/"
    friendly = entity_state(hass, "sensor.bitcoin_btc_price").attributes["friendly_name"]
    assert friendly == "My Bitcoin (XBT) Price"
    # A new name follows; a name the user gave the device stays theirs.
    dr.async_get(hass).async_update_device(device.id, name_by_user="Frog coin")
    await fire(
        hass, "cmc/bridge/names", bridge_names(24478, fetched=(CoinInfo(24478, "Pepe 2", "PEPE2"),))
    )
    device = pepe_device(hass, entry_id)
    assert (device.name, device.name_by_user) == ("Pepe 2 (PEPE2)", "Frog coin")
    assert device.configuration_url is None  # no slug: no page
    assert entity_state(hass, PRICE).attributes["friendly_name"] == "Frog coin Price"
    assert entity_state(hass, SUPPLY).attributes["unit_of_measurement"] == "PEPE2"
    bitcoin = device_with(hass, entry_id, (DOMAIN, "cmc/1"))
    assert bitcoin is not None
    assert bitcoin.name == "Bitcoin (BTC)"  # no longer named by the bridge: the bundled name


async def test_devices_made_after_the_names_carry_them(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/bridge/names", bridge_names(1, 24478, fetched=(PEPE,)))
    updates: list[dict[str, Any]] = []
    hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, lambda e: updates.append(e.data))
    # The options add Pepe: the entry reloads and makes its device and entities by name.
    hass.config_entries.async_update_entry(entry, options={"coins": [1, 24478], "fields": ["p"]})
    await hass.async_block_till_done()
    state = entity_state(hass, "sensor.pepe_pepe_price")
    assert state.attributes["friendly_name"] == "Pepe (PEPE) Price"
    device = pepe_device(hass, entry.entry_id)
    assert device.name == "Pepe (PEPE)"
    assert device.configuration_url == "https://coinmarketcap.com/currencies/pepe/"
    # The broker delivers the same retained names again: nothing to rename.
    await fire(hass, "cmc/bridge/names", bridge_names(1, 24478, fetched=(PEPE,)))
    assert [u for u in updates if u["action"] == "update" and "name" in u["changes"]] == []


async def test_bad_payloads_change_no_name(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry_id = await named_entry(hass)
    await fire(hass, "cmc/bridge/names", bridge_names(24478, fetched=(PEPE,)))
    for bad in ("not json", "[]", '"Pepe"', ""):
        await fire(hass, "cmc/bridge/names", bad)
        assert pepe_device(hass, entry_id).name == "Pepe (PEPE)", bad
    # An object whose entries are not names names nothing: the coin is a number again.
    await fire(hass, "cmc/bridge/names", '{"24478": "Pepe", "x": {"name": "X", "symbol": "X"}}')
    assert pepe_device(hass, entry_id).name == "CMC #24478"
    assert entity_state(hass, SUPPLY).attributes["unit_of_measurement"] == "coins"


# --- the options flow ---------------------------------------------------------------------------


def labels(result: dict[str, Any], key: str) -> dict[str, str]:
    """What a coin field of a form offers: value -> label."""
    schema = result["data_schema"].schema
    field = schema[next(k for k in schema if k == key)]
    options = getattr(field, "options", None)  # cv.multi_select
    if isinstance(options, dict):
        return dict(options)
    return {o["value"]: o["label"] for o in field.config["options"]}  # a select selector


async def test_the_options_list_coins_by_the_bridges_names(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[24478, 1], fields=["p"])
    info = {"crypto_ids": [1, 24478, 99999]}
    result = await options_step(hass, mqtt_ready, entry, "entities", info)
    assert labels(result, "coins")["24478"] == "CMC #24478 [24478]"  # before any names
    await fire(hass, "cmc/bridge/names", bridge_names(1, 24478, 99999, fetched=(PEPE,)))
    result = await options_step(hass, mqtt_ready, entry, "entities", info)
    assert labels(result, "coins") == {
        "1": "Bitcoin (BTC) [1]",
        "24478": "Pepe (PEPE) [24478]",
        "99999": "CMC #99999 [99999]",
    }
    result = await options_step(hass, mqtt_ready, entry, "remove_coins", info)
    assert labels(result, "coins")["24478"] == "Pepe (PEPE) [24478]"
