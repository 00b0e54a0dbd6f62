"""Every touch of paho-mqtt's internals, checked before use, with the public API behind it.

paho's `publish()` builds a message-info object with a lock and a condition of its own for every
message and queues one packet each, which it then writes with one system call each: per quote
(16 messages) that cost several times the encoding itself. The fast path encodes QoS 0 PUBLISH
packets itself (`packets.py`) and puts a whole batch on paho's own outgoing queue as one buffer
through the private `Client._packet_queue`, so paho still orders everything on the socket,
resumes partial writes, does TLS and drops the queue on a reconnect.

At import the adapter checks that internal with a real client (the method and its parameters,
and that a queued buffer lands on the outgoing queue as given); the encoder speaks only MQTT
3.1.1, so the protocol is one constant here that the client is built with too. If anything is
not as expected the bridge warns once and publishes through `publish()`: correct, slower.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Sequence
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ..model.topics import QuoteMessage
from ..util import fastpath
from .packets import MQTT_LEVEL, PUBLISH, publish_batch, publish_packet

LOG = logging.getLogger(__name__)
#: The MQTT version of the client and of the packets the bridge encodes.
PROTOCOL: Final = mqtt.MQTTv311
_EXPECTED_PARAMETERS: Final = ("self", "command", "packet", "mid", "qos", "info")


def _no_op(*_args: Any) -> None:
    return None


def defer_writes(client: mqtt.Client) -> None:
    """With a write callback registered, paho queues what is published instead of writing it
    inline (its external-event-loop mode, public API): the owner writes with `loop_write()`."""
    client.on_socket_register_write = _no_op


def _queue_works() -> bool:
    try:
        parameters = tuple(inspect.signature(mqtt.Client._packet_queue).parameters)
        if parameters != _EXPECTED_PARAMETERS:
            return False
        probe = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=PROTOCOL)
        defer_writes(probe)
        data = publish_packet("probe", "1", retain=False)
        probe._packet_queue(PUBLISH, data, 0, 0, mqtt.MQTTMessageInfo(0))
        queued = probe._out_packet[-1]
        return queued["packet"] is data and queued["to_process"] == len(data)
    except Exception:  # noqa: BLE001 - any surprise means: do not use the internal
        return False


#: Whether QoS 0 batches go through paho's queue directly; checked once, at import.
fast_path = fastpath.wanted() and PROTOCOL == MQTT_LEVEL and _queue_works()
if not fast_path and fastpath.wanted():
    LOG.warning(
        "paho-mqtt %s changed an internal the bridge's fast publishing relies on; publishing "
        "through its public API (correct, but slower)",
        getattr(mqtt, "__version__", "?"),
    )


#: A QoS 0 message with its own retain flag (an extension's, beside the state's batch).
Extra = tuple[str, str, bool]


def publish_qos0(
    client: mqtt.Client,
    messages: Iterable[QuoteMessage],
    *,
    retain: bool,
    extras: Sequence[Extra] = (),
) -> None:
    """Queue QoS 0 PUBLISH packets for `messages` and then `extras`, in order, as one buffer:
    written by `loop_write()` with one system call (paho writes each queued buffer with its
    own). The caller owns the client and has checked it is connected."""
    if fast_path:
        data = publish_batch(messages, retain=retain)
        if extras:
            data += b"".join([publish_packet(t, p, retain=r) for t, p, r in extras])
        if data:
            # paho's writer calls `_set_as_published()` on every queued packet's info: it needs one.
            client._packet_queue(PUBLISH, data, 0, 0, mqtt.MQTTMessageInfo(0))
        return
    for topic, payload in messages:
        client.publish(topic, payload, 0, retain)
    for topic, payload, extra_retain in extras:
        client.publish(topic, payload, 0, extra_retain)
