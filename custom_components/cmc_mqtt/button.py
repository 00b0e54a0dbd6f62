"""The bridge device's buttons: each asks the bridge over its request topics and waits for the
answer, so a refusal or silence shows as an error where the button was pressed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.button import ButtonDeviceClass, ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .bridge_entities import BridgeEntityInfo, on_platform
from .bridge_requests import BridgeRequestError, async_request
from .const import DOMAIN
from .data import CmcMqttConfigEntry
from .entity import CmcMqttBridgeEntity

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CmcMqttConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities(CmcBridgeButton(entry, info) for info in on_platform("button"))


class CmcBridgeButton(CmcMqttBridgeEntity, ButtonEntity):
    def __init__(self, entry: CmcMqttConfigEntry, info: BridgeEntityInfo) -> None:
        super().__init__(entry, info)
        if info.device_class is not None:
            self._attr_device_class = ButtonDeviceClass(info.device_class)

    async def async_press(self) -> None:
        try:
            await async_request(self.hass, self._data, self._info.path[0])
        except BridgeRequestError as exc:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=f"request_{exc.reason}",
                translation_placeholders={"error": exc.detail},
            ) from exc
