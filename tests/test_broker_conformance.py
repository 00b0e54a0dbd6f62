"""The embedded broker obeys MQTT 3.1.1 as mosquitto does: every case runs against both.

What the bridge, Home Assistant and `mosquitto_sub` rely on: retained messages reach new
subscriptions that match them, once, flagged retained (and nothing else does); `+` and `#`
match as the spec says; the last will is sent when a client vanishes, not when it says goodbye;
the delivered QoS is the lower of the publish's and the subscription's; a clean session forgets,
a persistent one remembers; a reconnecting subscriber is served like a new one.

Every "nothing else arrived" is checked, not hoped: the publisher (or the subscriber) sends a
marker after the messages in question, and the check runs when the marker has come back.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cmc_mqtt.mqtt.embedded_broker import EmbeddedBroker
from harness.helpers import Broker, free_port

TIMEOUT = 10.0


class Address(Protocol):
    host: str
    port: int


@pytest.fixture(params=["mosquitto", "embedded"])
def server(request: pytest.FixtureRequest) -> Iterator[Address]:
    """The same cases against the reference broker and the one the bridge embeds."""
    if request.param == "mosquitto":
        broker = Broker().start()
        yield broker
        broker.cleanup()
    else:
        embedded = EmbeddedBroker("127.0.0.1", free_port()).start()
        yield embedded
        assert embedded.stop(5)


@dataclass(frozen=True)
class Got:
    topic: str
    payload: str
    qos: int
    retain: bool


class Peer:
    """One MQTT 3.1.1 client: what it received in order, with QoS and retain flag."""

    def __init__(
        self,
        server: Address,
        client_id: str | None = None,
        *,
        clean: bool = True,
        will: tuple[str, str, int, bool] | None = None,
    ) -> None:
        self.client_id = client_id or f"peer-{uuid.uuid4().hex[:10]}"
        self.got: list[Got] = []
        self.session_present: bool | None = None
        self.disconnected = threading.Event()
        self._cond = threading.Condition()
        self._granted: dict[int, list[int]] = {}
        self._connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=clean
        )
        self.client.reconnect_delay_set(60, 60)  # a taken-over client must stay away
        if will is not None:
            topic, payload, qos, retain = will
            self.client.will_set(topic, payload, qos, retain)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_a: self.disconnected.set()
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(server.host, server.port, keepalive=60)
        self.client.loop_start()
        if not self._connected.wait(TIMEOUT):
            raise AssertionError(f"{self.client_id} did not connect")

    def _on_connect(self, _c: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        assert not reason.is_failure, reason
        self.session_present = bool(flags.session_present)
        self._connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        got = Got(msg.topic, msg.payload.decode(), msg.qos, bool(msg.retain))
        with self._cond:
            self.got.append(got)
            self._cond.notify_all()

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, codes: Any, _p: Any) -> None:
        with self._cond:
            self._granted[mid] = [code.value for code in codes]
            self._cond.notify_all()

    def subscribe(self, topic_filter: str, qos: int = 0) -> int:
        """Subscribe and wait for the SUBACK; returns the granted QoS."""
        _, mid = self.client.subscribe(topic_filter, qos)
        assert mid is not None
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._granted, TIMEOUT):
                raise AssertionError(f"no SUBACK for {topic_filter}")
            return self._granted[mid][0]

    def publish(self, topic: str, payload: str, qos: int = 0, *, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos, retain)
        info.wait_for_publish(TIMEOUT)  # QoS 1: until the broker's PUBACK

    def wait_for(self, predicate: Callable[[list[Got]], bool]) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.got), TIMEOUT):
                raise AssertionError(f"{self.client_id} never saw it; got {self.got}")

    def received(self, after: Peer | None = None) -> list[Got]:
        """Everything received so far, once `after` (default: this client) has sent a marker
        and it came back: whatever that sender published before it has arrived by then."""
        sender = after or self
        marker = f"marker/{uuid.uuid4().hex}"
        self.subscribe(marker)
        sender.publish(marker, "m")
        self.wait_for(lambda got: any(g.topic == marker for g in got))
        with self._cond:
            return [g for g in self.got if not g.topic.startswith("marker/")]

    def flush(self) -> None:
        """Return when the broker has handled everything this client published so far."""
        self.received()

    def clear(self) -> None:
        with self._cond:
            self.got.clear()

    def close(self) -> None:
        """A clean goodbye: DISCONNECT, so no last will."""
        self.client.disconnect()
        self.client.loop_stop()

    def vanish(self) -> None:
        """The connection drops without a DISCONNECT, as when the process is killed."""
        self.client.loop_stop()
        sock = self.client.socket()
        assert sock is not None
        sock.close()


@pytest.fixture
def peers(server: Address) -> Iterator[Callable[..., Peer]]:
    made: list[Peer] = []

    def make(client_id: str | None = None, **options: Any) -> Peer:
        peer = Peer(server, client_id, **options)
        made.append(peer)
        return peer

    yield make
    for peer in made:
        peer.client.disconnect()  # wakes its network thread, so the stop is immediate
        peer.client.loop_stop()


def only(got: list[Got]) -> list[tuple[str, str, bool]]:
    return [(g.topic, g.payload, g.retain) for g in got]


def test_a_new_subscription_gets_the_matching_retained_messages_once(
    peers: Callable[..., Peer],
) -> None:
    publisher = peers()
    for topic, payload in [("r/1/p", "a"), ("r/2/p", "b"), ("r/1/q", "c"), ("other/x", "d")]:
        publisher.publish(topic, payload, retain=True)
    publisher.publish("homeassistant/sensor/x/config", "{}", retain=True)
    publisher.flush()
    # Other clients' subscriptions must not leak into a newcomer's view.
    bystander = peers()
    bystander.subscribe("#")
    bystander.subscribe("r/#")

    exact = peers()
    exact.subscribe("r/1/p")
    assert only(exact.received()) == [("r/1/p", "a", True)]

    nothing = peers()
    nothing.subscribe("nothing/here")
    assert nothing.received() == []

    pattern = peers()
    pattern.subscribe("r/+/p")
    assert sorted(only(pattern.received())) == [("r/1/p", "a", True), ("r/2/p", "b", True)]


WILDCARD_TOPICS = ("w", "w/1", "w/1/p", "w/2/p", "w//p", "w/1/p/x", "v/1")
WILDCARD_CASES = {
    "w/+/p": {"w/1/p", "w/2/p", "w//p"},
    "w/#": {"w", "w/1", "w/1/p", "w/2/p", "w//p", "w/1/p/x"},
    "+/1": {"w/1", "v/1"},
    "w/+": {"w/1"},
    "+": {"w"},
    "#": set(WILDCARD_TOPICS),
    "w/1/p": {"w/1/p"},
}


def test_wildcards_match_retained_and_live_messages_alike(peers: Callable[..., Peer]) -> None:
    publisher = peers()
    for topic in WILDCARD_TOPICS:
        publisher.publish(topic, "retained", retain=True)
    publisher.flush()
    subscribers = {}
    for topic_filter, expected in WILDCARD_CASES.items():
        sub = subscribers[topic_filter] = peers()
        sub.subscribe(topic_filter)
        retained = sub.received()
        assert {g.topic for g in retained} == expected, topic_filter
        assert len(retained) == len(expected), topic_filter  # each once
        assert all(g.retain for g in retained)
        sub.clear()
    for topic in WILDCARD_TOPICS:
        publisher.publish(topic, "live")
    for topic_filter, expected in WILDCARD_CASES.items():
        live = subscribers[topic_filter].received(after=publisher)
        assert sorted(g.topic for g in live) == sorted(expected), topic_filter
        assert not any(g.retain for g in live)
        # '#' and '+' never match topics starting with '$' (the broker's own $SYS)
        assert not any(g.topic.startswith("$") for g in live)


def test_live_messages_reach_subscribers_with_the_retain_flag_cleared(
    peers: Callable[..., Peer],
) -> None:
    subscriber = peers()
    subscriber.subscribe("l/#")
    publisher = peers()
    publisher.publish("l/1", "kept", retain=True)
    publisher.publish("l/2", "passing")
    assert only(subscriber.received(after=publisher)) == [
        ("l/1", "kept", False),
        ("l/2", "passing", False),
    ]


def test_a_retained_message_is_replaced_and_cleared(peers: Callable[..., Peer]) -> None:
    publisher = peers()
    publisher.publish("c/1", "old", retain=True)
    publisher.publish("c/1", "new", retain=True)
    publisher.flush()
    newcomer = peers()
    newcomer.subscribe("c/#")
    assert only(newcomer.received()) == [("c/1", "new", True)]

    publisher.publish("c/1", "", retain=True)  # an empty retained message clears the topic
    assert only(newcomer.received(after=publisher)) == [("c/1", "new", True), ("c/1", "", False)]
    publisher.flush()
    late = peers()
    late.subscribe("c/#")
    assert late.received() == []


def test_delivered_qos_is_the_lower_of_publish_and_subscription(
    peers: Callable[..., Peer],
) -> None:
    at_2, at_1, at_0 = peers(), peers(), peers()
    granted = at_2.subscribe("q/#", 2)
    assert granted in (1, 2)  # a broker may grant less than asked [MQTT-3.9.3]
    assert at_1.subscribe("q/#", 1) == 1
    assert at_0.subscribe("q/#", 0) == 0
    publisher = peers()
    publisher.publish("q/a", "zero", 0)
    publisher.publish("q/b", "one", 1)
    assert [(g.topic, g.qos) for g in at_2.received(after=publisher)] == [("q/a", 0), ("q/b", 1)]
    assert [(g.topic, g.qos) for g in at_1.received(after=publisher)] == [("q/a", 0), ("q/b", 1)]
    assert [(g.topic, g.qos) for g in at_0.received(after=publisher)] == [("q/a", 0), ("q/b", 0)]

    publisher.publish("qr/one", "r1", 1, retain=True)
    publisher.publish("qr/zero", "r0", 0, retain=True)
    publisher.flush()
    late_1, late_0 = peers(), peers()
    late_1.subscribe("qr/#", 1)
    late_0.subscribe("qr/#", 0)
    assert sorted((g.topic, g.qos) for g in late_1.received()) == [("qr/one", 1), ("qr/zero", 0)]
    assert sorted((g.topic, g.qos) for g in late_0.received()) == [("qr/one", 0), ("qr/zero", 0)]


def test_the_last_will_is_sent_when_a_client_vanishes_not_when_it_says_goodbye(
    peers: Callable[..., Peer],
) -> None:
    watcher = peers()
    watcher.subscribe("will/#", 1)
    polite = peers(will=("will/polite", "gone", 1, True))
    polite.close()
    vanishing = peers(will=("will/vanished", "gone", 1, True))
    vanishing.vanish()
    # The polite client left first; by the time the vanished one's will arrives, a will of
    # the polite one would have arrived too.
    watcher.wait_for(lambda got: any(g.topic == "will/vanished" for g in got))
    assert [(g.topic, g.payload, g.qos, g.retain) for g in watcher.got] == [
        ("will/vanished", "gone", 1, False)
    ]
    newcomer = peers()
    newcomer.subscribe("will/#")
    assert only(newcomer.received()) == [("will/vanished", "gone", True)]  # a retained will


def test_a_clean_session_forgets_and_a_persistent_one_remembers(
    peers: Callable[..., Peer],
) -> None:
    publisher = peers()
    publisher.publish("s/r", "retained", 1, retain=True)
    publisher.flush()
    keeper = peers("keeper", clean=False)
    assert keeper.session_present is False
    keeper.subscribe("s/#", 1)
    assert only(keeper.received()) == [("s/r", "retained", True)]
    keeper.close()
    publisher.publish("s/1", "while away", 1)  # QoS 1: queued for the persistent session
    publisher.flush()

    back = peers("keeper", clean=False)
    assert back.session_present is True
    # The queued message, as a live one; the retained one is not sent again: the
    # subscription is the old one, not a new one.
    back.wait_for(lambda got: any(g.topic == "s/1" for g in got))
    assert only(back.received(after=publisher)) == [("s/1", "while away", False)]
    publisher.publish("s/2", "resumed", 1)
    assert [g.topic for g in back.received(after=publisher)] == ["s/1", "s/2"]
    back.close()

    fresh = peers("keeper", clean=True)
    assert fresh.session_present is False
    publisher.publish("s/3", "nobody listens", 1)
    assert fresh.received(after=publisher) == []  # the subscription went with the session


def test_a_reconnecting_subscriber_is_served_like_a_new_one(peers: Callable[..., Peer]) -> None:
    publisher = peers()
    publisher.publish("rc/1", "x", retain=True)
    publisher.flush()
    bystander = peers()
    bystander.subscribe("rc/#")

    first = peers("again")
    first.subscribe("rc/#")
    assert only(first.received()) == [("rc/1", "x", True)]
    first.close()
    second = peers("again")
    second.subscribe("rc/#")
    assert only(second.received()) == [("rc/1", "x", True)]
    second.vanish()
    third = peers("again")
    third.subscribe("rc/#")
    assert only(third.received()) == [("rc/1", "x", True)]

    # Subscribing again to the same filter replaces the subscription and re-sends what is
    # retained, once; live messages still arrive once.
    third.clear()
    third.subscribe("rc/#")
    publisher.publish("rc/1", "y", retain=True)
    assert only(third.received(after=publisher)) == [("rc/1", "x", True), ("rc/1", "y", False)]


def test_a_second_connection_with_the_same_client_id_takes_over(
    peers: Callable[..., Peer],
) -> None:
    publisher = peers()
    publisher.publish("t/1", "x", retain=True)
    publisher.flush()
    watcher = peers()
    watcher.subscribe("will/#")
    old = peers("twin", will=("will/twin", "gone", 0, False))
    old.subscribe("t/#")
    new = peers("twin")
    assert old.disconnected.wait(TIMEOUT)  # the broker closed the old connection
    # ... as a dropped connection: its will is sent (what a bridge that reconnects before the
    # broker noticed the old connection was gone relies on: `offline`, then its new `online`)
    watcher.wait_for(lambda got: [g.topic for g in got] == ["will/twin"])
    new.subscribe("t/#")
    assert only(new.received()) == [("t/1", "x", True)]
    publisher.publish("t/2", "live")
    assert only(new.received(after=publisher)) == [("t/1", "x", True), ("t/2", "live", False)]


def test_nothing_is_delivered_after_unsubscribing(peers: Callable[..., Peer]) -> None:
    subscriber = peers()
    subscriber.subscribe("u/#")
    publisher = peers()
    publisher.publish("u/1", "before")
    subscriber.wait_for(lambda got: len(got) == 1)
    done = threading.Event()
    subscriber.client.on_unsubscribe = lambda *_a: done.set()
    subscriber.client.unsubscribe("u/#")
    assert done.wait(TIMEOUT)  # the UNSUBACK
    publisher.publish("u/2", "after")
    assert only(subscriber.received(after=publisher)) == [("u/1", "before", False)]


def test_messages_from_one_publisher_arrive_in_order_per_topic(
    peers: Callable[..., Peer],
) -> None:
    subscriber = peers()
    subscriber.subscribe("o/#", 1)
    publisher = peers()
    sent = [publisher.client.publish(f"o/{n % 2}", str(n), n % 2) for n in range(400)]
    sent[-1].wait_for_publish(TIMEOUT)
    got = subscriber.received(after=publisher)
    for qos in (0, 1):
        numbers = [int(g.payload) for g in got if g.topic == f"o/{qos}"]
        assert numbers == list(range(qos, 400, 2))
