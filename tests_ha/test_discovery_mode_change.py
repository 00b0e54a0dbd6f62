"""Changing the bridge's `discovery_mode` must keep every entity: its id, its settings, and so
its history (Home Assistant keys history to the entity id).

What the bridge sends when it starts with the other mode comes from its own code, run here: the
discovery extension announces on connecting, the sweep finds the old mode's retained configs,
and for those whose entity is announced again it sends `{"migrate_discovery": true}`, the new
configs again, then the clear. Home Assistant (2025.1 and later) then unloads each entity
without removing it, and the new config with the same unique id takes it over. Older versions
have no migration: there the message must do no harm.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.components.mqtt import discovery as mqtt_discovery
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from cmc_mqtt.extensions.announcer import HomeAssistantDiscovery
from cmc_mqtt.extensions.ghosts import GhostRules
from cmc_mqtt.extensions.sweep import RetainedSweep
from cmc_mqtt.homeassistant.context import DiscoveryContext
from cmc_mqtt.homeassistant.discovery import (
    MIGRATE_PAYLOAD,
    bridge_messages,
    coin_messages,
    is_own_config,
    wanted_topics,
)
from cmc_mqtt.model.coins import coin_info
from cmc_mqtt.rest.names import CoinDirectory

from .bridge_messages import (
    bridge_states,
    context,
    discover,
    discover_bridge,
    fire,
    live,
    session_state,
)

MIGRATES = hasattr(mqtt_discovery, "MIGRATE_DISCOVERY_SCHEMA")
needs_migration_support = pytest.mark.skipif(
    not MIGRATES, reason="discovery migration arrived in Home Assistant 2025.1"
)
MODES = [pytest.param("entity", "device", id="entity-to-device"),
         pytest.param("device", "entity", id="device-to-entity")]  # fmt: skip
PRICE_ID = "cmc_mqtt_1_p"  # the bridge's unique id of Bitcoin's price, the same in both modes
STREAM_ID = "cmc_mqtt_bridge_stream"  # and of the bridge device's stream sensor
MIGRATE = MIGRATE_PAYLOAD  # what the bridge sends to an old config topic


def test_the_migration_message_is_home_assistants() -> None:
    assert json.loads(MIGRATE) == {"migrate_discovery": True}


class Recorder:
    """The broker as the bridge's extensions see it: what they publish, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def publish(self, topic: str, payload: str, *, retain: bool = True) -> None:
        self.sent.append((topic, payload))

    def subscribe(self, topic: str) -> None:
        return None

    def unsubscribe(self, topic: str) -> None:
        return None

    def republish_state(self) -> None:
        return None


def bridge_restart(ctx: DiscoveryContext, left: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The configs a bridge streaming Bitcoin sends when it starts with `ctx` while `left` is
    retained on the broker: its discovery and sweep extensions, wired as `Bridge` wires them."""
    state = session_state(1)
    discovery = HomeAssistantDiscovery(ctx, state, CoinDirectory({}, None))
    rules = GhostRules(ctx.topics, lambda: state.crypto_ids, ctx=ctx).rules()
    sweep = RetainedSweep("cmc/bridge/sync", rules, migrate=discovery.migration)
    out = Recorder()
    for extension in (sweep, discovery):  # in the bridge's order
        extension.on_connected(out)
    for topic, payload in left:  # the broker hands the sweep what is retained
        sweep.on_message(topic, payload.encode(), True, out)
    marker = next(payload for topic, payload in out.sent if topic == "cmc/bridge/sync")
    sweep.on_message("cmc/bridge/sync", marker.encode(), False, out)
    assert sweep.done
    return [(t, p) for t, p in out.sent if t.startswith("homeassistant/")]


async def deliver(hass: HomeAssistant, messages: list[tuple[str, str]]) -> None:
    """The bridge publishes while Home Assistant is subscribed: every message arrives live
    (not flagged retained), and the new entities' subscriptions get the retained states."""
    for topic, payload in messages:
        await live(hass, topic, payload)
    fire(hass, bridge_states(1))
    await hass.async_block_till_done()


def configs(ctx: DiscoveryContext) -> list[tuple[str, str]]:
    price = float(dict(bridge_states(1))["cmc/1/p"])
    return coin_messages(ctx, coin_info(1), price) + bridge_messages(ctx)


def left_over(old: DiscoveryContext, new: DiscoveryContext) -> list[str]:
    """The old mode's config topics that the bridge's start-up sweep clears under the new."""
    wanted = wanted_topics(new, (1,))
    return [t for t, _ in configs(old) if is_own_config(new, t) and t not in wanted]


async def customised(hass: HomeAssistant, mode: str) -> er.RegistryEntry:
    """Bitcoin and the bridge device discovered in `mode`, Bitcoin's price renamed by the
    user."""
    await discover_bridge(hass, discovery_mode=mode)
    await discover(hass, 1, discovery_mode=mode)
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", "mqtt", PRICE_ID)
    assert entity_id == "sensor.bitcoin_btc_price"
    registry.async_update_entity(entity_id, new_entity_id="sensor.my_btc", name="My bitcoin")
    await hass.async_block_till_done()
    entry = registry.async_get("sensor.my_btc")
    assert entry is not None
    return entry


async def assert_kept(hass: HomeAssistant, before: er.RegistryEntry) -> None:
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", "mqtt", PRICE_ID) == "sensor.my_btc"
    stream = registry.async_get_entity_id("binary_sensor", "mqtt", STREAM_ID)
    assert stream == "binary_sensor.cmc_mqtt_bridge_stream"
    after = registry.async_get("sensor.my_btc")
    assert after is not None
    assert (after.id, after.name) == (before.id, "My bitcoin")
    await live(hass, "cmc/1/p", "90000.5")
    state = hass.states.get("sensor.my_btc")
    assert state is not None
    assert state.state == "90000.5"


@needs_migration_support
@pytest.mark.parametrize(("old_mode", "new_mode"), MODES)
async def test_changing_discovery_mode_keeps_the_entity(
    hass: HomeAssistant, mqtt_ready: Any, old_mode: str, new_mode: str
) -> None:
    before = await customised(hass, old_mode)
    old, new = context(discovery_mode=old_mode), context(discovery_mode=new_mode)
    sent = bridge_restart(new, configs(old))
    assert {(topic, MIGRATE) for topic in left_over(old, new)} <= set(sent)
    await deliver(hass, sent)
    await assert_kept(hass, before)


@needs_migration_support
@pytest.mark.parametrize(("old_mode", "new_mode"), MODES)
async def test_a_mode_change_sent_in_one_burst_keeps_the_entity(
    hass: HomeAssistant, mqtt_ready: Any, old_mode: str, new_mode: str
) -> None:
    """As a broker delivers them: every message before Home Assistant has handled the first."""
    before = await customised(hass, old_mode)
    old, new = context(discovery_mode=old_mode), context(discovery_mode=new_mode)
    for topic, payload in bridge_restart(new, configs(old)):
        async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()
    fire(hass, bridge_states(1))
    await hass.async_block_till_done()
    await assert_kept(hass, before)


@pytest.mark.skipif(MIGRATES, reason="for Home Assistant before 2025.1")
async def test_the_migration_message_does_no_harm_without_migration_support(
    hass: HomeAssistant, mqtt_ready: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Home Assistant before 2025.1 takes `{"migrate_discovery": true}` for a config update
    that fails its schema: it logs that and leaves the entity as it was. (It has no
    device-based discovery either, so a move to it ends with the entities cleared, as
    before.)"""
    before = await customised(hass, "entity")
    sent = bridge_restart(context(discovery_mode="device"), configs(context()))
    migrating = [topic for topic, payload in sent if payload == MIGRATE]
    assert migrating
    for topic in migrating:
        await live(hass, topic, MIGRATE)
    registry = er.async_get(hass)
    after = registry.async_get("sensor.my_btc")
    assert after is not None
    assert (after.id, after.unique_id, after.name) == (before.id, PRICE_ID, "My bitcoin")
    assert registry.async_get_entity_id("binary_sensor", "mqtt", STREAM_ID) is not None
    await live(hass, "cmc/1/p", "90000.5")
    assert hass.states.get("sensor.my_btc").state == "90000.5"
    assert "required key not provided" in caplog.text  # the one trace it leaves


@needs_migration_support
@pytest.mark.parametrize(("old_mode", "new_mode"), MODES)
@pytest.mark.parametrize("configs_sent_on_connect", [False, True])
async def test_a_mode_change_announced_as_a_migration_keeps_the_entity(
    hass: HomeAssistant,
    mqtt_ready: Any,
    old_mode: str,
    new_mode: str,
    configs_sent_on_connect: bool,
) -> None:
    """The sequence the bridge must send: `{"migrate_discovery": true}` to each of the old
    mode's config topics, then the new mode's configs, then the old topics cleared. New
    configs sent earlier (on connecting, as now) are turned away, so they are sent again."""
    before = await customised(hass, old_mode)
    old, new = context(discovery_mode=old_mode), context(discovery_mode=new_mode)
    stale = left_over(old, new)
    assert stale  # the two modes use different config topics
    if configs_sent_on_connect:
        await deliver(hass, configs(new))
    await deliver(hass, [(topic, MIGRATE) for topic in stale])
    assert hass.states.get("sensor.my_btc") is None  # unloaded, not removed
    assert er.async_get(hass).async_get("sensor.my_btc") is not None
    await deliver(hass, configs(new))
    await deliver(hass, [(topic, "") for topic in stale])
    await assert_kept(hass, before)
