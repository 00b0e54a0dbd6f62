"""Announcing the coins to Home Assistant, and announcing them again when it restarts.

Discovery payloads come from `discovery.py`; this extension decides when to send them: on every
connection, on Home Assistant's birth message, and when a coin's name or price precision
changes. Each coin's configs are rebuilt only when what they depend on changed. The bridge
device's configs depend on the settings only: sent with every full announcement.

What the currency, holdings and alerts add comes from `ctx.money()`, asked on every tick: a coin
that stops being held loses its "Value" config (a retained empty payload, as zigbee2mqtt clears
a removed entity), and the "Portfolio" device comes and goes with the holdings.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..homeassistant.context import DiscoveryContext, MoneyDiscovery, Owner
from ..homeassistant.discovery import (
    BRIDGE,
    bridge_messages,
    coin_messages,
    display_precision,
    migrations,
    portfolio_messages,
)
from ..homeassistant.money_entities import PORTFOLIO, extra_keys, price_decimals
from ..model.fields import FIELDS_BY_KEY
from ..model.topics import Message
from ..mqtt.extension import Extension, Outbox
from ..rest.names import CoinDirectory
from ..state.bridge_state import BridgeState

if TYPE_CHECKING:
    from .parts import BridgeParts

LOG = logging.getLogger(__name__)
PRECISION_CHECK_S = 10.0


class HomeAssistantDiscovery(Extension):
    def __init__(self, ctx: DiscoveryContext, state: BridgeState, names: CoinDirectory) -> None:
        self._ctx = ctx
        self._state = state
        self._names = names
        self._published: dict[str, str] = {}
        self._coin_inputs: dict[int, tuple[object, ...]] = {}
        #: Config topics last sent per coin (or PORTFOLIO): one not sent again is cleared.
        self._owned: dict[Owner, set[str]] = {}
        self._names_changed = False
        self._coins_changed = False
        self._next_check = 0.0

    def start(self) -> None:
        self._names.add_listener(self._on_names_changed)

    def stop(self) -> None:
        self._names.remove_listener(self._on_names_changed)

    def _on_names_changed(self) -> None:
        self._names_changed = True  # picked up by the next tick on the MQTT thread

    def refresh_all(self) -> None:
        """The coins changed: announce every coin again on the next tick (any thread)."""
        self._coins_changed = True

    def on_connected(self, out: Outbox) -> None:
        out.subscribe(self._ctx.ha.status_topic)
        self._publish(out, force=True)

    def on_message(self, topic: str, payload: bytes, retained: bool, out: Outbox) -> None:
        if topic == self._ctx.ha.status_topic and payload.strip() == b"online":
            LOG.info("Home Assistant came online; announcing the coins again")
            self._publish(out, force=True)
            out.republish_state()

    def tick(self, now: float, out: Outbox) -> None:
        if self._coins_changed:
            self._coins_changed = False
            self._publish(out, force=True)
        elif self._names_changed or now >= self._next_check:
            self._names_changed = False
            self._next_check = now + PRECISION_CHECK_S
            self._publish(out, force=False)

    def migration(self, leftovers: list[str]) -> tuple[list[str], list[Message]]:
        """For the sweep (MQTT thread): which leftover configs of the other discovery mode to
        announce as migrating, and the configs that take their entities over (sent again, as
        Home Assistant turned away the ones sent on connecting: their unique ids were taken)."""
        money = self._ctx.money()
        moving, owners = migrations(self._ctx, leftovers, self._state.crypto_ids, money)
        prices = self._state.prices()
        configs: list[Message] = []
        for owner in owners:
            if owner == BRIDGE:
                configs.extend(bridge_messages(self._ctx))
            elif owner == PORTFOLIO:
                configs.extend(portfolio_messages(self._ctx, money=money))
            else:
                cid = int(owner)
                coin = self._names.get(cid)
                configs.extend(coin_messages(self._ctx, coin, prices.get(cid), money=money))
        return moving, configs

    def _publish(self, out: Outbox, *, force: bool) -> None:
        if not self._ctx.announcing:
            return
        if force:
            self._published.clear()
            self._coin_inputs.clear()
            for topic, payload in bridge_messages(self._ctx):
                self._published[topic] = payload
                out.publish(topic, payload, retain=True)
        money = self._ctx.money()
        prices = self._state.prices()
        price_field = FIELDS_BY_KEY["p"]
        for cid in self._state.crypto_ids:
            coin = self._names.get(cid)
            price = prices.get(cid)
            inputs = (
                coin,
                display_precision(price_field, price),
                *_money_inputs(money, cid, price),
            )
            if self._coin_inputs.get(cid) == inputs:
                continue
            self._coin_inputs[cid] = inputs
            self._send(out, cid, coin_messages(self._ctx, coin, price, money=money))
        self._send(out, PORTFOLIO, portfolio_messages(self._ctx, money=money))

    def _send(self, out: Outbox, owner: Owner, messages: list[Message]) -> None:
        """Publish what changed of one owner's configs; clear those it no longer has."""
        for topic in self._owned.get(owner, set()) - {topic for topic, _ in messages}:
            self._published.pop(topic, None)
            out.publish(topic, "", retain=True)
        self._owned[owner] = {topic for topic, _ in messages}
        for topic, payload in messages:
            if self._published.get(topic) != payload:
                self._published[topic] = payload
                out.publish(topic, payload, retain=True)


def _money_inputs(money: MoneyDiscovery, cid: int, price: float | None) -> tuple[object, ...]:
    """What a coin's money configs depend on: its extra entities and the converted price's
    decimals (not the rate itself, which moves all the time)."""
    keys = tuple(extra_keys(money, (), cid))
    currency = money.holding_currency
    return money.converts, currency, keys, price_decimals(price, money, currency)


def build(parts: BridgeParts) -> HomeAssistantDiscovery:
    """Always (it announces nothing while discovery is off, and announces everything again when
    the coins or the holdings change, or discovery is turned back on)."""
    announcer = HomeAssistantDiscovery(parts.discovery, parts.state, parts.names)
    parts.coins.add_listener(lambda _added, _removed: announcer.refresh_all())
    parts.money.holding_set.add_listener(lambda _changed: announcer.refresh_all())
    parts.discovery_switch.add_listener(lambda on: announcer.refresh_all() if on else None)
    return announcer
