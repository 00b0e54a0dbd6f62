"""cmc-mqtt for Home Assistant: the bridge's MQTT topics as sensors, set up from the UI.

This talks only to Home Assistant's own MQTT integration, never to the bridge's code, so it
installs by copying this folder (or through HACS) next to a bridge running anywhere.
"""

from __future__ import annotations

from homeassistant.components import mqtt
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send

from . import ids
from .const import (
    CONF_COINS,
    CONF_FIELDS,
    CONF_PREFIX,
    DOMAIN,
    LOGGER,
    signal_coin_availability,
)
from .data import ONLINE, CmcMqttConfigEntry, CmcMqttData
from .fields import DEFAULT_FIELDS
from .migration import async_migrate_entry

PLATFORMS: list[Platform] = [Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> bool:
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady("MQTT is not connected")
    prefix: str = entry.data[CONF_PREFIX]
    data = CmcMqttData(
        prefix=prefix,
        coins=[int(c) for c in entry.options.get(CONF_COINS, [])],
        fields=list(entry.options.get(CONF_FIELDS, DEFAULT_FIELDS)),
    )
    entry.runtime_data = data

    @callback
    def coin_changed(coin_id: int) -> None:
        async_dispatcher_send(hass, signal_coin_availability(entry.entry_id, coin_id))

    @callback
    def bridge_status(message: mqtt.ReceiveMessage) -> None:
        online = message.payload == ONLINE
        if online != data.bridge_online:
            data.bridge_online = online
            if not online:
                LOGGER.info("the cmc-mqtt bridge on '%s' is offline; sensors unavailable", prefix)
            for coin_id in data.coins:
                coin_changed(coin_id)

    @callback
    def coin_status(message: mqtt.ReceiveMessage) -> None:
        level = message.topic.split("/")[-2]
        if not level.isdigit():
            return
        coin_id, online = int(level), message.payload == ONLINE
        if data.coin_online.get(coin_id) != online:
            data.coin_online[coin_id] = online
            coin_changed(coin_id)

    entry.async_on_unload(await mqtt.async_subscribe(hass, f"{prefix}/status", bridge_status))
    entry.async_on_unload(await mqtt.async_subscribe(hass, f"{prefix}/+/status", coin_status))
    entry.async_on_unload(entry.add_update_listener(_options_updated))
    _remove_deselected(hass, entry, data)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


def _remove_deselected(hass: HomeAssistant, entry: CmcMqttConfigEntry, data: CmcMqttData) -> None:
    """Coins and fields dropped in the options leave no orphaned entities or devices."""
    wanted = {ids.unique_id(data.prefix, cid, key) for cid in data.coins for key in data.fields}
    entities = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if entity.unique_id not in wanted:
            entities.async_remove(entity.entity_id)
    devices = dr.async_get(hass)
    coins = {(DOMAIN, ids.device_identifier(data.prefix, cid)) for cid in data.coins}
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        if not device.identifiers & coins:
            devices.async_remove_device(device.id)


async def async_unload_entry(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> bool:
    unloaded: bool = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    return unloaded


async def _options_updated(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> None:
    """New coins or fields apply at once: reload this entry, not Home Assistant."""
    await hass.config_entries.async_reload(entry.entry_id)


__all__ = ["DOMAIN", "async_migrate_entry", "async_setup_entry", "async_unload_entry"]
