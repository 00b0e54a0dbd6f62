"""QoS 0 PUBLISH packets as MQTT 3.1.1 encodes them (§3.3): no packet id, no properties.

`mqtt.adapter` hands them to paho as one buffer per batch; nothing else here knows paho.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Final

#: The protocol level these packets are encoded for (MQTT 3.1.1).
MQTT_LEVEL: Final = 4
PUBLISH: Final = 0x30
_RETAIN: Final = 0x01


_SHORT_HEADER: Final = struct.Struct(">BBH").pack  # fixed header with a one-byte length


def publish_packet(topic: str, payload: str | bytes, *, retain: bool) -> bytes:
    """One QoS 0 PUBLISH packet, byte for byte what paho's `publish()` would send."""
    topic_bytes = topic.encode()
    body = payload if isinstance(payload, bytes) else payload.encode()
    remaining = 2 + len(topic_bytes) + len(body)
    first = PUBLISH | _RETAIN if retain else PUBLISH
    if remaining < 0x80:  # most quote topics: the remaining length fits one byte
        return _SHORT_HEADER(first, remaining, len(topic_bytes)) + topic_bytes + body
    header = bytearray((first,))
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


def publish_batch(messages: Iterable[tuple[str, str | bytes]], *, retain: bool) -> bytes:
    """Several QoS 0 PUBLISH packets back to back, in order."""
    return b"".join([publish_packet(topic, payload, retain=retain) for topic, payload in messages])
