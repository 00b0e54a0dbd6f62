"""The bridge device's stream connectivity: `<prefix>/status`, `online` while it streams (and
`offline`, its last will, when it is gone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.core import HomeAssistant

from .bridge_entities import on_platform
from .data import CmcMqttConfigEntry
from .entity import CmcMqttBridgeEntity

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CmcMqttConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities(CmcBridgeStream(entry, info) for info in on_platform("binary_sensor"))


class CmcBridgeStream(CmcMqttBridgeEntity, BinarySensorEntity):
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY

    @property
    def is_on(self) -> bool | None:
        return self._data.bridge_online if self._data.status_seen else None
