"""amqtt's broker, corrected where it departs from MQTT 3.1.1 in ways the bridge's users see.

Imported only when the embedded broker starts (amqtt is an optional extra). Each override
names the rule it restores; tests/test_broker_conformance.py runs the same cases against this
broker and against mosquitto. What amqtt 0.12.1 does instead, and so what upstream should fix:

1. On every CONNECT it replays the retained messages matching *every* client's subscriptions
   to the new client (`_handle_client_session`, "publish any topic retained messages"): a
   `mosquitto_sub -t nothing/here` gets the whole retained store, and a subscriber whose filter
   matches gets each value twice. Retained messages belong to new subscriptions only
   [MQTT-3.3.1-6]; a resumed session's subscriptions are not new.
2. A message is delivered at the subscription's QoS even when it was published at QoS 0, and
   a retained QoS 0 message at the subscription's QoS (`retained.qos or qos`); the delivered
   QoS is the lower of the two [MQTT-3.8.4-6].
3. With anonymous access every session is marked anonymous, and anonymous sessions are
   dropped on disconnect: `clean_session = false` keeps nothing [MQTT-3.1.2-4].
4. Messages queued for an offline persistent session are sent with the retain flag set;
   messages for an established subscription carry retain 0 [MQTT-3.3.1-9].
5. A clean-session CONNECT with the client id of a connected client drops the old session but
   leaves its connection open; the old connection must be closed [MQTT-3.1.4-2] (its will is
   then sent, as mosquitto does).
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any, Final

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin

#: Set while a SUBSCRIBE is handled: the only time retained messages are sent.
_SUBSCRIBING: Final = contextvars.ContextVar("subscribing", default=False)
#: The QoS of the PUBLISH being distributed (None: a message the broker makes itself).
_PUBLISHED_QOS: Final[contextvars.ContextVar[int | None]] = contextvars.ContextVar(
    "published_qos", default=None
)
#: Subscriptions are granted QoS 1 at most (allowed by [MQTT-3.9.3]); with that, amqtt's own
#: choice of the subscription's QoS is right for every publish above QoS 0.
MAX_GRANTED_QOS: Final = 1


class OpenAuth(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type hints
    """Lets every client in, without marking its session anonymous (see 3. above)."""

    async def authenticate(self, *, session: Any) -> bool:
        return True


class ConformingBroker(Broker):  # type: ignore[misc]
    async def _handle_subscription(self, *args: Any) -> None:
        token = _SUBSCRIBING.set(True)
        try:
            await super()._handle_subscription(*args)
        finally:
            _SUBSCRIBING.reset(token)

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Any
    ) -> None:
        """Called by amqtt for each new subscription and, wrongly, for every subscription of
        every client on each CONNECT (1.); only the first sends anything, at the right QoS (2.)."""
        if not _SUBSCRIBING.get():
            return
        handler = self._get_handler(session)
        if handler is None:
            return
        topic_filter, requested = subscription
        granted = min(requested, MAX_GRANTED_QOS)
        sends = [
            asyncio.ensure_future(
                handler.mqtt_publish(
                    retained.topic, retained.data, min(granted, retained.qos or 0), retain=True
                )
            )
            for topic, retained in list(self._retained_messages.items())
            if self._matches(topic, topic_filter)
        ]
        if sends:
            await asyncio.wait(sends)

    async def add_subscription(self, subscription: tuple[str, int], session: Any) -> int:
        topic_filter, qos = subscription
        granted: int = await super().add_subscription(
            (topic_filter, min(qos, MAX_GRANTED_QOS)), session
        )
        return granted

    async def _handle_message_delivery(
        self, client_session: Any, handler: Any, wait_deliver: asyncio.Future[Any]
    ) -> bool:
        message = wait_deliver.result()
        token = _PUBLISHED_QOS.set(None if message is None else message.qos)
        try:
            delivered: bool = await super()._handle_message_delivery(
                client_session, handler, wait_deliver
            )
            return delivered
        finally:
            _PUBLISHED_QOS.reset(token)

    async def _broadcast_message(
        self, session: Any, topic: Any, data: Any, force_qos: int | None = None
    ) -> None:
        """amqtt delivers at `force_qos` when given, else at the subscription's QoS (at most 1
        here): so force QoS 0 for messages published at 0 and let the subscription decide
        for the others (2.)."""
        published = force_qos if force_qos is not None else _PUBLISHED_QOS.get()
        await super()._broadcast_message(session, topic, data, 0 if published == 0 else None)

    async def _publish_session_retained_messages(self, session: Any) -> None:
        """What was queued for an offline session, as the live messages they were (4.)."""
        handler = self._get_handler(session)
        sends = []
        while handler is not None and not session.retained_messages.empty():
            queued = session.retained_messages.get_nowait()
            sends.append(
                asyncio.ensure_future(
                    handler.mqtt_publish(queued.topic, queued.data, queued.qos, retain=False)
                )
            )
        if sends:
            await asyncio.wait(sends)

    async def _delete_session(self, client_id: str) -> None:
        """A clean session replacing a connected client closes the old connection (5.)."""
        session, handler = self._sessions.get(client_id, (None, None))
        if session is not None and handler is not None and session.transitions.is_connected():
            await handler.handle_connection_closed()  # its message loop ends, sending the will
            await handler.stop()
        await super()._delete_session(client_id)
