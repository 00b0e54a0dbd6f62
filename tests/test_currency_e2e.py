"""End to end: prices in the user's currency, holdings, the portfolio and alerts, from the fake
stream and its REST endpoints through the bridge to a real mosquitto."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import FIXTURES, Broker, Subscriber, free_port, retained, wait_until

StartBridge = Callable[..., Bridge]
BTC = json.loads((FIXTURES / "stream-session.jsonl").read_text().splitlines()[2])["data"]
ETH = {"cid": 1027, "p": 3000.5, "vu": 1000000.0, "mc": 360000000000.0, "p24h": -1.0}
FIXED_EUR = {"currency": "EUR", "fx_source": "fixed", "fx_rate": 0.92}


def quiet(stream: FakeStreamServer) -> None:
    """Stop the simulated market so the test alone decides what is sent."""
    stream.behaviour.push_data = False


def published(subscriber: Subscriber, topic: str) -> list[str]:
    return [payload for t, payload, _ in list(subscriber.messages) if t == topic]


def publish(broker: Broker, topic: str, payload: str) -> None:
    """Publish one retained message as another client would (Home Assistant, say)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{free_port()}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    finally:
        client.loop_stop()
        client.disconnect()


def start_quiet(stream: FakeStreamServer, start_bridge: StartBridge, **sections: Any) -> Bridge:
    quiet(stream)
    bridge = start_bridge(**sections)
    stream.wait_subscribed()
    return bridge


def test_a_fixed_rate_gives_exact_converted_topics_values_and_the_portfolio(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    coins = {"1": {"holdings": 0.5}, "1027": {"holdings": "2"}}
    start_quiet(stream, start_bridge, cmc=FIXED_EUR, coins=coins)
    subscriber.wait_topic("cmc/fx/eur/status", "online")
    assert subscriber.last["cmc/fx/eur/rate"] == "0.92"
    stream.send_quote(BTC)
    subscriber.wait_topic("cmc/1/p_eur", "74692.90")
    # Decimal arithmetic on the stream's texts, rounded for the currency: no float artefacts.
    assert subscriber.wait_topic("cmc/1/vu_eur") == "27537463899"
    assert subscriber.wait_topic("cmc/1/mc_eur") == "1496002098737"
    assert subscriber.wait_topic("cmc/1/value_eur") == "37346.45"
    # The USD topic as received. It may reach the broker after the converted ones: the stream
    # thread publishes it, the MQTT thread the conversions, whichever holds the client first.
    assert subscriber.wait_topic("cmc/1/p") == "81187.93284788371"
    subscriber.wait_topic("cmc/1/text", "BTC €74,692.90 ▲0.53%")
    # Ethereum is held but has no price yet: the total is unavailable, not a smaller sum.
    subscriber.wait_topic("cmc/portfolio/status", "offline")
    assert "cmc/portfolio/value_eur" not in subscriber.last
    stream.send_quote(ETH)
    subscriber.wait_topic("cmc/portfolio/status", "online")
    assert subscriber.last["cmc/1027/value_eur"] == "5520.92"
    assert subscriber.last["cmc/portfolio/value_eur"] == "42867.37"
    assert subscriber.last["cmc/portfolio/change_24h_eur"] == "142.73"
    assert subscriber.last["cmc/portfolio/change_24h_pct"] == "0.33"
    summary = json.loads(subscriber.last["cmc/portfolio/json"])
    assert summary["currency"] == "EUR"
    assert summary["coins"] == {"1": 37346.45, "1027": 5520.92}
    late = retained(broker, "cmc/#", lambda last: "cmc/portfolio/json" in last)
    assert late["cmc/portfolio/value_eur"] == "42867.37"
    assert late["cmc/1/p_eur"] == "74692.90"


def test_the_rate_from_coinmarketcap_refuses_a_jump_and_keeps_the_last_good_one(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    cmc = {"currency": "EUR", "rest_url": stream.rest_url}
    bridge = start_quiet(stream, start_bridge, cmc=cmc)
    subscriber.wait_topic("cmc/fx/eur/rate", "0.92")
    subscriber.wait_topic("cmc/fx/eur/status", "online")
    stream.send_quote(BTC)
    subscriber.wait_topic("cmc/1/p_eur", "74692.90")
    source = bridge.rate_source
    assert source is not None
    assert source.calls == 1

    def fetch_again() -> None:
        calls = source.calls
        bridge.rest.schedule(source)
        wait_until(lambda: source.calls > calls)

    stream.fiat_rates["EUR"] = 0.5  # a 46 % jump: refused, the last good rate stays
    fetch_again()
    wait_until(lambda: bridge.keeper.refused >= 1)
    assert bridge.keeper.rate() is not None
    assert str(bridge.keeper.rate()) == "0.92"
    assert subscriber.last["cmc/fx/eur/rate"] == "0.92"
    assert subscriber.last["cmc/1/p_eur"] == "74692.90"
    stream.fiat_rates["EUR"] = 0.93  # a plausible move is taken, and everything follows it
    fetch_again()
    subscriber.wait_topic("cmc/fx/eur/rate", "0.93")
    subscriber.wait_topic("cmc/1/p_eur", "75504.78")


def test_a_rate_from_an_mqtt_topic_goes_offline_when_stale_and_back_with_a_new_one(
    broker: Broker,
    start_bridge: StartBridge,
    stream: FakeStreamServer,
    subscriber: Subscriber,
) -> None:
    cmc = {
        "currency": "EUR",
        "fx_source": "mqtt",
        "fx_topic": "home/eurusd",
        "fx_inverted": True,
        "fx_max_age": 1,
    }
    start_quiet(stream, start_bridge, cmc=cmc)
    subscriber.wait_topic("cmc/fx/eur/status", "offline")  # no rate yet
    stream.send_quote(BTC)

    def went_online(after: int) -> bool:
        # The status is read from the messages in order, not the last one: with a 1 s
        # fx_max_age a loaded machine may already have seen it go offline again.
        return "online" in published(subscriber, "cmc/fx/eur/status")[after:]

    before = len(published(subscriber, "cmc/fx/eur/status"))
    publish(broker, "home/eurusd", '{"rate": 1.25}')  # USD per euro: 0.8 euros per dollar
    subscriber.wait_topic("cmc/fx/eur/rate", "0.8")
    subscriber.wait_for(lambda _: went_online(before))
    subscriber.wait_topic("cmc/1/p_eur", "64950.35")
    # Nothing new for longer than fx_max_age: the converted values are offline, not old.
    subscriber.wait_topic("cmc/fx/eur/status", "offline", timeout=5)
    before = len(published(subscriber, "cmc/fx/eur/status"))
    publish(broker, "home/eurusd", "not a rate")  # refused: still offline
    publish(broker, "home/eurusd", "1.24")
    subscriber.wait_for(lambda _: went_online(before))
    assert subscriber.last["cmc/fx/eur/rate"] == "0.806451612903"


def test_a_price_hovering_at_a_level_alerts_once_on_mqtt_and_the_clock(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    clock = {"prefix": "clock1", "notify_alerts": True, "indicator": 2, "min_interval": 0}
    alerts = [{"price": 75000, "coin": 1, "direction": "up", "hysteresis": 500}]
    start_quiet(stream, start_bridge, cmc=FIXED_EUR, alerts=alerts, awtrix=[clock])
    subscriber.wait_topic("cmc/fx/eur/status", "online")
    # In euros: 74,692.90 (below: arms), 75,440 (crossed), 74,900, 75,100, 74,800 (hovering
    # within the hysteresis), then 75,900: one alert only.
    for usd in (81187.93284788371, 82000.0, 81413.0, 81630.0, 81304.0, 82500.0):
        stream.send_quote({**BTC, "p": usd})
        subscriber.wait_topic("cmc/1/p", repr(usd))
        subscriber.wait_for(lambda last, usd=usd: last.get("cmc/1/p_eur") and _near(last, usd))
    alert = json.loads(subscriber.wait_topic("cmc/1/alert"))
    assert alert["event_type"] == "price_up"
    assert (alert["level"], alert["value"], alert["unit"]) == (75000, 75440.00, "EUR")
    notify = json.loads(subscriber.wait_topic("clock1/notify"))
    assert notify["text"] == "BTC above €75,000.00"
    assert notify["hold"] is True
    assert json.loads(subscriber.wait_topic("clock1/indicator2"))["blink"] == 500
    assert len(published(subscriber, "cmc/1/alert")) == 1
    assert len(published(subscriber, "clock1/notify")) == 1
    assert not [m for m in subscriber.messages if m[0] == "cmc/1/alert" and m[2]]  # not retained


def _near(last: dict[str, str], usd: float) -> bool:
    """The converted price of `usd` has been published (to the cent)."""
    return abs(float(last["cmc/1/p_eur"]) - usd * 0.92) < 0.01


def test_home_assistant_is_told_about_the_currency_the_holdings_and_the_alerts(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    """The bridge wires its money settings into discovery: converted sensors, a Value sensor
    per held coin, the Portfolio device and an alert event per coin, all on the broker."""
    coins = {"1": {"holdings": 0.5}}
    alerts = [{"price": 90000, "coin": 1}]
    start_quiet(stream, start_bridge, cmc=FIXED_EUR, coins=coins, alerts=alerts)
    wanted = {
        "homeassistant/sensor/cmc_mqtt/1_p_eur/config",
        "homeassistant/sensor/cmc_mqtt/1_value_eur/config",
        "homeassistant/sensor/cmc_mqtt/portfolio_value_eur/config",
        "homeassistant/event/cmc_mqtt/1_alert/config",
    }
    configs = retained(broker, "homeassistant/#", lambda last: wanted <= last.keys())
    price = json.loads(configs["homeassistant/sensor/cmc_mqtt/1_p_eur/config"])
    assert price["unit_of_measurement"] == "EUR"
    assert price["state_topic"] == "cmc/1/p_eur"
    assert "homeassistant/sensor/cmc_mqtt/1027_value_eur/config" not in configs  # not held
