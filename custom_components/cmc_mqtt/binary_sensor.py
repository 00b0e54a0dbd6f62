"""The bridge device's yes/no entities: stream connectivity from `<prefix>/status` (`online`
while it streams, `offline`, its last will, when it is gone), and flags in the bridge's JSON
(the credit budget passed)."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.core import HomeAssistant

from .bridge_entities import on_platform, value_of
from .compat import AddConfigEntryEntitiesCallback
from .data import CmcMqttConfigEntry
from .entity import CmcMqttBridgeEntity

#: Pushed by the bridge: nothing is polled, so nothing waits for an update slot.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: CmcMqttConfigEntry, add: AddConfigEntryEntitiesCallback
) -> None:
    add(
        CmcBridgeStream(entry, info) if info.source == "status" else CmcBridgeFlag(entry, info)
        for info in on_platform("binary_sensor")
    )


class CmcBridgeStream(CmcMqttBridgeEntity, BinarySensorEntity):
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY

    @property
    def is_on(self) -> bool | None:
        return self._data.bridge_online if self._data.status_seen else None


class CmcBridgeFlag(CmcMqttBridgeEntity, BinarySensorEntity):
    """True or false in `bridge/info` or `bridge/credits`; unknown until the bridge said."""

    @property
    def device_class(self) -> BinarySensorDeviceClass | None:
        cls = self._info.device_class
        return BinarySensorDeviceClass(cls) if cls is not None else None

    @property
    def is_on(self) -> bool | None:
        source = self._data.info if self._info.source == "info" else self._data.credits
        value = value_of(self._info, source)
        return value if isinstance(value, bool) else None
