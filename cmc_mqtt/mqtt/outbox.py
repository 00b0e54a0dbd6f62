"""The broker as extensions see it (`Outbox`): publishing within the payload limit, subscribing,
asking for the state again; and messages other threads leave for the MQTT thread to send.

Every method but `post` runs on the thread holding the publisher's I/O lock, which owns the
paho client; `post` is for any other thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Final

import paho.mqtt.client as mqtt

from ..config import MqttSettings
from ..state.bridge_state import BridgeState
from .adapter import Extra, publish_qos0
from .diagnosis import Drops

LOG = logging.getLogger(__name__)
#: The largest payload the bridge writes (README: "Limits"): brokers may refuse larger
#: packets and drop the client that sends one; one beyond it is refused here, counted and
#: logged, never sent. Every payload the bridge builds stays far below it.
MAX_PAYLOAD_BYTES: Final = 256 * 1024
#: Messages other threads may leave for this one to send (answers to requests); beyond it
#: they are dropped, as QoS 0 messages to an unreachable broker are.
MAX_POSTED: Final = 1000


class BrokerOutbox:
    """The `Outbox` the publisher hands its extensions."""

    def __init__(
        self,
        client: mqtt.Client,
        settings: MqttSettings,
        state: BridgeState,
        drops: Drops,
        *,
        wake: Callable[[], None],
    ) -> None:
        self._client = client
        self._qos = settings.qos
        self._state = state
        self._drops = drops
        self._wake = wake
        self._posted: list[tuple[str, str, bool]] = []  # from other threads, sent by this one
        self._posted_lock = threading.Lock()
        self._oversized_logged: set[str] = set()
        #: While the publisher collects (`collect`), QoS 0 messages wait here to leave with
        #: the state's batch in one buffer.
        self._collected: list[Extra] | None = None

    def publish(self, topic: str, payload: str, *, retain: bool = True) -> None:
        size = len(payload)
        if size > MAX_PAYLOAD_BYTES // 4:  # up to 4 bytes a character in UTF-8
            size = len(payload.encode("utf-8", "surrogatepass"))
            if size > MAX_PAYLOAD_BYTES:
                self._refuse_oversized(topic, size)
                return
        self._drops.sent(size)
        if self._qos == 0:
            if self._collected is not None:
                self._collected.append((topic, payload, retain))
            else:
                publish_qos0(self._client, ((topic, payload),), retain=retain)
        else:
            self._client.publish(topic, payload, self._qos, retain)
        self._state.count_publishes(1)

    def collect(self) -> list[Extra]:
        """From now until `stop_collecting`, QoS 0 messages are kept in the returned list for
        the caller to send (the publisher sends them after the state's batch, in one buffer)."""
        self._collected = []
        return self._collected

    def stop_collecting(self) -> None:
        self._collected = None

    def subscribe(self, topic: str) -> None:
        self._client.subscribe(topic, qos=0)

    def unsubscribe(self, topic: str) -> None:
        self._client.unsubscribe(topic)

    def republish_state(self) -> None:
        self._state.mark_all_pending()

    def post(self, topic: str, payload: str, *, retain: bool = False) -> None:
        """Publish from any thread: sent by the MQTT thread on its next round (dropped when the
        broker is away, like any QoS 0 message; retained state is republished on reconnect)."""
        with self._posted_lock:
            if len(self._posted) >= MAX_POSTED:
                return
            self._posted.append((topic, payload, retain))
        self._wake()

    def send_posted(self) -> None:
        """Publish what other threads posted (on the thread holding the I/O lock)."""
        with self._posted_lock:
            posted, self._posted = self._posted, []
        for topic, payload, retain in posted:
            self.publish(topic, payload, retain=retain)

    def _refuse_oversized(self, topic: str, size: int) -> None:
        self._state.count_oversized_payload()
        if topic not in self._oversized_logged and len(self._oversized_logged) < 100:
            self._oversized_logged.add(topic)
            LOG.error(
                "not publishing %s: %d bytes, more than the %d a payload may have (a bug: "
                "counted in bridge/info as oversized_payloads)",
                topic,
                size,
                MAX_PAYLOAD_BYTES,
            )
