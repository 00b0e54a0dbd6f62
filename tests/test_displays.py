"""Display outputs over a real broker: text topic, AWTRIX apps, throttle, deadband, removal."""

from __future__ import annotations

import json
from collections.abc import Callable

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.simulator import FakeStreamServer

from .helpers import Broker, Subscriber, retained, wait_until

StartBridge = Callable[..., Bridge]
CLOCK = "awtrix_test"
BTC_APP = f"{CLOCK}/custom/cmc_1"


def quiet(stream: FakeStreamServer) -> None:
    stream.behaviour.push_data = False


def app_messages(subscriber: Subscriber, topic: str = BTC_APP) -> list[dict[str, object]]:
    return [json.loads(p) for t, p, _ in list(subscriber.messages) if t == topic and p]


def test_awtrix_app_is_green_or_red_by_the_24h_change(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge(awtrix=[{"prefix": CLOCK, "min_interval": 0, "icons": {"1": "5791"}}])
    stream.wait_subscribed()
    stream.send_quote({"cid": 1, "p": 81187.93, "p24h": 0.53})
    subscriber.wait_for(lambda _last: app_messages(subscriber))
    app = app_messages(subscriber)[-1]
    assert app == {
        "text": "BTC $81,187.93 +0.53%",
        "color": "#00FF00",
        "lifetime": 120,
        "lifetimeMode": 1,
        "icon": "5791",
    }
    assert "save" not in app
    stream.send_quote({"cid": 1, "p": 80000.5, "p24h": -1.25})
    subscriber.wait_for(lambda _last: len(app_messages(subscriber)) == 2)
    assert app_messages(subscriber)[-1]["color"] == "#FF0000"
    assert app_messages(subscriber)[-1]["text"] == "BTC $80,000.50 -1.25%"
    assert subscriber.last["cmc/1/text"] == "BTC $80,000.50 ▼1.25%"


def test_throttle_sends_the_newest_value_once_the_interval_has_passed(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge(awtrix=[{"prefix": CLOCK, "min_interval": 1.5}])
    stream.wait_subscribed()
    stream.send_quote({"cid": 1, "p": 100.5, "p24h": 1.0})
    subscriber.wait_for(lambda _last: app_messages(subscriber))  # the first goes out at once
    for price in (101.5, 102.5, 103.5, 104.5):  # a burst inside the interval
        stream.send_quote({"cid": 1, "p": price, "p24h": 1.0})
        subscriber.wait_topic("cmc/1/p", str(price))  # each reached the bridge on its own
    subscriber.wait_for(lambda _last: len(app_messages(subscriber)) >= 2)
    texts = [m["text"] for m in app_messages(subscriber)]
    # Then only the newest, once the interval has passed; nothing in between.
    assert texts == ["BTC $100.50 +1.00%", "BTC $104.50 +1.00%"]
    # The text topic is not throttled: it showed every price.
    assert len([t for t, _, _ in subscriber.messages if t == "cmc/1/text"]) == 5


def test_deadband_skips_small_moves(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge(awtrix=[{"prefix": CLOCK, "min_interval": 0, "deadband": 1.0}])
    stream.wait_subscribed()
    stream.send_quote({"cid": 1, "p": 100.0, "p24h": 1.0})
    subscriber.wait_for(lambda _last: app_messages(subscriber))
    stream.send_quote({"cid": 1, "p": 100.5, "p24h": 1.0})  # 0.5 %: below the deadband
    subscriber.wait_topic("cmc/1/text", "BTC $100.50 ▲1.00%")  # separate frames, not coalesced
    stream.send_quote({"cid": 1, "p": 102.0, "p24h": 1.0})  # 2 %: shown
    subscriber.wait_for(lambda _last: len(app_messages(subscriber)) == 2)
    assert [m["text"] for m in app_messages(subscriber)] == [
        "BTC $100.00 +1.00%",
        "BTC $102.00 +1.00%",
    ]
    # The text topic has no deadband of its own: it saw every move.
    texts = [p for t, p, _ in subscriber.messages if t == "cmc/1/text"]
    assert "BTC $100.50 ▲1.00%" in texts


def test_removing_a_coin_deletes_its_app(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    first = start_bridge(awtrix=[{"prefix": CLOCK, "min_interval": 0}])
    retained(broker, f"{CLOCK}/#", lambda last: len(last) == 2)  # apps for 1 and 1027
    first.stop()
    start_bridge(cmc={"crypto_ids": [1]}, awtrix=[{"prefix": CLOCK, "min_interval": 0}])
    store = retained(broker, f"{CLOCK}/#", lambda last: list(last) == [BTC_APP])
    assert json.loads(store[BTC_APP])["lifetimeMode"] == 1


def test_text_topic_can_be_switched_off(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    first = start_bridge()
    retained(broker, "cmc/+/text", lambda last: len(last) == 2)
    first.stop()
    second = start_bridge(text={"enabled": False})
    retained(broker, "cmc/#", lambda last: "cmc/1/p" in last and "cmc/1/text" not in last)
    wait_until(lambda: second.sweep.done)
