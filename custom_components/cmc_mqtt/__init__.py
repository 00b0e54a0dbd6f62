"""cmc-mqtt for Home Assistant: the bridge's MQTT topics as sensors, set up from the UI.

This talks only to Home Assistant's own MQTT integration, never to the bridge's code, so it
installs by copying this folder (or through HACS) next to a bridge running anywhere.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from homeassistant.components import mqtt
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send

from . import ids
from .bridge_entities import BRIDGE_ENTITIES
from .bridge_requests import async_subscribe_answers
from .const import (
    CONF_COINS,
    CONF_FIELDS,
    CONF_PREFIX,
    DOMAIN,
    LOGGER,
    signal_bridge,
    signal_coin_availability,
    signal_portfolio,
)
from .data import ONLINE, CmcMqttConfigEntry, CmcMqttData, remember_money
from .entity import rename_coin_devices
from .fields import DEFAULT_FIELDS
from .migration import async_migrate_entry
from .money import Money
from .names import CoinName, parse_names

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.SENSOR]
#: The bridge's last names by topic prefix, kept through reloads: entities made on a reload
#: (coins added in the options) are named before the retained names come again.
NAMES_SEEN = f"{DOMAIN}_names"


async def async_setup_entry(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> bool:
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady("MQTT is not connected")
    prefix: str = entry.data[CONF_PREFIX]
    data = CmcMqttData(
        prefix=prefix,
        coins=[int(c) for c in entry.options.get(CONF_COINS, [])],
        fields=list(entry.options.get(CONF_FIELDS, DEFAULT_FIELDS)),
        money=Money.from_entry(entry.data),
    )
    names_seen: dict[str, dict[int, CoinName]] = hass.data.setdefault(NAMES_SEEN, {})
    data.names = names_seen.get(prefix, {})
    entry.runtime_data = data

    @callback
    def coin_changed(coin_id: int) -> None:
        async_dispatcher_send(hass, signal_coin_availability(entry.entry_id, coin_id))

    @callback
    def bridge_status(message: mqtt.ReceiveMessage) -> None:
        online = message.payload == ONLINE
        first, data.status_seen = not data.status_seen, True
        if online != data.bridge_online:
            data.bridge_online = online
            if not online:
                LOGGER.info("the cmc-mqtt bridge on '%s' is offline; sensors unavailable", prefix)
            for coin_id in data.coins:
                coin_changed(coin_id)
            async_dispatcher_send(hass, signal_portfolio(entry.entry_id))
        elif not first:
            return
        async_dispatcher_send(hass, signal_bridge(entry.entry_id))

    @callback
    def fx_status(message: mqtt.ReceiveMessage) -> None:
        """The rate's freshness: every coin's converted amounts go with it."""
        online = message.payload == ONLINE
        if online != data.fx_online:
            data.fx_online = online
            for coin_id in data.coins:
                coin_changed(coin_id)

    @callback
    def portfolio_status(message: mqtt.ReceiveMessage) -> None:
        online = message.payload == ONLINE
        if online != data.portfolio_online:
            data.portfolio_online = online
            async_dispatcher_send(hass, signal_portfolio(entry.entry_id))

    @callback
    def bridge_report(message: mqtt.ReceiveMessage) -> None:
        """`bridge/info` or `bridge/credits`: kept for the bridge device's entities."""
        try:
            report: Any = json.loads(message.payload)
        except ValueError:
            report = None
        report = report if isinstance(report, dict) else None
        if message.topic.endswith("/info"):
            data.info = report
            if report is not None:
                follow_money()
        else:
            data.credits = report
        async_dispatcher_send(hass, signal_bridge(entry.entry_id))

    @callback
    def follow_money() -> None:
        """A changed currency or held set reloads the entry; not while a request waits for
        its answer (the reload would drop the subscription it comes on), but after it."""
        if waiting := [f for f in data.pending.values() if not f.done()]:
            entry.async_create_background_task(hass, follow_later(waiting), "cmc_mqtt money")
        elif data.info is not None:
            remember_money(hass, entry, Money.from_info(data.info))

    async def follow_later(waiting: list[asyncio.Future[Any]]) -> None:
        await asyncio.wait(waiting)  # answered, or given up on after REQUEST_TIMEOUT
        follow_money()

    @callback
    def bridge_names(message: mqtt.ReceiveMessage) -> None:
        """`bridge/names`: what the coins' devices, option lists and units are called."""
        names = parse_names(message.payload)
        if names is not None and names != data.names:
            data.names = names_seen[prefix] = names
            rename_coin_devices(hass, entry)

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
    for report in ("info", "credits"):
        topic = f"{prefix}/bridge/{report}"
        entry.async_on_unload(await mqtt.async_subscribe(hass, topic, bridge_report))
    topic = f"{prefix}/bridge/names"
    entry.async_on_unload(await mqtt.async_subscribe(hass, topic, bridge_names))
    entry.async_on_unload(await async_subscribe_answers(hass, data))
    if (fx_topic := data.money.fx_status_topic(prefix)) is not None:
        entry.async_on_unload(await mqtt.async_subscribe(hass, fx_topic, fx_status))
    if data.money.portfolio_keys():
        topic = f"{prefix}/{ids.PORTFOLIO}/status"
        entry.async_on_unload(await mqtt.async_subscribe(hass, topic, portfolio_status))
    entry.async_on_unload(entry.add_update_listener(_options_updated))
    _remove_deselected(hass, entry, data)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


def _remove_deselected(hass: HomeAssistant, entry: CmcMqttConfigEntry, data: CmcMqttData) -> None:
    """Coins and fields dropped in the options, and amounts of a currency or holdings the
    bridge no longer has, leave no orphaned entities or devices."""
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
    owners: list[ids.Owner] = [*data.coins, ids.BRIDGE]
    owners += [ids.PORTFOLIO] if money.portfolio_keys() else []
    kept = {(DOMAIN, ids.device_identifier(data.prefix, owner)) for owner in owners}
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        if not device.identifiers & kept:
            devices.async_remove_device(device.id)


async def async_unload_entry(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> bool:
    unloaded: bool = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    return unloaded


async def _options_updated(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> None:
    """New coins or fields, or the bridge's new currency or holdings (remembered in the entry's
    data), apply at once: reload this entry, not Home Assistant."""
    await hass.config_entries.async_reload(entry.entry_id)


__all__ = ["DOMAIN", "async_migrate_entry", "async_setup_entry", "async_unload_entry"]
