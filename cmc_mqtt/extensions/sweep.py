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

Amounts in the user's currency name it (`<prefix>/1/p_eur`), so a changed currency leaves the
old one's topics behind: they are found through the old rate's `<prefix>/fx/<cur>/…` and the
old portfolio's `<prefix>/portfolio/value_<cur>`, and cleared for every coin streamed now.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from paho.mqtt.client import topic_matches_sub

from ..displays.awtrix import APP_TOPIC
from ..homeassistant.discovery import (
    MIGRATE_PAYLOAD,
    DiscoveryContext,
    Message,
    is_own_config,
    subscription_patterns,
    wanted_topics,
)
from ..mqtt.extension import Extension, Outbox
from ..state.bridge_state import Topics

LOG = logging.getLogger(__name__)
T = TypeVar("T")
#: For the leftovers found: the topics to announce as migrating, and the configs to send then.
Migration = Callable[[list[str]], tuple[list[str], list[Message]]]


#: Per-coin topics whose last level names a currency (`p_eur`, `value_eur`).
MONEY_LEVELS = ("p", "vu", "mc", "value", "status")


@dataclass(frozen=True, slots=True)
class MoneyTopics:
    """What the money topics of this run are: the currency's code, and the coins held now."""

    currency: str = "USD"
    held: Callable[[], tuple[int, ...]] = tuple


@dataclass(frozen=True, slots=True)
class SweepRule:
    pattern: str  # subscription that finds retained topics of ours
    ghosts: Callable[[str], list[str]]  # for a found topic: the topics to clear (none if wanted)


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
    ) -> None:
        """`after_clear(cleared, out)`: told what a sweep cleared, right after clearing it."""
        self._sync_topic = sync_topic
        self._rules = rules
        self._migrate = migrate
        self._after_clear = after_clear
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
        self._token = uuid.uuid4().hex
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
        self.done = True
        if self.cleared:
            LOG.info("cleared %d retained topics an earlier configuration left", len(self.cleared))
            if self._after_clear is not None:
                self._after_clear(self.cleared, out)


def sweep_rules(
    ctx: DiscoveryContext | None,
    topics: Topics,
    coin_ids: Callable[[], tuple[int, ...]],
    *,
    text_enabled: bool = True,
    awtrix_prefixes: tuple[str, ...] = (),
    chart_prefixes: tuple[str, ...] = (),
    money: MoneyTopics | None = None,
) -> list[SweepRule]:
    """What counts as a ghost: configs of our node id this run does not publish, and the
    retained values of coins not (or no longer) streamed. `coin_ids` is asked each time, as the
    coins may change while the bridge runs. `chart_prefixes`: the clocks that show charts;
    `money`: the currency and holdings, whose topics of another currency are ghosts."""
    configured_now: _PerCoinSet[frozenset[int]] = _PerCoinSet(coin_ids, frozenset)
    rules: list[SweepRule] = []
    prefix = topics.prefix
    money = money or MoneyTopics()
    cur = money.currency.lower()
    coin_status = re.compile(rf"{re.escape(prefix)}/(\d+)/status")

    # A coin removed and a currency changed since the last run meet in whichever order the
    # broker delivers them: each remembers what it saw, so the removed coin's amounts in the
    # old currency are cleared either way.
    removed: set[int] = set()
    old_codes: set[str] = set()

    def money_topics(cid: int, code: str) -> list[str]:
        return [f"{prefix}/{cid}/{level}_{code}" for level in MONEY_LEVELS]

    def removed_coin(topic: str) -> list[str]:
        match = coin_status.fullmatch(topic)
        if match is None or int(match.group(1)) in configured_now():
            return []
        cid = int(match.group(1))
        removed.add(cid)
        codes = sorted({cur, *old_codes})
        return [
            *Topics(prefix).coin(cid).values(),
            *(t for c in codes for t in money_topics(cid, c)),
        ]

    rules.append(SweepRule(f"{prefix}/+/status", removed_coin))
    if not text_enabled:
        rules.append(SweepRule(f"{prefix}/+/text", lambda topic: [topic]))

    def removed_app(topic: str) -> list[str]:
        match = APP_TOPIC.fullmatch(topic)
        if match is None:
            return []
        gone = int(match.group(2)) not in configured_now()
        no_chart = match.group(3) is not None and match.group(1) not in chart_prefixes
        return [topic] if gone or no_chart else []

    rules.extend(SweepRule(f"{clock}/custom/+", removed_app) for clock in awtrix_prefixes)

    def old_currency(code: str) -> list[str]:
        """Every coin's topics in `code`, a currency this run does not use."""
        old_codes.add(code)
        coins = sorted({*configured_now(), *removed})
        return [t for cid in coins for t in money_topics(cid, code)]

    fx_topic = re.compile(rf"{re.escape(prefix)}/fx/([a-z]+)/[^/]+")

    def other_rate(topic: str) -> list[str]:
        match = fx_topic.fullmatch(topic)
        if match is None or (match.group(1) == cur and cur != "usd"):
            return []
        return [topic, *old_currency(match.group(1))]

    rules.append(SweepRule(f"{prefix}/fx/+/+", other_rate))
    amount = re.compile(r"(?:value|change_24h)_([a-z]+)")

    def old_portfolio(topic: str) -> list[str]:
        level = topic.rpartition("/")[2]
        match = amount.fullmatch(level)
        if not money.held():
            return [topic, *(old_currency(match.group(1)) if match else [])]
        if match is not None and match.group(1) != cur:
            return [topic, *old_currency(match.group(1))]
        return []

    rules.append(SweepRule(f"{prefix}/portfolio/+", old_portfolio))
    coin_value = re.compile(rf"{re.escape(prefix)}/(\d+)/value_{cur}")

    def not_held(topic: str) -> list[str]:
        match = coin_value.fullmatch(topic)
        if match is None:
            return []
        cid = int(match.group(1))
        return [topic] if cid not in money.held() or cid not in configured_now() else []

    rules.append(SweepRule(f"{prefix}/+/value_{cur}", not_held))
    if ctx is not None:
        # Which configs are wanted also depends on the coins held (their Value sensors) and on
        # whether discovery is on now (a request may switch it).
        wanted_now = _PerCoinSet(
            coin_ids,
            lambda ids: wanted_topics(ctx, ids),
            also=lambda: (money.held(), ctx.announcing),
        )

        def unwanted_config(topic: str) -> list[str]:
            return [topic] if is_own_config(ctx, topic) and topic not in wanted_now() else []

        rules.extend(SweepRule(pattern, unwanted_config) for pattern in subscription_patterns(ctx))
    return rules


class _PerCoinSet(Generic[T]):
    """`make(ids)`, made again only when the coin tuple is another object (or `also()` another
    value): the sweep asks for every retained topic it finds (130,000 at 10,000 coins) and the
    coins rarely change."""

    def __init__(
        self,
        coin_ids: Callable[[], tuple[int, ...]],
        make: Callable[..., T],
        *,
        also: Callable[[], object] = tuple,
    ) -> None:
        self._coin_ids = coin_ids
        self._make = make
        self._also = also
        self._ids: tuple[int, ...] | None = None
        self._also_was: object = None
        self._value: T | None = None

    def __call__(self) -> T:
        ids, also = self._coin_ids(), self._also()
        if ids is not self._ids or also != self._also_was or self._value is None:
            self._ids, self._also_was, self._value = ids, also, self._make(ids)
        return self._value
