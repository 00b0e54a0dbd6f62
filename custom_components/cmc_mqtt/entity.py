"""The bases of cmc_mqtt's entities: one device per coin, its entities available while the
bridge and the coin are online; the bridge device, whose entities report the bridge's state
and so are always available; and the portfolio device, whose entities are available while the
bridge knows the total."""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityCategory

from . import ids
from .bridge_entities import BridgeEntityInfo
from .const import DOMAIN, signal_bridge, signal_coin_availability, signal_portfolio
from .data import CmcMqttConfigEntry, CmcMqttData
from .fields import coin_label, coin_page
from .names import CoinName

BRIDGE_DEVICE_NAME = "cmc-mqtt bridge"  # as the bridge's own discovery names it
PROJECT_URL = "https://github.com/cmc-mqtt/cmc-mqtt"


def coin_device(prefix: str, coin_id: int, names: Mapping[int, CoinName]) -> DeviceInfo:
    """Named as known when the entity is made; `rename_coin_devices` follows later names."""
    device = DeviceInfo(
        identifiers={(DOMAIN, ids.device_identifier(prefix, coin_id))},
        name=coin_label(coin_id, names),
        manufacturer="CoinMarketCap",
        model="Cryptocurrency",
    )
    page = coin_page(coin_id, names)
    if page is not None:
        device["configuration_url"] = page
    return device


@callback
def rename_coin_devices(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> None:
    """The bridge's names arrived or changed after the devices were made: their registry
    name follows (never the name the user gave), and with it their entities' names."""
    data: CmcMqttData = entry.runtime_data
    registry = dr.async_get(hass)
    devices = dr.async_entries_for_config_entry(registry, entry.entry_id)
    for coin_id in data.coins:
        identifier = (DOMAIN, ids.device_identifier(data.prefix, coin_id))
        device = next((d for d in devices if identifier in d.identifiers), None)
        label, page = coin_label(coin_id, data.names), coin_page(coin_id, data.names)
        if device is not None and (device.name, device.configuration_url) != (label, page):
            registry.async_update_device(device.id, name=label, configuration_url=page)


class CmcMqttCoinEntity(Entity):
    """An entity of one coin: on the coin's device, available while the bridge and the coin
    are online, redrawn only when that coin's availability changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: CmcMqttConfigEntry, coin_id: int) -> None:
        self._entry_id = entry.entry_id
        self._data: CmcMqttData = entry.runtime_data
        self._coin_id = coin_id
        self._attr_device_info = coin_device(self._data.prefix, coin_id, self._data.names)

    @property
    def available(self) -> bool:
        return self._data.available(self._coin_id)

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_coin_availability(self._entry_id, self._coin_id),
                self._availability_changed,
            )
        )

    @callback
    def _availability_changed(self) -> None:
        self.async_write_ha_state()


def bridge_device(prefix: str) -> DeviceInfo:
    return DeviceInfo(
        identifiers={(DOMAIN, ids.device_identifier(prefix, ids.BRIDGE))},
        name=BRIDGE_DEVICE_NAME,
        manufacturer="cmc-mqtt",
        model="CoinMarketCap stream bridge",
        configuration_url=PROJECT_URL,
    )


class CmcMqttBridgeEntity(Entity):
    """An entity of the bridge device, from a row of the bridge table. Always available: the
    stream being down is what it reports, and its buttons help most then."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: CmcMqttConfigEntry, info: BridgeEntityInfo) -> None:
        self._entry_id = entry.entry_id
        self._data: CmcMqttData = entry.runtime_data
        self._info = info
        self._attr_unique_id = ids.unique_id(self._data.prefix, ids.BRIDGE, info.key)
        self._attr_device_info = bridge_device(self._data.prefix)
        self._attr_translation_key = info.key
        self._attr_entity_category = EntityCategory(info.category)
        self._attr_entity_registry_enabled_default = info.enabled_by_default

    async def async_added_to_hass(self) -> None:
        if self._info.platform == "button":
            return  # nothing the bridge says changes a button
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_bridge(self._entry_id), self._bridge_changed)
        )

    @callback
    def _bridge_changed(self) -> None:
        self.async_write_ha_state()


def portfolio_device(prefix: str) -> DeviceInfo:
    """As the bridge's discovery describes its "Portfolio" device."""
    return DeviceInfo(
        identifiers={(DOMAIN, ids.device_identifier(prefix, ids.PORTFOLIO))},
        name="Portfolio",
        manufacturer="cmc-mqtt",
        model="Portfolio",
    )


class CmcMqttPortfolioEntity(Entity):
    """An entity of the portfolio device: available while the bridge is online and says the
    total is known (`<prefix>/portfolio/status`; offline while a held coin has no price or the
    rate is stale)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: CmcMqttConfigEntry) -> None:
        self._entry_id = entry.entry_id
        self._data: CmcMqttData = entry.runtime_data
        self._attr_device_info = portfolio_device(self._data.prefix)

    @property
    def available(self) -> bool:
        return self._data.portfolio_available()

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_portfolio(self._entry_id), self._availability_changed
            )
        )

    @callback
    def _availability_changed(self) -> None:
        self.async_write_ha_state()
