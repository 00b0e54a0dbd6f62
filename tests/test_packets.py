"""Our QoS 0 PUBLISH encoding must be exactly paho's, or subscribers read garbage."""

from __future__ import annotations

from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from pytest_mock import MockerFixture

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.mqtt import adapter as mqtt_adapter
from cmc_mqtt.mqtt.packets import publish_batch, publish_packet
from harness.helpers import Broker, retained


def paho_bytes(topic: str, payload: str, retain: bool) -> bytes:
    """What paho itself queues for the same publish (it encodes even while not connected
    once it has a socket object; a dummy one is enough, nothing is sent)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.on_socket_register_write = lambda *_a: None
    client._sock = object()  # type: ignore[assignment]
    try:
        client.publish(topic, payload, 0, retain)
    finally:
        client._sock = None
    packet = client._out_packet.popleft()["packet"]
    return bytes(packet)


@pytest.mark.parametrize(
    ("topic", "payload", "retain"),
    [
        ("cmc/1/p", "81187.93284788371", True),
        ("cmc/1027/json", '{"cid":1027,"p":3118.2}', False),
        ("cmc/1/status", "", True),  # an empty retained payload clears a topic
        ("cmc/1/text", "BTC $81,187.93 ▲0.53%", True),  # not ASCII
        ("a" * 60, "x" * 65, True),  # remaining length 127: the last with one length byte
        ("a" * 60, "x" * 66, True),  # remaining length 128: the first with two
        ("a" * 70, "x" * 60, True),  # remaining length 134: two length bytes
        ("cmc/2/json", "y" * 20000, True),  # three length bytes
    ],
)
def test_packets_are_byte_for_byte_what_paho_sends(topic: str, payload: str, retain: bool) -> None:
    assert publish_packet(topic, payload, retain=retain) == paho_bytes(topic, payload, retain)


@settings(max_examples=200, deadline=None)
@given(topic=st.text(min_size=1, max_size=150), payload=st.text(max_size=300), retain=st.booleans())
def test_any_topic_and_payload_encode_as_paho_does(topic: str, payload: str, retain: bool) -> None:
    """Lengths on both sides of every length-byte boundary, any text (surrogates excepted:
    neither side can encode them)."""
    assume(not {"\x00", "+", "#"} & set(topic))  # what paho refuses to publish to
    try:
        topic.encode(), payload.encode()
    except UnicodeEncodeError:
        assume(False)
    assert publish_packet(topic, payload, retain=retain) == paho_bytes(topic, payload, retain)


@pytest.mark.parametrize("boundary", [0x80, 0x4000])  # one to two length bytes, two to three
def test_every_length_around_a_length_byte_boundary_encodes_as_paho_does(boundary: int) -> None:
    topic = "cmc/1/p"
    for remaining in range(boundary - 8, boundary + 8):
        payload = "x" * (remaining - 2 - len(topic))
        assert publish_packet(topic, payload, retain=True) == paho_bytes(topic, payload, True)


def test_a_batch_is_its_packets_in_order() -> None:
    messages = [("cmc/1/p", "1"), ("cmc/1/vu", "2"), ("cmc/1/p", "3")]
    assert publish_batch(messages, retain=True) == b"".join(
        paho_bytes(topic, payload, True) for topic, payload in messages
    )


def test_the_fast_path_is_checked_against_paho_at_import(mocker: MockerFixture) -> None:
    assert mqtt_adapter.fast_path  # this paho is the one the adapter knows
    assert mqtt_adapter._queue_works()

    def changed(self: mqtt.Client, command: int, packet: bytes, mid: int) -> None:
        raise AssertionError("a check must not call through to a changed internal")

    mocker.patch.object(mqtt.Client, "_packet_queue", changed)
    assert not mqtt_adapter._queue_works()


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "public-api"])
def test_both_paths_put_the_same_values_on_the_broker(
    fast: bool, mocker: MockerFixture, start_bridge: Callable[..., Bridge], broker: Broker
) -> None:
    mocker.patch.object(mqtt_adapter, "fast_path", fast)
    publish = mocker.spy(mqtt.Client, "publish")
    start_bridge()
    values = retained(broker, "cmc/+/p", expect=lambda s: {"cmc/1/p", "cmc/1027/p"} <= s.keys())
    assert all(float(v) > 0 for v in values.values())
    prices = [c for c in publish.call_args_list if str(c.args[1]).endswith("/p")]
    assert bool(prices) is not fast  # the fast path never calls publish() for values
    texts = retained(
        broker, "cmc/+/text", expect=lambda s: {"cmc/1/text", "cmc/1027/text"} <= s.keys()
    )
    assert all(text.startswith(("BTC ", "ETH ")) for text in texts.values())  # extras too


def test_a_quote_and_its_ticker_text_leave_in_one_buffer(
    mocker: MockerFixture, start_bridge: Callable[..., Bridge], broker: Broker
) -> None:
    """paho writes each queued buffer with a system call of its own: what an extension
    publishes after a batch (the ticker text) joins the batch's buffer instead."""
    queued = mocker.spy(mqtt.Client, "_packet_queue")
    start_bridge()
    retained(broker, "cmc/+/text", expect=lambda s: {"cmc/1/text", "cmc/1027/text"} <= s.keys())
    buffers = [bytes(c.args[2]) for c in queued.call_args_list if c.args[1] == mqtt_adapter.PUBLISH]
    assert any(b"/p" in data and b"/text" in data for data in buffers)
