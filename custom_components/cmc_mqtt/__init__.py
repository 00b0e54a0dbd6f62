"""cmc-mqtt for Home Assistant: the bridge's MQTT topics as sensors, set up from the UI.

This talks only to Home Assistant's own MQTT integration, never to the bridge's code, so it
installs by copying this folder (or through HACS) next to a bridge running anywhere.
"""

from __future__ import annotations

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from . import ids
from .bridge_entities import BRIDGE_ENTITIES
from .const import CONF_COINS, CONF_FIELDS, CONF_PREFIX, DOMAIN
from .data import CmcMqttConfigEntry, CmcMqttData, runtime
from .fields import DEFAULT_FIELDS
from .issues import clear_issues
from .listener import BridgeListener
from .migration import async_migrate_entry
from .money import Money
from .names import CoinName

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.SENSOR]
#: The bridge's last names by topic prefix, kept through reloads: entities made on a reload
#: (coins added in the options, or followed) are named before the retained names come again.
NAMES_SEEN = f"{DOMAIN}_names"


async def async_setup_entry(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> bool:
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_connected")
    prefix: str = entry.data[CONF_PREFIX]
    names_seen: dict[int, CoinName] = hass.data.setdefault(NAMES_SEEN, {}).setdefault(prefix, {})
    data = CmcMqttData(
        prefix=prefix,
        coins=[int(c) for c in entry.options.get(CONF_COINS, [])],
        fields=list(entry.options.get(CONF_FIELDS, DEFAULT_FIELDS)),
        money=Money.from_entry(entry.data),
        names=dict(names_seen),
    )
    entry.runtime_data = data  # type: ignore[attr-defined,unused-ignore]  # 2024.3: see runtime()
    await BridgeListener(hass, entry, names_seen).async_start()
    entry.async_on_unload(entry.add_update_listener(_entry_updated))
    _remove_unwanted(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


def _remove_unwanted(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> None:
    """Coins and fields no longer chosen or followed, and amounts of a currency or holdings
    the bridge no longer has, leave no orphaned entities or devices."""
    data = runtime(entry)
    money = data.money
    wanted = {
        ids.unique_id(data.prefix, cid, key)
        for cid in data.coins
        for key in [*data.fields, *money.coin_keys(cid, data.fields)]
    }
    wanted |= {ids.unique_id(data.prefix, ids.BRIDGE, e.key) for e in BRIDGE_ENTITIES}
    wanted |= {ids.unique_id(data.prefix, ids.PORTFOLIO, key) for key in money.portfolio_keys()}
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if entity.unique_id not in wanted:
            entities.async_remove(entity.entity_id)
    devices = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        if not device.identifiers & _kept_devices(data):
            devices.async_remove_device(device.id)


def _kept_devices(data: CmcMqttData) -> set[tuple[str, str]]:
    owners: list[ids.Owner] = [*data.coins, ids.BRIDGE]
    owners += [ids.PORTFOLIO] if data.money.portfolio_keys() else []
    return {(DOMAIN, ids.device_identifier(data.prefix, owner)) for owner in owners}


async def async_unload_entry(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> bool:
    clear_issues(hass, entry.entry_id)
    unloaded: bool = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    return unloaded


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: CmcMqttConfigEntry, device: dr.DeviceEntry
) -> bool:
    """A device may be deleted by hand once the entry no longer uses it (it removes those
    itself, so this is for a device left behind by an older version); one in use would only
    come back."""
    if entry.state is not ConfigEntryState.LOADED:
        return False
    return not device.identifiers & _kept_devices(runtime(entry))


async def _entry_updated(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> None:
    """New coins or fields, or the bridge's new currency, holdings or coins (remembered in the
    entry), apply at once: reload this entry, not Home Assistant."""
    await hass.config_entries.async_reload(entry.entry_id)


__all__ = [
    "DOMAIN",
    "async_migrate_entry",
    "async_remove_config_entry_device",
    "async_setup_entry",
    "async_unload_entry",
]
