"""The base of every cmc_mqtt entity: one device per coin, availability from the bridge."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from .const import DOMAIN, SIGNAL_AVAILABILITY
from .data import CmcMqttData
from .fields import coin_label, coin_page


class CmcMqttEntity(Entity):
    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: ConfigEntry, data: CmcMqttData, coin_id: int) -> None:
        self._entry = entry
        self._data = data
        self._coin_id = coin_id
        device = DeviceInfo(
            identifiers={(DOMAIN, f"{entry.entry_id}_{coin_id}")},
            name=coin_label(coin_id),
            manufacturer="CoinMarketCap",
            model="Cryptocurrency",
        )
        page = coin_page(coin_id)
        if page is not None:
            device["configuration_url"] = page
        self._attr_device_info = device

    @property
    def available(self) -> bool:
        return self._data.available(self._coin_id)

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_AVAILABILITY.format(self._entry.entry_id),
                self._availability_changed,
            )
        )

    @callback
    def _availability_changed(self) -> None:
        self.async_write_ha_state()
