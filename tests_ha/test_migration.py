"""Nobody loses an entity on upgrade, on removing and re-adding the entry, or on a new prefix.

Unique ids are scoped to the topic prefix since entry version 2; version 1 scoped them to the
entry id. Home Assistant keys history and user settings to the entity id, which the entity
registry keeps for a unique id, so every change of unique id goes through the registries.
"""

from __future__ import annotations

from typing import Any

import attr
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.cmc_mqtt.const import DOMAIN, ENTRY_VERSION

from .helpers import (
    BTC,
    add_entry,
    bridge_online,
    coin_devices,
    coin_entities,
    device_with,
    fire,
    mock_entry,
)

#: Home Assistant gives back a removed entity's id, name and area when its unique id comes
#: back (newer versions); older ones give back only the registry id.
RESTORES_SETTINGS = "name" in attr.fields_dict(er.DeletedRegistryEntry)


async def test_version_1_entities_keep_their_ids_and_settings(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = mock_entry(coins=[1], fields=["p", "p24h"], version=1, entry_id="old_entry")
    entry.add_to_hass(hass)
    entities, devices = er.async_get(hass), dr.async_get(hass)
    device = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, "old_entry_1")},
        name="Bitcoin (BTC)",
    )
    price = entities.async_get_or_create(
        "sensor", DOMAIN, "old_entry_1_p", config_entry=entry, device_id=device.id
    )
    entities.async_update_entity(price.entity_id, new_entity_id="sensor.my_btc", name="Mine")
    change = entities.async_get_or_create(
        "sensor",
        DOMAIN,
        "old_entry_1_p24h",
        config_entry=entry,
        device_id=device.id,
        suggested_object_id="bitcoin_btc_change_24h",
    )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.version == ENTRY_VERSION
    mine = entities.async_get("sensor.my_btc")
    assert (mine.id, mine.unique_id, mine.name) == (price.id, "cmc/1/p", "Mine")
    assert entities.async_get(change.entity_id).unique_id == "cmc/1/p24h"
    assert len(coin_entities(hass, entry.entry_id)) == 2  # no new ones
    assert hass.states.get(BTC) is None
    migrated = device_with(hass, entry.entry_id, (DOMAIN, "cmc/1"))
    assert migrated is not None
    assert migrated.id == device.id
    assert len(coin_devices(hass, entry.entry_id)) == 1
    await bridge_online(hass, 1)
    await fire(hass, "cmc/1/p", "81187.93")
    assert hass.states.get("sensor.my_btc").state == "81187.93"


async def test_an_entry_from_a_newer_version_is_not_touched(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = mock_entry(version=ENTRY_VERSION + 1)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR


async def test_removing_and_adding_the_entry_again_keeps_the_entities(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    entities = er.async_get(hass)
    entities.async_update_entity(BTC, new_entity_id="sensor.my_btc", name="Mine")
    before = entities.async_get("sensor.my_btc")
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert entities.async_get("sensor.my_btc") is None

    again = await add_entry(hass, coins=[1], fields=["p"])
    (after,) = coin_entities(hass, again.entry_id)
    assert after.unique_id == before.unique_id == "cmc/1/p"
    assert after.id == before.id
    if RESTORES_SETTINGS:
        assert (after.entity_id, after.name) == ("sensor.my_btc", "Mine")
    else:
        assert after.entity_id == BTC
