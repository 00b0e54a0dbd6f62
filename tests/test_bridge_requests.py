"""Requests over MQTT, end to end (simulator, real mosquitto, state file): coins added and
removed, everything republished, the stream reconnected."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.extensions.request_payloads import RequestError, parse_command, parse_request
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.limits import Limits
from cmc_mqtt.util.backoff import Backoff
from harness.helpers import Broker, Subscriber, free_port, retained, retained_json, wait_until

from .conftest import FAST_TIMINGS, make_settings

Start = Callable[..., Bridge]
ADD, REMOVE = "cmc/bridge/request/coins/add", "cmc/bridge/request/coins/remove"
REPUBLISH, RECONNECT = "cmc/bridge/request/republish", "cmc/bridge/request/reconnect"
BTC_PRICE = "homeassistant/sensor/cmc_mqtt/1_p/config"
BRIDGE_STREAM = "homeassistant/binary_sensor/cmc_mqtt/bridge_stream/config"


@pytest.fixture
def start(broker: Broker, stream: FakeStreamServer, tmp_path: Path) -> Iterator[Start]:
    bridges: list[Bridge] = []

    def run(**sections: Any) -> Bridge:
        sections.setdefault("cmc", {})
        sections["cmc"] = {"rest_url": stream.rest_url, **sections["cmc"]}
        settings = make_settings(broker, stream, tmp_path / "cache", **sections)
        bridge = Bridge(
            settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5),
            info_interval=0.5,
        )  # fmt: skip
        bridges.append(bridge.start())
        # A coin's status leaves after the request subscriptions in the same stream, so once it
        # is on the broker the broker has taken them: a request sent now is not lost.
        retained(broker, "cmc/1/status")
        return bridge

    yield run
    for bridge in bridges:
        bridge.stop()


def ask(broker: Broker, topic: str, payload: str, *, retain: bool = False) -> dict[str, Any]:
    """Publish a request and wait for the bridge's answer to it."""
    answer_topic = topic.replace("/request/", "/response/")
    response = Subscriber(broker, answer_topic)
    try:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"asker-{free_port()}")
        client.connect(broker.host, broker.port)
        client.loop_start()
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
        client.loop_stop()
        client.disconnect()
        answer = response.wait_topic(answer_topic, timeout=15)
        return dict(json.loads(answer))
    finally:
        response.close()


def test_a_coin_added_over_mqtt_streams_and_is_announced(
    start: Start, broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    bridge = start()
    retained(broker, "cmc/+/p", expect=lambda s: {"cmc/1/p", "cmc/1027/p"} <= s.keys())
    answer = ask(broker, ADD, json.dumps({"ids": [52, 1], "transaction": "t-1"}))
    assert answer == {
        "status": "ok",
        "data": {"ids": [52], "coins": [1, 1027, 52]},
        "transaction": "t-1",
    }
    retained(broker, "cmc/52/p")
    retained(broker, "homeassistant/sensor/cmc_mqtt/52_p/config")
    assert any(52 in c.subscribed for c in stream.live)
    assert bridge.memory.path is not None  # the configuration's own folder in the cache
    saved = json.loads(bridge.memory.path.read_text())
    assert saved["added"] == [52]
    assert bridge.state.crypto_ids == (1, 1027, 52)


def test_a_coin_removed_over_mqtt_leaves_nothing_and_a_restart_remembers(
    start: Start, broker: Broker, stream: FakeStreamServer
) -> None:
    bridge = start()
    retained(broker, "cmc/1027/p")
    retained(broker, "homeassistant/sensor/cmc_mqtt/1027_p/config")
    answer = ask(broker, REMOVE, json.dumps({"ids": [1027, 5], "transaction": 7}))
    assert answer == {"status": "ok", "data": {"ids": [1027], "coins": [1]}, "transaction": 7}
    retained(broker, "#", expect=lambda s: not [t for t in s if "1027" in t])
    assert stream.wait_for(lambda: all(1027 not in c.subscribed for c in stream.live))
    bridge.stop()
    again = start()
    assert again.state.crypto_ids == (1,)
    retained(broker, "cmc/1/p")
    assert not [t for t in retained(broker) if "1027" in t]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("not json", "bad payload: expected JSON"),
        ("[1]", "bad payload: expected a JSON object"),
        ('{"ids": []}', '"ids" must be a list'),
        ('{"ids": [1, -5]}', "positive whole numbers"),
        ('{"ids": [true]}', "positive whole numbers"),
        ('{"ids": [1.5]}', "positive whole numbers"),
        ('{"ids": [1], "transaction": {"x": 1}}', "transaction must be"),
    ],
)
def test_parse_request_refuses_bad_payloads(payload: str, error: str) -> None:
    with pytest.raises(RequestError, match=error):
        parse_request(payload.encode())


def test_bad_requests_change_nothing_are_counted_and_answered(start: Start, broker: Broker) -> None:
    # Left retained, a request would be carried out on every connection: it is refused and
    # cleared from the broker.
    response = Subscriber(broker, "cmc/bridge/response/coins/remove")
    try:
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"asker-{free_port()}")
        publisher.connect(broker.host, broker.port)
        publisher.loop_start()
        publisher.publish(REMOVE, '{"ids": [1]}', qos=1, retain=True).wait_for_publish(5)
        publisher.loop_stop()
        publisher.disconnect()
        bridge = start()
        answer = json.loads(response.wait_topic("cmc/bridge/response/coins/remove", timeout=15))
    finally:
        response.close()
    assert answer == {"status": "error", "error": "refused: requests must not be retained",
                      "data": {}}  # fmt: skip
    retained(broker, "cmc/+/p", expect=lambda s: {"cmc/1/p", "cmc/1027/p"} <= s.keys())
    assert REMOVE not in retained(broker, "cmc/bridge/#", expect=lambda s: REMOVE not in s)
    answer = ask(broker, ADD, '{"ids": "52", "transaction": "bad-1"}')
    assert answer["status"] == "error"
    assert answer["transaction"] == "bad-1"
    assert "bad payload" in answer["error"]
    assert bridge.state.crypto_ids == (1, 1027)

    def counted(seen: dict[str, str]) -> bool:
        return '"refused_requests":2' in seen.get("cmc/bridge/info", "")

    info = retained(broker, "cmc/bridge/info", expect=counted)
    assert json.loads(info["cmc/bridge/info"])["crypto_ids"] == [1, 1027]


def test_an_unknown_id_is_refused(start: Start, broker: Broker) -> None:
    bridge = start(cmc={"lookup_names": True})
    answer = ask(broker, ADD, json.dumps({"ids": [52, 99999999]}))
    assert answer["status"] == "error"
    assert answer["error"] == "unknown id: 99999999"
    assert bridge.state.crypto_ids == (1, 1027)


def test_no_room_on_the_key_is_refused(broker: Broker, tmp_path: Path) -> None:
    with FakeStreamServer(
        api_key="test-key-5f3c9a1e-do-not-log", fast_interval=0.2,
        limits=Limits(sub_limit=2, max_connections=1),
    ) as server:  # fmt: skip
        settings = make_settings(broker, server, tmp_path / "cache", cmc={"max_connections": 1})
        with Bridge(settings, stream_timings=FAST_TIMINGS) as bridge:
            retained(broker, "cmc/1027/p")
            answer = ask(broker, ADD, json.dumps({"ids": [52]}))
            assert answer["status"] == "error"
            assert answer["error"].startswith("limit reached")
            assert bridge.state.crypto_ids == (1, 1027)
            assert bridge.coins.ids == (1, 1027)


def test_a_coin_that_would_pass_the_budget_is_refused(start: Start, broker: Broker) -> None:
    # Two top coins cost about 2 x 12,960 credits a month; the budget allows just that.
    bridge = start(cmc={"monthly_credit_budget": 26_000})
    answer = ask(broker, ADD, json.dumps({"ids": [52]}))
    assert answer["status"] == "error"
    assert answer["error"].startswith("over budget: with these coins the stream costs about 38,880")
    assert bridge.state.crypto_ids == (1, 1027)


def test_requests_can_be_turned_off(start: Start) -> None:
    bridge = start(bridge={"allow_requests": False})
    assert not [e for e in bridge.publisher.extensions if type(e).__name__ == "BridgeRequests"]
    wait_until(bridge.publisher.connected.is_set)


# --- republish and reconnect (the bridge device's buttons) ------------------------------------


def test_republish_announces_and_publishes_everything_again(
    start: Start, broker: Broker, subscriber: Subscriber
) -> None:
    start()
    subscriber.wait_for(lambda last: {BTC_PRICE, "cmc/1/p", BRIDGE_STREAM} <= last.keys())
    before = len(subscriber.messages)
    answer = ask(broker, REPUBLISH, json.dumps({"transaction": "r-1"}))
    assert answer == {"status": "ok", "data": {}, "transaction": "r-1"}

    def again(_last: dict[str, str]) -> bool:
        later = {t for t, _, _ in subscriber.messages[before:]}
        return {BTC_PRICE, BRIDGE_STREAM, "cmc/status", "cmc/1/status", "cmc/1/p"} <= later

    subscriber.wait_for(again)


def test_reconnect_reopens_the_streams_connections(
    start: Start, broker: Broker, stream: FakeStreamServer
) -> None:
    bridge = start()
    stream.wait_subscribed()
    accepted = stream.accepted
    answer = ask(broker, RECONNECT, "{}")
    assert answer == {"status": "ok", "data": {"connections": 1}}
    assert stream.wait_subscribed(accepted=accepted + 1)
    assert stream.wait_for(lambda: len(stream.live) == 1)  # the old connection is gone

    def counted(seen: dict[str, str]) -> bool:
        info = json.loads(seen.get("cmc/bridge/info", "{}"))
        return info.get("reconnects") == 1 and info.get("stream_connected") is True

    retained(broker, "cmc/bridge/info", expect=counted)
    assert bridge.state.crypto_ids == (1, 1027)
    assert [c["ids"] for c in bridge.stream.connections()] == [[1, 1027]]


def test_reconnect_is_refused_while_the_stream_is_stopped(start: Start, broker: Broker) -> None:
    bridge = start()
    wait_until(bridge.publisher.connected.is_set)
    bridge.stream.pause()  # as the credit budget does
    answer = ask(broker, RECONNECT, json.dumps({"transaction": 3}))
    assert answer["status"] == "error"
    assert answer["error"].startswith("not streaming")
    assert answer["transaction"] == 3
    assert bridge.stream.connections() == []


@pytest.mark.parametrize("payload", ["x", "[]", '{"transaction": [1]}'])
def test_parse_command_refuses_bad_payloads(payload: str) -> None:
    with pytest.raises(RequestError, match="bad payload"):
        parse_command(payload.encode())


def test_a_bad_button_request_is_answered(start: Start, broker: Broker) -> None:
    start()
    answer = ask(broker, REPUBLISH, "press")
    assert answer["status"] == "error"
    assert answer["error"] == "bad payload: expected JSON like {}"


# --- discovery on or off (the integration's fix for duplicate entities) -------------------------

DISCOVERY = "cmc/bridge/request/discovery/set"


def own_configs(store: dict[str, str]) -> list[str]:
    return [t for t in store if t.startswith("homeassistant/") and "/cmc_mqtt/" in t]


def test_discovery_turned_off_over_mqtt_clears_the_configs_and_stays_off(
    start: Start, broker: Broker
) -> None:
    bridge = start()
    retained(broker, "homeassistant/#", expect=lambda s: BTC_PRICE in s)
    info = retained_json(broker, "cmc/bridge/info", lambda i: "discovery" in i)
    assert info["discovery"] == {
        "enabled": True, "prefix": "homeassistant", "node_id": "cmc_mqtt", "mode": "entity"
    }  # fmt: skip
    assert info["topic_prefix"] == "cmc"
    answer = ask(broker, DISCOVERY, json.dumps({"enabled": False, "transaction": "d"}))
    assert answer == {"status": "ok", "data": {"enabled": False}, "transaction": "d"}
    retained(broker, "homeassistant/#", expect=lambda s: not own_configs(s) or None)
    retained_json(broker, "cmc/bridge/info", lambda i: i["discovery"]["enabled"] is False)
    retained(broker, "cmc/1/p")  # the values stay
    bridge.stop()

    again = start()  # remembered: nothing announced after a restart
    retained(broker, "cmc/bridge/info", expect=lambda s: "cmc/bridge/info" in s)
    wait_until(again.publisher.connected.is_set)
    assert not own_configs(retained(broker, "homeassistant/#", expect=lambda _s: True))
    assert ask(broker, DISCOVERY, '{"enabled": true}')["data"] == {"enabled": True}
    retained(broker, "homeassistant/#", expect=lambda s: BTC_PRICE in s)


def test_a_changed_configuration_wins_over_a_switch_set_over_mqtt(
    start: Start, broker: Broker
) -> None:
    bridge = start()
    assert ask(broker, DISCOVERY, '{"enabled": false}')["status"] == "ok"
    bridge.stop()
    # The user turns discovery off in the file, then on again: their newer word applies.
    off = start(homeassistant={"discovery": False})
    assert off.discovery_switch.on is False
    off.stop()
    on = start(homeassistant={"discovery": True})
    assert on.discovery_switch.on is True


@pytest.mark.parametrize("payload", ['{"enabled": "no"}', "{}", '{"enabled": 0}'])
def test_a_bad_discovery_request_is_refused(start: Start, broker: Broker, payload: str) -> None:
    bridge = start()
    answer = ask(broker, DISCOVERY, payload)
    assert answer["status"] == "error"
    assert answer["error"] == 'bad payload: "enabled" must be true or false'
    assert bridge.discovery_switch.on is True
