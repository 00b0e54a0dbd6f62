"""The `mqtt` source of the exchange rate: a topic the user already has (one Home Assistant
publishes, say), read on the MQTT thread and offered to the `RateKeeper`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..money.rate import RateError, RateKeeper, invert, parse_rate_payload
from ..mqtt.extension import Extension, Outbox

if TYPE_CHECKING:
    from .parts import BridgeParts

LOG = logging.getLogger(__name__)


class RateTopic(Extension):
    """The `mqtt` source: a topic the user already has, read on the MQTT thread."""

    def __init__(
        self, topic: str, keeper: RateKeeper, *, key: str = "rate", inverted: bool = False
    ) -> None:
        """`inverted`: the topic gives US dollars per unit of the currency (EUR/USD 1.087)."""
        self.topic = topic
        self._keeper = keeper
        self._key = key
        self._inverted = inverted

    def on_connected(self, out: Outbox) -> None:
        out.subscribe(self.topic)

    def on_message(self, topic: str, payload: bytes, retained: bool, out: Outbox) -> None:
        if topic != self.topic:
            return
        if not payload.strip():
            LOG.debug("empty payload on the rate topic %s: ignored", topic)
            return
        try:
            rate = parse_rate_payload(payload, self._key)
            if self._inverted:
                rate = invert(rate)
        except RateError as exc:
            self._keeper.report(exc, f"topic {topic}")
            return
        self._keeper.offer(rate, f"topic {topic}")


def build(parts: BridgeParts) -> RateTopic | None:
    """Only for `fx_source = "mqtt"` in another currency than USD."""
    fx = parts.settings.fx
    if not (fx.converts and fx.source == "mqtt" and fx.topic is not None):
        return None
    return RateTopic(fx.topic, parts.money.keeper, key=fx.topic_key, inverted=fx.inverted)
