"""The user's currency, holdings and alerts in a real Home Assistant: converted sensors, a
holding's value, the Portfolio device with long-term statistics, the alert event entity.

Configs come from discovery.py, states from the bridge's own money, portfolio and alert code
applied to the fixture session's exact texts; nothing is a copy.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from homeassistant.components.sensor import DEVICE_CLASS_STATE_CLASSES, SensorDeviceClass
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.alerts import EVENT_TYPES, Alert

from .bridge_messages import live
from .helpers import EUR, HA_RELEASE, HELD, RATE, discover_money
from .helpers import entity_state as state


async def test_converted_sensors_show_the_currency(
    hass: HomeAssistant, mqtt_ready: None, caplog: pytest.LogCaptureFixture
) -> None:
    sent = await discover_money(hass)
    price = state(hass, "sensor.bitcoin_btc_price_eur")
    assert price.state == sent["cmc/1/p_eur"]
    assert price.attributes["unit_of_measurement"] == "EUR"
    assert price.attributes["device_class"] == "monetary"
    assert price.attributes["state_class"] == "total"
    assert price.attributes["friendly_name"] == "Bitcoin (BTC) Price EUR"
    cap = state(hass, "sensor.ethereum_eth_market_cap_eur")
    assert cap.state == sent["cmc/1027/mc_eur"]
    assert "." not in cap.state  # whole euros
    registry = er.async_get(hass)
    entry = registry.async_get("sensor.bitcoin_btc_price_eur")
    assert entry is not None
    assert entry.unique_id == "cmc_mqtt_1_p_eur"
    assert entry.options["sensor"]["suggested_display_precision"] == 2
    assert "impossible" not in caplog.text  # no state class Home Assistant refuses
    assert "Error" not in caplog.text


async def test_a_stale_rate_makes_the_converted_sensors_unavailable(
    hass: HomeAssistant, mqtt_ready: None
) -> None:
    sent = await discover_money(hass)
    await live(hass, "cmc/fx/eur/status", "offline")
    assert state(hass, "sensor.bitcoin_btc_price_eur").state == STATE_UNAVAILABLE
    assert state(hass, "sensor.bitcoin_btc_value_eur").state == STATE_UNAVAILABLE
    assert state(hass, "sensor.bitcoin_btc_price").state == sent["cmc/1/p"]  # USD goes on
    assert state(hass, "event.bitcoin_btc_alert").state != STATE_UNAVAILABLE
    await live(hass, "cmc/fx/eur/status", "online")
    assert state(hass, "sensor.bitcoin_btc_price_eur").state == sent["cmc/1/p_eur"]


async def test_a_held_coins_value(hass: HomeAssistant, mqtt_ready: None) -> None:
    sent = await discover_money(hass)
    value = state(hass, "sensor.ethereum_eth_value_eur")
    assert value.state == sent["cmc/1027/value_eur"]
    exact = Decimal(sent["cmc/1027/p"]) * RATE * HELD[1027]  # from the USD text, rounded once
    assert Decimal(value.state) == round(exact, 2)
    assert (value.attributes["device_class"], value.attributes["state_class"]) == (
        "monetary",
        "total",
    )


async def test_the_portfolio_sensors_keep_long_term_statistics(
    hass: HomeAssistant, mqtt_ready: None, caplog: pytest.LogCaptureFixture
) -> None:
    sent = await discover_money(hass)
    value = state(hass, "sensor.portfolio_value_eur")
    assert value.state == sent["cmc/portfolio/value_eur"]
    assert value.attributes["unit_of_measurement"] == "EUR"
    assert value.attributes["coins"] == json.loads(sent["cmc/portfolio/json"])["coins"]
    change = state(hass, "sensor.portfolio_change_24h_eur")
    assert change.state == sent["cmc/portfolio/change_24h_eur"]
    pct = state(hass, "sensor.portfolio_change_24h")
    assert pct.state == sent["cmc/portfolio/change_24h_pct"]
    assert pct.attributes["unit_of_measurement"] == "%"
    # Long-term statistics are kept for a sensor with a state class that its device class
    # allows (Home Assistant's own table; `total` is the only one for monetary). The recorder
    # keeping them is test_portfolio_statistics.py.
    allowed = DEVICE_CLASS_STATE_CLASSES[SensorDeviceClass.MONETARY]
    for amount in (value, change):
        assert amount.attributes["device_class"] == "monetary"
        assert amount.attributes["state_class"] in allowed
    assert pct.attributes["state_class"] == "measurement"
    assert "impossible" not in caplog.text
    await live(hass, "cmc/portfolio/status", "offline")  # a held coin without a price
    assert state(hass, "sensor.portfolio_value_eur").state == STATE_UNAVAILABLE


async def test_the_alert_event_fires_on_an_alert(hass: HomeAssistant, mqtt_ready: None) -> None:
    await discover_money(hass)
    event = state(hass, "event.bitcoin_btc_alert")
    assert event.state == STATE_UNKNOWN
    assert event.attributes["event_types"] == list(EVENT_TYPES)
    alert = Alert(1, "price", "up", Decimal("75000"), Decimal("75012.3456"), 1_780_000_000.0, EUR)
    await live(hass, Topics("cmc").coin_alert(1), alert.payload())
    event = state(hass, "event.bitcoin_btc_alert")
    assert event.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE)  # the time it fired
    assert event.attributes["event_type"] == "price_up"
    assert event.attributes["kind"] == "price"
    assert event.attributes["level"] == 75000
    assert event.attributes["value"] == 75012.35
    assert event.attributes["unit"] == "EUR"
    change = Alert(1, "change", "down", Decimal("5"), Decimal("-5.2"), 1_780_000_100.0)
    await live(hass, Topics("cmc").coin_alert(1), change.payload())
    assert state(hass, "event.bitcoin_btc_alert").attributes["event_type"] == "change_down"
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("event", "mqtt", "cmc_mqtt_1_alert") == (
        "event.bitcoin_btc_alert"
    )


@pytest.mark.skipif(
    HA_RELEASE < (2024, 12),
    reason="device-based discovery arrived in Home Assistant 2024.12",
)
async def test_device_based_discovery_of_money_and_portfolio(
    hass: HomeAssistant, mqtt_ready: None
) -> None:
    sent = await discover_money(hass, discovery_mode="device")
    assert state(hass, "sensor.bitcoin_btc_price_eur").state == sent["cmc/1/p_eur"]
    assert state(hass, "sensor.portfolio_value_eur").state == sent["cmc/portfolio/value_eur"]
    assert state(hass, "event.bitcoin_btc_alert").state == STATE_UNKNOWN
    await live(hass, "cmc/fx/eur/status", "offline")  # the component's own availability
    assert state(hass, "sensor.bitcoin_btc_price_eur").state == STATE_UNAVAILABLE
    assert state(hass, "sensor.bitcoin_btc_price").state == sent["cmc/1/p"]
