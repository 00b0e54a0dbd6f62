"""Clearing what an earlier run left retained on the broker and this run no longer publishes.

A removed coin's values and Home Assistant configs would otherwise live on the broker forever
(ghost entities). At start-up the bridge subscribes to where its topics can be, then publishes a
private marker; brokers deliver retained messages when a subscription is made, so when the
marker comes back every retained topic has been seen and the ghosts can be cleared.

A Home Assistant config left by the other discovery mode (`discovery_mode` changed) whose
entity this run announces again is not just cleared: its topic is first told the entity is
migrating, then the new configs are sent, then it is cleared, so the entity keeps its id and
history (Home Assistant 2025.1 and later; older ones log the message as an invalid config and
leave the entity as it was).

What counts as a ghost is said by the rules of `ghosts.py`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from paho.mqtt.client import topic_matches_sub

from ..displays.awtrix import is_app_topic
from ..homeassistant.discovery import MIGRATE_PAYLOAD
from ..model.topics import Message
from ..mqtt.extension import Extension, Outbox
from .announcer import HomeAssistantDiscovery
from .display_outputs import Displays
from .ghosts import GhostRules, MoneyTopics, SweepRule

if TYPE_CHECKING:
    from .parts import BridgeParts

LOG = logging.getLogger(__name__)
#: For the leftovers found: the topics to announce as migrating, and the configs to send then.
Migration = Callable[[list[str]], tuple[list[str], list[Message]]]


class RetainedSweep(Extension):
    """Runs on the first connection that gets as far as the marker, and again when the coins
    change at run time (`rerun`)."""

    def __init__(
        self,
        sync_topic: str,
        rules: list[SweepRule],
        *,
        migrate: Migration | None = None,
        after_clear: Callable[[list[str], Outbox], None] | None = None,
        forget: Callable[[], None] | None = None,
    ) -> None:
        """`after_clear(cleared, out)`: told what a sweep cleared, right after clearing it;
        `forget()`: when a sweep is done (the rules let go of what they cached for it)."""
        self._sync_topic = sync_topic
        self._rules = rules
        self._migrate = migrate
        self._after_clear = after_clear
        self._forget = forget
        self._token = ""
        self._found: set[str] = set()
        self.done = False
        self._again = False
        self.cleared: list[str] = []

    def rerun(self) -> None:
        """Sweep again on the next tick (any thread may ask): removed coins leave no trace."""
        self._again = True

    def on_connected(self, out: Outbox) -> None:
        if self.done or not self._rules:
            return
        self._token = os.urandom(16).hex()
        self._found.clear()
        out.subscribe(self._sync_topic)
        for rule in self._rules:
            out.subscribe(rule.pattern)
        out.publish(self._sync_topic, self._token, retain=False)

    def on_message(self, topic: str, payload: bytes, retained: bool, out: Outbox) -> None:
        if self.done or not self._token:
            return
        if topic == self._sync_topic:
            if payload.decode("ascii", "replace") == self._token:
                self._finish(out)
            return
        if not retained or not payload:
            return
        for rule in self._rules:
            if topic_matches_sub(rule.pattern, topic):
                self._found.update(rule.ghosts(topic))

    def tick(self, now: float, out: Outbox) -> None:
        if self._again:
            self._again = False
            self.done = False
            self.on_connected(out)

    def _finish(self, out: Outbox) -> None:
        found = sorted(self._found)
        moving, configs = self._migrate(found) if self._migrate is not None else ([], [])
        for topic in moving:  # 1. the old configs' entities are migrating, not going
            out.publish(topic, MIGRATE_PAYLOAD, retain=False)
        for topic, payload in configs:  # 2. the configs that take them over
            out.publish(topic, payload, retain=True)
        for topic in found:  # 3. every leftover cleared
            out.publish(topic, "", retain=True)
        if moving:
            LOG.info("moved %d Home Assistant configs to the other discovery mode", len(moving))
        for rule in self._rules:
            out.unsubscribe(rule.pattern)
        out.unsubscribe(self._sync_topic)
        self.cleared = sorted(self._found)
        self._found.clear()
        self.done = True
        if self._forget is not None:
            self._forget()
        if self.cleared:
            LOG.info("cleared %d retained topics an earlier configuration left", len(self.cleared))
            if self._after_clear is not None:
                self._after_clear(self.cleared, out)


def build(parts: BridgeParts) -> RetainedSweep:
    """Always; again when coins are removed, a coin is no longer held, or discovery is turned
    off (its configs are unwanted then)."""
    settings = parts.settings
    money = parts.money
    ghosts = GhostRules(
        parts.topics,
        lambda: parts.state.crypto_ids,
        ctx=parts.discovery,
        text_enabled=settings.text.enabled,
        awtrix_prefixes=tuple(clock.prefix for clock in settings.awtrix),
        chart_prefixes=tuple(c.prefix for c in settings.awtrix if c.extras.chart_points),
        money=MoneyTopics(money.currency.code, lambda: tuple(money.holdings.snapshot())),
    )
    announcer, displays = parts.find(HomeAssistantDiscovery), parts.find(Displays)

    def after_clear(cleared: list[str], out: Outbox) -> None:
        """A clock deletes every app whose name starts with a cleared one's: send ours again."""
        if displays is not None and any(is_app_topic(topic) for topic in cleared):
            displays.resend(out)

    sweep = RetainedSweep(
        parts.topics.sync,
        ghosts.rules(),
        migrate=announcer.migration if announcer is not None else None,
        after_clear=after_clear,
        forget=ghosts.forget,
    )
    parts.coins.add_listener(lambda _added, removed: sweep.rerun() if removed else None)

    def holdings_changed(changed: tuple[int, ...]) -> None:
        held = money.holdings.snapshot()
        if any(cid not in held for cid in changed):
            sweep.rerun()  # a coin no longer held leaves its value and its sensor behind

    money.holding_set.add_listener(holdings_changed)
    parts.discovery_switch.add_listener(lambda on: None if on else sweep.rerun())
    return sweep
