"""End to end: the fake stream over a socket, the bridge, a real mosquitto, a real subscriber."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.model.fields import FIELD_KEYS
from cmc_mqtt.mqtt import publisher
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import FIXTURES, Broker, Subscriber, retained, wait_until

from .conftest import FAST_TIMINGS, make_settings

StartBridge = Callable[..., Bridge]
BTC_FRAME = json.loads((FIXTURES / "stream-session.jsonl").read_text().splitlines()[2])


def quiet(stream: FakeStreamServer) -> None:
    """Stop the simulated market so the test alone decides what is sent."""
    stream.behaviour.push_data = False


def test_every_topic_carries_what_the_stream_sent(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge()
    stream.wait_subscribed()
    subscriber.wait_topic("cmc/status", "online")
    stream.broadcast(json.dumps(BTC_FRAME))
    subscriber.wait_topic("cmc/1/json")
    data = BTC_FRAME["data"]
    for key in FIELD_KEYS:
        # The fixture's numbers are shortest-repr text, so repr() is exactly what was sent.
        assert subscriber.last[f"cmc/1/{key}"] == repr(data[key]), key
    assert subscriber.last["cmc/1/p"] == "81187.93284788371"
    assert subscriber.last["cmc/1/cs"] == "20028706"
    as_json = json.loads(subscriber.last["cmc/1/json"])
    assert as_json == {**data, "ts": BTC_FRAME["ts"]}
    # Everything is retained: a subscriber arriving later sees the same, plus status and text.
    late = retained(broker, "cmc/1/#", lambda last: "cmc/1/text" in last)
    extra = ["cmc/1/json", "cmc/1/status", "cmc/1/text"]
    assert sorted(late) == sorted([*(f"cmc/1/{k}" for k in FIELD_KEYS), *extra])
    assert late["cmc/1/text"] == "BTC $81,187.93 ▲0.53%"
    assert late["cmc/1/p"] == "81187.93284788371"
    assert late["cmc/1/status"] == "online"


def test_status_and_bridge_info(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    start_bridge()
    subscriber.wait_topic("cmc/status", "online")

    def info_with_frames(last: dict[str, str]) -> dict[str, object] | None:
        raw = last.get("cmc/bridge/info")
        info = json.loads(raw) if raw else None
        return info if info and info["frames"] > 0 else None

    # The market pushes every 0.2 s; the info refresh (10 s in real use) is 0.5 s here.
    info = subscriber.wait_for(info_with_frames)
    assert info["version"]
    assert info["crypto_ids"] == [1, 1027]
    assert info["stream_connected"] is True
    for counter in ("malformed_frames", "reconnects", "publishes", "last_frame_time"):
        assert counter in info
    retained_status = [m for m in subscriber.messages if m[0] == "cmc/status"]
    assert retained_status[-1][1] == "online"


def test_null_field_keeps_the_last_good_value(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge()
    stream.wait_subscribed()
    stream.send_quote({"cid": 1, "p": 100.5, "vu": 7})
    subscriber.wait_topic("cmc/1/vu", "7")
    stream.send_quote({"cid": 1, "p": 101.5, "vu": None})
    subscriber.wait_topic("cmc/1/p", "101.5")
    assert subscriber.last["cmc/1/vu"] == "7"
    assert json.loads(subscriber.last["cmc/1/json"])["vu"] == 7


def test_hostile_frames_are_counted_and_never_replace_good_values(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    bridge = start_bridge()
    stream.wait_subscribed()
    stream.send_quote({"cid": 1, "p": 100.5})
    subscriber.wait_topic("cmc/1/p", "100.5")
    hostile = [
        b"not json",
        b'{"type":"data","channel":"market@crypto_latest_price","data":{"cid":1,"p":NaN}}',
        b'{"type":"data","channel":"market@crypto_latest_price","data":{"cid":1,"p":"9"}}',
        b'{"type":"data","channel":"market@crypto_latest_price","data":{"cid":1,"p":-3}}',
        b'{"type":"data","channel":"market@crypto_latest_price","data":{"cid":1,"p":1e400}}',
        b'{"type":"data","channel":"market@crypto_latest_price","data":{"p":1}}',
        b'{"type":"mystery"}',
        b"\xff\xfe\xfd",
        b"[" * 50_000,
    ]
    for payload in hostile:
        stream.broadcast(payload)
    stream.broadcast(b'{"type":"data"}', opcode=0x2)  # a binary frame
    stream.send_quote({"cid": 99999, "p": 1})  # never subscribed
    stream.send_quote({"cid": 1, "p": 200.25})  # a good frame after all that
    subscriber.wait_topic("cmc/1/p", "200.25")
    assert [p for t, p, _ in subscriber.messages if t == "cmc/1/p"] == ["100.5", "200.25"]
    wait_until(lambda: bridge.state.counters.malformed == len(hostile) + 1)
    assert bridge.state.counters.unexpected_coins == 1
    assert not any("/99999/" in topic for topic in subscriber.last)
    assert bridge.stream.sessions[0].attempts == 1  # none of it cost the connection


def test_reconnects_and_resubscribes_after_the_server_drops(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    bridge = start_bridge()
    stream.wait_subscribed(1)
    subscriber.wait_topic("cmc/status", "online")
    for round_, cut in enumerate((stream.drop_all, lambda: stream.close_all(1001, "idle"),
                                  lambda: stream.close_all(1011)), start=2):  # fmt: skip
        cut()
        conn = stream.wait_subscribed(round_)
        assert conn.subscribed == {1, 1027}
        assert conn.headers["x-cmc_pro_api_key"]
    wait_until(lambda: bridge.state.counters.reconnects == 3)
    statuses = [p for t, p, _ in subscriber.messages if t == "cmc/status"]
    assert "offline" in statuses
    subscriber.wait_topic("cmc/status", "online")


def test_a_silent_connection_is_declared_dead_and_replaced(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    start_bridge()
    stream.wait_subscribed(1)
    subscriber.wait_topic("cmc/status", "online")
    # TCP stays open but nothing comes back: no pongs, no data.
    stream.behaviour.answer_pings = False
    stream.behaviour.push_data = False
    subscriber.wait_topic("cmc/status", "offline", timeout=10)
    stream.behaviour.answer_pings = True
    stream.behaviour.push_data = True
    stream.wait_subscribed(2)
    subscriber.wait_topic("cmc/status", "online")


def test_broker_restart_without_persistence_gets_every_value_back(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    quiet(stream)
    bridge = start_bridge()
    stream.wait_subscribed()
    stream.send_quote({"cid": 1, "p": 42.5, "vu": 3})
    stream.send_quote({"cid": 1027, "p": 3.25})
    expected = {"cmc/1/p": "42.5", "cmc/1/vu": "3", "cmc/1027/p": "3.25", "cmc/status": "online"}

    def complete(last: dict[str, str]) -> bool:
        return all(last.get(k) == v for k, v in expected.items())

    retained(broker, expect=complete)
    broker.restart()  # comes back empty: persistence is off
    after = retained(broker, expect=complete, timeout=15)
    assert "cmc/1/json" in after
    assert bridge.stream.sessions[0].attempts == 1  # the stream side never noticed


def test_broker_away_at_start_is_waited_for(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    broker.stop()
    start_bridge()
    stream.wait_subscribed()
    broker.start()
    retained(broker, expect=lambda last: last.get("cmc/status") == "online", timeout=15)


def test_new_quotes_wake_the_mqtt_thread_without_waiting_for_its_timeout(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber,
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    # With an idle wait longer than the deadline, every value must arrive through a wake-up.
    # A lost wake-up (the flag left set while the socket is empty) would miss the deadline;
    # the race is narrow, so this catches it most runs, not every run.
    monkeypatch.setattr(publisher, "IDLE_WAIT_S", 60.0)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads switch often: the race window gets hit
    request.addfinalizer(lambda: sys.setswitchinterval(previous))
    quiet(stream)
    start_bridge()
    stream.wait_subscribed()
    subscriber.wait_topic("cmc/status", "online")
    for burst in range(20):  # bursts: wake-ups land while the thread is draining
        for i in range(50):
            stream.send_quote({"cid": 1 if i % 2 else 1027, "p": 100 + burst + i / 100})
        subscriber.wait_topic("cmc/1/p", str(100 + burst + 49 / 100), timeout=10)


def test_nagle_is_off_towards_the_broker(
    start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    bridge = start_bridge()
    assert bridge.publisher.connected.wait(10)
    sock = bridge.publisher._client.socket()
    assert sock is not None
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_changed_mode_leaves_unchanged_fields_off_the_broker(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge(mqtt={"publish_mode": "changed"})
    stream.wait_subscribed()
    subscriber.wait_topic("cmc/status", "online")
    stream.send_quote({"cid": 1, "p": 10.5, "vu": 5})
    subscriber.wait_topic("cmc/1/p", "10.5")
    stream.send_quote({"cid": 1, "p": 11.5, "vu": 5})
    # Quotes travel in order on one stream and one MQTT connection: once this one is seen,
    # everything the quote before it caused has been seen too.
    stream.send_quote({"cid": 1027, "p": 3.25})
    subscriber.wait_topic("cmc/1027/p", "3.25")
    assert subscriber.last["cmc/1/p"] == "11.5"
    assert [m for m in subscriber.messages if m[0] == "cmc/1/vu"] == [("cmc/1/vu", "5", False)]
    assert json.loads(subscriber.last["cmc/1/json"])["vu"] == 5


def test_a_deadband_holds_back_small_moves_on_the_broker(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    quiet(stream)
    start_bridge(mqtt={"publish_mode": "changed", "deadband": 1})
    stream.wait_subscribed()
    subscriber.wait_topic("cmc/status", "online")
    stream.send_quote({"cid": 1, "p": 100, "vu": 5})
    subscriber.wait_topic("cmc/1/p", "100")
    stream.send_quote({"cid": 1, "p": 100.5, "vu": 10})  # 0.5 %: held back; vu doubled
    stream.send_quote({"cid": 1027, "p": 3.25})  # in order behind it, as above
    subscriber.wait_topic("cmc/1027/p", "3.25")
    assert [m[1] for m in subscriber.messages if m[0] == "cmc/1/p"] == ["100"]
    assert subscriber.last["cmc/1/vu"] == "10"
    assert json.loads(subscriber.last["cmc/1/json"])["p"] == 100.5  # json has the newest
    stream.send_quote({"cid": 1, "p": 101.2, "vu": 10})  # 1.2 % from the published 100
    subscriber.wait_topic("cmc/1/p", "101.2")


def test_an_implausible_field_drops_only_itself(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    """A negative market cap must not freeze the coin's price or take it offline."""
    start_bridge()
    subscriber.wait_topic("cmc/1/status", "online")
    stream.behaviour.push_data = False
    stream.send_quote({"cid": 1, "p": 123.4567, "mc": -5, "vu": 77})
    subscriber.wait_topic("cmc/1/p", "123.4567")
    subscriber.wait_topic("cmc/1/vu", "77")
    assert subscriber.last.get("cmc/1/mc") != "-5"
    subscriber.wait_for(lambda last: '"rejected_fields":1' in last.get("cmc/bridge/info", ""))
    assert subscriber.last["cmc/1/status"] == "online"


def test_bridge_info_tells_at_once_when_the_stream_is_up_and_data_flows(
    broker: Broker, stream: FakeStreamServer, subscriber: Subscriber, tmp_path: Path
) -> None:
    """Not after the 10 s refresh: an operator looking right after start sees the truth."""
    settings = make_settings(broker, stream, tmp_path / "cache")
    with Bridge(settings, stream_timings=FAST_TIMINGS, info_interval=600):

        def flowing(last: dict[str, str]) -> bool:
            info = json.loads(last.get("cmc/bridge/info", "{}"))
            return bool(info.get("stream_connected")) and info.get("frames", 0) > 0

        subscriber.wait_for(flowing, timeout=8)


def test_stopping_undoes_what_starting_registered(start_bridge: StartBridge) -> None:
    bridge = start_bridge()
    assert bridge.state._listeners == [bridge.publisher.wake]
    assert bridge.discovery._on_names_changed in bridge.names._listeners
    bridge.stop()
    assert bridge.state._listeners == []
    assert bridge.names._listeners == []


def test_bridge_info_has_the_frame_rate(start_bridge: StartBridge, subscriber: Subscriber) -> None:
    start_bridge()  # info every 0.5 s; the fixture's stream pushes 2 coins every 0.2 s

    def rate(last: dict[str, str]) -> float | None:
        value = json.loads(last.get("cmc/bridge/info", "{}")).get("frames_per_second")
        return value if isinstance(value, float) and value > 0 else None

    assert 1 < subscriber.wait_for(rate) < 100
