"""The bases of cmc_mqtt's entities: one device per coin, its entities available while the
bridge and the coin are online; the bridge device, whose entities report the bridge's state
and so are always available; and the portfolio device, whose entities are available while the
bridge knows the total.

Each is redrawn by a dispatcher signal of its own (`const.signal_*`), sent by the entry's
listener when what it shows changed: a coin going stale redraws only that coin's entities.
"""

from __future__ import annotations

from homeassistant.const import EntityCategory
from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from . import ids
from .bridge_entities import BridgeEntityInfo
from .const import signal_bridge, signal_coin_availability, signal_portfolio
from .data import CmcMqttConfigEntry, runtime
from .devices import bridge_device, coin_device, portfolio_device


class _CmcMqttEntity(Entity):
    """Pushed, never polled; redrawn on its signal (None: nothing it shows ever changes)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: CmcMqttConfigEntry, signal: str | None) -> None:
        self._entry_id = entry.entry_id
        self._data = runtime(entry)
        self._signal = signal

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if self._signal is not None:
            self.async_on_remove(async_dispatcher_connect(self.hass, self._signal, self._redraw))

    @callback
    def _redraw(self) -> None:
        self.async_write_ha_state()


class CmcMqttCoinEntity(_CmcMqttEntity):
    """An entity of one coin: on the coin's device, available while the bridge and the coin
    are online."""

    def __init__(self, entry: CmcMqttConfigEntry, coin_id: int) -> None:
        super().__init__(entry, signal_coin_availability(entry.entry_id, coin_id))
        self._coin_id = coin_id
        self._attr_device_info = coin_device(self._data, coin_id)

    @property
    def available(self) -> bool:
        return self._data.available(self._coin_id)


class CmcMqttBridgeEntity(_CmcMqttEntity):
    """An entity of the bridge device, from a row of the bridge table. Always available: the
    stream being down is what it reports, and its buttons help most then."""

    def __init__(self, entry: CmcMqttConfigEntry, info: BridgeEntityInfo) -> None:
        # Nothing the bridge says changes a button.
        changes = info.platform != "button"
        super().__init__(entry, signal_bridge(entry.entry_id) if changes else None)
        self._info = info
        self._attr_unique_id = ids.unique_id(self._data.prefix, ids.BRIDGE, info.key)
        self._attr_device_info = bridge_device(self._data)
        self._attr_translation_key = info.key
        self._attr_entity_category = EntityCategory(info.category)
        self._attr_entity_registry_enabled_default = info.enabled_by_default


class CmcMqttPortfolioEntity(_CmcMqttEntity):
    """An entity of the portfolio device: available while the bridge is online and says the
    total is known (`<prefix>/portfolio/status`; offline while a held coin has no price or the
    rate is stale)."""

    def __init__(self, entry: CmcMqttConfigEntry) -> None:
        super().__init__(entry, signal_portfolio(entry.entry_id))
        self._attr_device_info = portfolio_device(self._data)

    @property
    def available(self) -> bool:
        return self._data.portfolio_available()
