"""One sensor per chosen field of each chosen coin, fed by the bridge's retained topics; its
money fields again in the bridge's currency, and its value while it is held; the portfolio
device's total and 24 h change; and the bridge device's sensors, from its `bridge/info` and
`bridge/credits`.

Amounts in the bridge's currency and holdings are `device_class: monetary` with
`state_class: total` (the only state class Home Assistant allows for monetary), as in the
bridge's discovery. Their keys, unique ids and names carry the currency code, as the topics do,
so another currency is another sensor rather than statistics in mixed units.

The USD price, volume and market cap have no device class on purpose: `monetary` would take
away `state_class: measurement`, and with it the mean, minimum and maximum that long-term
statistics keep of a price (the statistics graph of a price needs them).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from . import ids
from .bridge_entities import BridgeEntityInfo, on_platform, value_of
from .compat import AddConfigEntryEntitiesCallback
from .const import DOMAIN, LOGGER
from .data import CmcMqttConfigEntry, runtime
from .entity import CmcMqttBridgeEntity, CmcMqttCoinEntity, CmcMqttPortfolioEntity
from .fields import FIELDS, FIELDS_BY_KEY, SYMBOL_UNIT, FieldInfo, coin_symbol, price_precision
from .money import AMOUNT_FIELDS, PERCENT_KEY, PERCENT_PLACES, Money, minor_units, text_places

#: Pushed by the bridge: nothing is polled, so nothing waits for an update slot.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class CmcSensorEntityDescription(SensorEntityDescription):
    """A field of the table as Home Assistant describes a sensor."""

    #: The unit is the coin's symbol (circulating supply counts coins).
    unit_is_symbol: bool = False
    #: No fixed precision: it follows the price (cents for BTC, digits for a meme coin).
    precision_from_value: bool = False


def describe(field: FieldInfo) -> CmcSensorEntityDescription:
    return CmcSensorEntityDescription(
        key=field.key,
        translation_key=field.key,
        native_unit_of_measurement=None if field.unit == SYMBOL_UNIT else field.unit,
        unit_is_symbol=field.unit == SYMBOL_UNIT,
        state_class=SensorStateClass(field.state_class),
        suggested_display_precision=field.precision,
        precision_from_value=field.precision is None,
        entity_registry_enabled_default=field.enabled_by_default,
    )


SENSORS: Final[tuple[CmcSensorEntityDescription, ...]] = tuple(describe(f) for f in FIELDS)
SENSORS_BY_KEY: Final = {d.key: d for d in SENSORS}


def _amount(key: str, translation_key: str, currency: str) -> CmcSensorEntityDescription:
    """An amount of money in `currency`, shown to its minor units."""
    return CmcSensorEntityDescription(
        key=key,
        translation_key=translation_key,
        translation_placeholders={"currency": currency},
        native_unit_of_measurement=currency,
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=minor_units(currency),
    )


def describe_coin_money(money: Money, key: str) -> CmcSensorEntityDescription:
    """A coin's money sensor: `p_eur` (a field converted) or `value_eur` (what is held)."""
    if key == money.value_key() and money.holding_currency is not None:
        return _amount(key, "value", money.holding_currency)
    field = FIELDS_BY_KEY[key.rsplit("_", 1)[0]]
    assert money.currency is not None  # a converted key exists only then
    price = AMOUNT_FIELDS[field.key] == "price"
    return dataclasses.replace(
        _amount(key, f"{field.key}_converted", money.currency),
        # A price's decimals follow the price (the bridge rounds it for its size); market
        # amounts are whole units.
        suggested_display_precision=None if price else 0,
        precision_from_value=price,
        entity_registry_enabled_default=field.enabled_by_default,
    )


def describe_portfolio(money: Money, key: str) -> CmcSensorEntityDescription:
    if key == PERCENT_KEY:
        return CmcSensorEntityDescription(
            key=key,
            translation_key="portfolio_change_pct",
            native_unit_of_measurement="%",
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=PERCENT_PLACES,
        )
    assert money.holding_currency is not None  # portfolio keys exist only then
    name = "portfolio_value" if key == money.value_key() else "portfolio_change"
    return _amount(key, name, money.holding_currency)


def describe_bridge(info: BridgeEntityInfo) -> SensorEntityDescription:
    return SensorEntityDescription(
        key=info.key,
        translation_key=info.key,
        device_class=SensorDeviceClass(info.device_class) if info.device_class else None,
        native_unit_of_measurement=info.unit,
        state_class=SensorStateClass(info.state_class) if info.state_class else None,
        suggested_display_precision=info.precision,
    )


BRIDGE_SENSORS: Final = tuple((info, describe_bridge(info)) for info in on_platform("sensor"))


async def async_setup_entry(
    hass: HomeAssistant, entry: CmcMqttConfigEntry, add: AddConfigEntryEntitiesCallback
) -> None:
    data = runtime(entry)
    money = data.money
    registry = er.async_get(hass)
    add(
        CmcFieldSensor(
            entry,
            coin_id,
            SENSORS_BY_KEY[key],
            _last_precision(registry, ids.unique_id(data.prefix, coin_id, key)),
        )
        for coin_id in data.coins
        for key in data.fields
        if key in SENSORS_BY_KEY
    )
    add(
        CmcMoneySensor(
            entry,
            coin_id,
            describe_coin_money(money, key),
            _last_precision(registry, ids.unique_id(data.prefix, coin_id, key)),
        )
        for coin_id in data.coins
        for key in money.coin_keys(coin_id, data.fields)
    )
    add(CmcPortfolioSensor(entry, describe_portfolio(money, key)) for key in money.portfolio_keys())
    add(CmcBridgeSensor(entry, info, desc) for info, desc in BRIDGE_SENSORS)


def _last_precision(registry: er.EntityRegistry, unique_id: str) -> int | None:
    """The precision this sensor suggested when it last ran: kept until the first price
    says otherwise, so a restart does not show a price with every digit meanwhile."""
    entity_id = registry.async_get_entity_id(Platform.SENSOR, DOMAIN, unique_id)
    entity = registry.async_get(entity_id) if entity_id else None
    if entity is None:
        return None
    options = entity.options.get(Platform.SENSOR)
    precision = options.get("suggested_display_precision") if options is not None else None
    return precision if isinstance(precision, int) else None


class _TopicNumber(SensorEntity):
    """A sensor whose state is the number on one of the bridge's topics (its unique id, too).
    Listed after the entity base (coin or portfolio), whose `available` applies and whose
    `async_added_to_hass` calls this one's."""

    entity_description: CmcSensorEntityDescription
    _topic: str
    _bad_payload_logged = False

    def _follow_topic(self, owner: ids.Owner, prefix: str) -> None:
        key = self.entity_description.key
        self._topic = f"{prefix}/{owner}/{key}"
        # Not the bridge's discovery ids (`cmc_mqtt_<id>_<field>`, platform mqtt).
        self._attr_unique_id = ids.unique_id(prefix, owner, key)

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
        if self.entity_description.precision_from_value:
            self._follow_precision(value)
        self._attr_native_value = value
        self.async_write_ha_state()

    def _precision_of(self, price: Decimal) -> int:
        return price_precision(float(price))

    def _follow_precision(self, price: Decimal) -> None:
        """A price's useful decimals depend on the price, as in the bridge's discovery. The
        entity states its own suggestion; the sensor platform stores it in the registry when
        told the entity's settings changed (as it does when the entity is added)."""
        precision = self._precision_of(price)
        if precision != self._attr_suggested_display_precision:
            self._attr_suggested_display_precision = precision
            if self.registry_entry is not None:
                self.async_registry_entry_updated()


class CmcFieldSensor(CmcMqttCoinEntity, _TopicNumber):
    """A field of a coin as the stream gives it (`<prefix>/<id>/<key>`)."""

    def __init__(
        self,
        entry: CmcMqttConfigEntry,
        coin_id: int,
        description: CmcSensorEntityDescription,
        last_precision: int | None = None,
    ) -> None:
        super().__init__(entry, coin_id)
        self.entity_description = description
        self._follow_topic(coin_id, self._data.prefix)
        if description.precision_from_value:
            self._attr_suggested_display_precision = last_precision

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Circulating supply counts coins: its unit is the coin's symbol, as the bridge names
        it now (names may come after the sensor)."""
        if self.entity_description.unit_is_symbol:
            return coin_symbol(self._coin_id, self._data.names) or "coins"
        return super().native_unit_of_measurement


class CmcMoneySensor(CmcFieldSensor):
    """A coin's amount in the bridge's currency (`p_eur`), or what its holding is worth
    (`value_eur`): unavailable while the bridge cannot compute the coin's amounts, and while
    the rate is stale, when it is in a converted currency (as discovery's are)."""

    @property
    def available(self) -> bool:
        money = self._data.money
        if self.entity_description.key == money.value_key() and not money.value_needs_rate():
            return self._data.amounts_available(self._coin_id)  # held coins valued in USD
        return self._data.converted_available(self._coin_id)

    def _precision_of(self, price: Decimal) -> int:
        """The bridge has rounded the converted price for its currency and size: its text's
        decimals are the precision (as its discovery states it)."""
        return text_places(price)


class CmcPortfolioSensor(CmcMqttPortfolioEntity, _TopicNumber):
    """The portfolio's total, 24 h change or 24 h change in percent (`<prefix>/portfolio/…`)."""

    def __init__(self, entry: CmcMqttConfigEntry, description: CmcSensorEntityDescription) -> None:
        super().__init__(entry)
        self.entity_description = description
        self._follow_topic(ids.PORTFOLIO, self._data.prefix)


class CmcBridgeSensor(CmcMqttBridgeEntity, SensorEntity):
    """A figure the bridge reports about itself."""

    def __init__(
        self,
        entry: CmcMqttConfigEntry,
        info: BridgeEntityInfo,
        description: SensorEntityDescription,
    ) -> None:
        super().__init__(entry, info)
        self.entity_description = description

    @property
    def native_value(self) -> Any:
        source = self._data.info if self._info.source == "info" else self._data.credits
        value = value_of(self._info, source)
        if self._info.device_class == SensorDeviceClass.TIMESTAMP:
            return _moment(value)
        if self._info.state_class is not None:  # a number, or nothing
            return value if type(value) in (int, float) else None
        return value if isinstance(value, str) else None


def _moment(value: object) -> datetime | None:
    moment = dt_util.parse_datetime(value) if isinstance(value, str) else None
    return moment if moment is not None and moment.tzinfo is not None else None


def _number(payload: object) -> Decimal | None:
    """The payload as a finite number; Decimal keeps the bridge's exact text
    (81187.93284788371), where a float would round it."""
    try:
        value = Decimal(str(payload).strip())  # subscribed with the default encoding: a str
    except (ValueError, InvalidOperation):
        return None
    return value if value.is_finite() else None
