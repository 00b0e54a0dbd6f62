"""Our QoS 0 PUBLISH encoding must be exactly paho's, or subscribers read garbage."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cmc_mqtt.packets import publish_batch, publish_packet


def paho_bytes(topic: str, payload: str, retain: bool) -> bytes:
    """What paho itself queues for the same publish (it encodes even while not connected
    once it has a socket object; a dummy one is enough, nothing is sent)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.on_socket_register_write = lambda *_a: None
    client._sock = object()  # type: ignore[assignment]
    client.publish(topic, payload, 0, retain)
    packet = client._out_packet.popleft()["packet"]
    client._sock = None
    return bytes(packet)


@pytest.mark.parametrize(
    ("topic", "payload", "retain"),
    [
        ("cmc/1/p", "81187.93284788371", True),
        ("cmc/1027/json", '{"cid":1027,"p":3118.2}', False),
        ("cmc/1/status", "", True),  # an empty retained payload clears a topic
        ("cmc/1/text", "BTC $81,187.93 ▲0.53%", True),  # not ASCII
        ("a" * 70, "x" * 60, True),  # remaining length 134: two length bytes
        ("cmc/2/json", "y" * 20000, True),  # three length bytes
    ],
)
def test_packets_are_byte_for_byte_what_paho_sends(topic: str, payload: str, retain: bool) -> None:
    assert publish_packet(topic, payload, retain=retain) == paho_bytes(topic, payload, retain)


def test_a_batch_is_its_packets_in_order() -> None:
    messages = [("cmc/1/p", "1"), ("cmc/1/vu", "2"), ("cmc/1/p", "3")]
    assert publish_batch(messages, retain=True) == b"".join(
        paho_bytes(topic, payload, True) for topic, payload in messages
    )
