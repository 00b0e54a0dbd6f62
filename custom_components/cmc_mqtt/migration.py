"""Moving an entry's registry entries to new unique ids without losing them.

Home Assistant keys an entity's history and settings to its entity id, which the entity
registry keeps for a unique id. Changing unique ids therefore goes through the registries
(rename in place) rather than removing and re-creating entities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from . import ids
from .const import CONF_PREFIX, DOMAIN, ENTRY_VERSION, LOGGER

#: An id in the old scheme -> (coin id or the bridge, key or None), or None if it is not ours.
Parser = Callable[[str], tuple[ids.Owner, str | None] | None]


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Version 1 scoped unique ids to the entry id, so removing and re-adding the entry made
    new entities; version 2 scopes them to the topic prefix."""
    if entry.version > ENTRY_VERSION:
        LOGGER.error("this entry was written by a newer cmc_mqtt (version %s)", entry.version)
        return False
    if entry.version == 1:
        await async_rescope(
            hass, entry, lambda value: ids.parse_v1(entry.entry_id, value), entry.data[CONF_PREFIX]
        )
        hass.config_entries.async_update_entry(entry, version=2)
        LOGGER.info("migrated the cmc-mqtt entry for '%s' to version 2", entry.data[CONF_PREFIX])
    return True


async def async_rescope(hass: HomeAssistant, entry: ConfigEntry, old: Parser, prefix: str) -> None:
    """Give the entry's entities and devices the ids they have under `prefix`."""

    @callback
    def entity_update(entity: er.RegistryEntry) -> dict[str, Any] | None:
        parsed = old(entity.unique_id)
        if parsed is None or parsed[1] is None:
            return None
        return {"new_unique_id": ids.unique_id(prefix, parsed[0], parsed[1])}

    await er.async_migrate_entries(hass, entry.entry_id, entity_update)
    devices = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        identifiers = set()
        for domain, value in device.identifiers:
            parsed = old(value) if domain == DOMAIN else None
            if parsed is not None and parsed[1] is None:
                value = ids.device_identifier(prefix, parsed[0])  # noqa: PLW2901
            identifiers.add((domain, value))
        if identifiers != device.identifiers:
            devices.async_update_device(device.id, new_identifiers=identifiers)
