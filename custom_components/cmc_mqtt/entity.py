"""The base of every cmc_mqtt entity: one device per coin, availability from the bridge."""

from __future__ import annotations

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from . import ids
from .const import DOMAIN, signal_coin_availability
from .data import CmcMqttConfigEntry, CmcMqttData
from .fields import coin_label, coin_page


def coin_device(prefix: str, coin_id: int) -> DeviceInfo:
    device = DeviceInfo(
        identifiers={(DOMAIN, ids.device_identifier(prefix, coin_id))},
        name=coin_label(coin_id),
        manufacturer="CoinMarketCap",
        model="Cryptocurrency",
    )
    page = coin_page(coin_id)
    if page is not None:
        device["configuration_url"] = page
    return device


class CmcMqttCoinEntity(Entity):
    """An entity of one coin: on the coin's device, available while the bridge and the coin
    are online, redrawn only when that coin's availability changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: CmcMqttConfigEntry, coin_id: int) -> None:
        self._entry_id = entry.entry_id
        self._data: CmcMqttData = entry.runtime_data
        self._coin_id = coin_id
        self._attr_device_info = coin_device(self._data.prefix, coin_id)

    @property
    def available(self) -> bool:
        return self._data.available(self._coin_id)

    async def async_added_to_hass(self) -> None:
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
