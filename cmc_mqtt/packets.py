"""QoS 0 PUBLISH packets, encoded by the bridge and handed to paho as one buffer per batch.

paho's `publish()` builds a message-info object with a lock and a condition of its own for every
message and queues one packet each, which paho then writes with one system call each. Per quote
(16 messages) that costs several times the encoding itself, and it was most of the bridge's CPU.
A QoS 0 packet needs no packet id and no acknowledgement, so the bridge encodes it (MQTT 3.1.1
§3.3) and queues a whole batch as one buffer on paho's own outgoing queue: paho still writes it,
in order with everything else it sends, handles partial writes and TLS, and drops it when the
connection goes. QoS 1 and 2 keep going through `publish()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import paho.mqtt.client as mqtt

_PUBLISH: Final = 0x30
_RETAIN: Final = 0x01


def publish_packet(topic: str, payload: str, *, retain: bool) -> bytes:
    """One QoS 0 PUBLISH packet, byte for byte what paho's `publish()` would send."""
    topic_bytes = topic.encode()
    body = payload.encode()
    remaining = 2 + len(topic_bytes) + len(body)
    header = bytearray((_PUBLISH | _RETAIN if retain else _PUBLISH,))
    while True:  # the remaining length: 7 bits a byte, high bit set while more follow
        byte = remaining & 0x7F
        remaining >>= 7
        if remaining:
            header.append(byte | 0x80)
        else:
            header.append(byte)
            break
    header += len(topic_bytes).to_bytes(2, "big")
    return bytes(header) + topic_bytes + body


def publish_batch(messages: Iterable[tuple[str, str]], *, retain: bool) -> bytes:
    """Several QoS 0 PUBLISH packets back to back, in order."""
    return b"".join(publish_packet(topic, payload, retain=retain) for topic, payload in messages)


def queue_packets(client: mqtt.Client, data: bytes) -> None:
    """Put encoded PUBLISH packets on paho's outgoing queue; the caller holds the client (one
    thread at a time) and has checked it is connected. Written by `loop_write()`."""
    # paho's own queue (private, stable through paho 2.x): the one place that keeps the order
    # of everything on the socket and resumes a partial write.
    client._packet_queue(_PUBLISH, data, 0, 0, mqtt.MQTTMessageInfo(0))
