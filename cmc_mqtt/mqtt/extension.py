"""The contract between the MQTT publisher and its extensions, zigbee2mqtt style: each concern
beside the state topics (discovery, cleanup, displays, credits, requests) is one extension whose
constructor only stores its dependencies, whose `start` registers what it listens to and whose
`stop` undoes that. The hooks run with the publisher's I/O lock held: on the MQTT thread, and
`on_batch` also on a stream thread that publishes what it just merged.
"""

from __future__ import annotations

from typing import Protocol


class Outbox(Protocol):
    """What an extension may do with the broker (only while holding the publisher's I/O lock)."""

    def publish(self, topic: str, payload: str, *, retain: bool = True) -> None: ...
    def subscribe(self, topic: str) -> None: ...
    def unsubscribe(self, topic: str) -> None: ...
    def republish_state(self) -> None: ...


class PublisherExtension(Protocol):
    """A concern beside the state topics (discovery, cleanup, displays), zigbee2mqtt-style:
    the constructor stores dependencies, `on_connected` subscribes and publishes."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def on_connected(self, out: Outbox) -> None: ...
    def on_message(self, topic: str, payload: bytes, retained: bool, out: Outbox) -> None: ...
    def on_batch(self, out: Outbox) -> None: ...
    def tick(self, now: float, out: Outbox) -> None: ...


class Extension:
    """A `PublisherExtension` that does nothing until told: subclasses override what they use."""

    def start(self) -> None:
        """Register listeners (called once, before the MQTT thread starts)."""
        return

    def stop(self) -> None:
        """Undo `start` (called once, after the MQTT thread ended)."""
        return

    def on_connected(self, out: Outbox) -> None:
        return None

    def on_message(self, topic: str, payload: bytes, retained: bool, out: Outbox) -> None:
        return None

    def on_batch(self, out: Outbox) -> None:
        return None

    def tick(self, now: float, out: Outbox) -> None:
        return None
