"""One sensor per chosen field of each chosen coin, fed by the bridge's retained topics."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from homeassistant.components import mqtt
from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .const import DOMAIN, LOGGER
from .data import CmcMqttData
from .entity import CmcMqttEntity
from .fields import FIELDS_BY_KEY, SYMBOL_UNIT, FieldInfo, coin_symbol, price_precision


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
) -> None:
    data: CmcMqttData = entry.runtime_data
    async_add_entities(
        CmcFieldSensor(entry, data, coin_id, FIELDS_BY_KEY[key])
        for coin_id in data.coins
        for key in data.fields
        if key in FIELDS_BY_KEY
    )


class CmcFieldSensor(CmcMqttEntity, SensorEntity):
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(
        self, entry: ConfigEntry, data: CmcMqttData, coin_id: int, field: FieldInfo
    ) -> None:
        super().__init__(entry, data, coin_id)
        self._field = field
        self._topic = f"{data.prefix}/{coin_id}/{field.key}"
        self._bad_payload_logged = False
        # Not the bridge's discovery ids (`cmc_mqtt_<id>_<field>`, platform mqtt): these are
        # scoped by this config entry.
        self._attr_unique_id = f"{entry.entry_id}_{coin_id}_{field.key}"
        self._attr_translation_key = field.key
        self._attr_entity_registry_enabled_default = field.enabled_by_default
        self._attr_suggested_display_precision = field.precision
        unit = field.unit
        if unit == SYMBOL_UNIT:
            unit = coin_symbol(coin_id) or "coins"
        self._attr_native_unit_of_measurement = unit

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(await mqtt.async_subscribe(self.hass, self._topic, self._received))

    @callback
    def _received(self, message: mqtt.ReceiveMessage) -> None:
        value = _number(message.payload)
        if value is None:
            if not self._bad_payload_logged:
                self._bad_payload_logged = True
                LOGGER.warning(
                    "ignoring a non-numeric payload on %s: %.40r (logged once)",
                    self._topic,
                    message.payload,
                )
            return
        if self._field.precision is None and self._attr_native_value is None:
            self._suggest_price_precision(float(value))
        self._attr_native_value = value
        self.async_write_ha_state()

    def _suggest_price_precision(self, price: float) -> None:
        """A price's useful decimals depend on the price (cents for BTC, digits for a meme
        coin), as in the bridge's discovery: suggest them once the first price is known."""
        registry = er.async_get(self.hass)
        entry = registry.async_get(self.entity_id)
        if entry is None:
            return
        options = dict(entry.options.get("sensor", {}))
        precision = price_precision(price)
        if options.get("suggested_display_precision") != precision:
            options["suggested_display_precision"] = precision
            registry.async_update_entity_options(self.entity_id, "sensor", options)


__all__ = ["DOMAIN", "CmcFieldSensor", "async_setup_entry"]


def _number(payload: object) -> Decimal | None:
    """The payload as a finite number; Decimal keeps the bridge's exact text
    (81187.93284788371), where a float would round it."""
    try:
        value = Decimal(str(payload).strip())  # subscribed with the default encoding: a str
    except (ValueError, InvalidOperation):
        return None
    return value if value.is_finite() else None
