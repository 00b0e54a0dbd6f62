"""The bridge device's buttons: each asks the bridge over its request topics and waits for the
answer, so a refusal or silence shows as an error where the button was pressed."""

from __future__ import annotations

from homeassistant.components.button import ButtonDeviceClass, ButtonEntity
from homeassistant.core import HomeAssistant

from .bridge_entities import BridgeEntityInfo, on_platform
from .bridge_requests import async_request, translated
from .compat import AddConfigEntryEntitiesCallback
from .data import CmcMqttConfigEntry
from .entity import CmcMqttBridgeEntity

#: One press at a time: the bridge answers requests in turn and refuses a burst of them.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant, entry: CmcMqttConfigEntry, add: AddConfigEntryEntitiesCallback
) -> None:
    add(CmcBridgeButton(entry, info) for info in on_platform("button"))


class CmcBridgeButton(CmcMqttBridgeEntity, ButtonEntity):
    def __init__(self, entry: CmcMqttConfigEntry, info: BridgeEntityInfo) -> None:
        super().__init__(entry, info)
        if info.device_class is not None:
            self._attr_device_class = ButtonDeviceClass(info.device_class)

    async def async_press(self) -> None:
        with translated():
            await async_request(self.hass, self._data, self._info.path[0])
