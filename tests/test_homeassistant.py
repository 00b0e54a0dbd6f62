"""Discovery over a real broker: configs, the bridge device, birth message, ghosts, two bridges,
a change of discovery mode, stale coins."""

from __future__ import annotations

import json
from collections.abc import Callable

import paho.mqtt.publish as publish

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.homeassistant.bridge_entities import BRIDGE_ENTITIES
from cmc_mqtt.homeassistant.discovery import MIGRATE_PAYLOAD
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import Broker, Subscriber, retained

StartBridge = Callable[..., Bridge]
BTC_PRICE = "homeassistant/sensor/cmc_mqtt/1_p/config"
ETH_PRICE = "homeassistant/sensor/cmc_mqtt/1027_p/config"
BRIDGE_STREAM = "homeassistant/binary_sensor/cmc_mqtt/bridge_stream/config"
#: Two coins of 13 fields each, and the bridge device.
ALL_CONFIGS = 26 + len(BRIDGE_ENTITIES)


def configs_for(coins: list[int], node: str = "cmc_mqtt") -> Callable[[dict[str, str]], bool]:
    def check(last: dict[str, str]) -> bool:
        return all(f"homeassistant/sensor/{node}/{c}_p/config" in last for c in coins)

    return check


def test_configs_are_retained_for_every_coin_and_field(
    broker: Broker, start_bridge: StartBridge
) -> None:
    start_bridge()
    store = retained(broker, "homeassistant/#", lambda last: len(last) == ALL_CONFIGS)
    config = json.loads(store[BTC_PRICE])
    assert config["state_topic"] == "cmc/1/p"
    assert config["device"]["name"] == "Bitcoin (BTC)"
    assert json.loads(store[ETH_PRICE])["device"]["name"] == "Ethereum (ETH)"


def test_the_bridge_device_reads_topics_the_bridge_publishes(
    broker: Broker, start_bridge: StartBridge
) -> None:
    start_bridge()
    store = retained(
        broker, "#", lambda last: BRIDGE_STREAM in last and "cmc/bridge/credits" in last
    )
    configs = {t: json.loads(p) for t, p in store.items() if "/cmc_mqtt/bridge_" in t}
    assert len(configs) == len(BRIDGE_ENTITIES)
    read = {c["state_topic"] for c in configs.values() if "state_topic" in c}
    assert read == {"cmc/status", "cmc/bridge/info", "cmc/bridge/credits"}
    assert read <= store.keys()  # every topic they read is there, retained
    info, credits = json.loads(store["cmc/bridge/info"]), json.loads(store["cmc/bridge/credits"])
    for config in configs.values():
        template = config.get("value_template", "")
        for key in ("version", "connections", "frames", "reconnects", "last_frame_time"):
            if f"['{key}']" in template:
                assert key in info
        for key in ("estimated_used", "projected", "key"):
            if f"['{key}']" in template:
                assert key in credits


def test_birth_message_republishes_discovery_and_states(
    broker: Broker, start_bridge: StartBridge, subscriber: Subscriber
) -> None:
    start_bridge()
    subscriber.wait_for(configs_for([1, 1027]))
    subscriber.wait_topic("cmc/1/p")
    before = len(subscriber.messages)
    publish.single("homeassistant/status", "online", hostname=broker.host, port=broker.port)

    def republished(_last: dict[str, str]) -> bool:
        later = [t for t, _, _ in subscriber.messages[before:]]
        return BTC_PRICE in later and "cmc/status" in later and "cmc/1/status" in later

    subscriber.wait_for(republished)


def test_removed_coins_and_fields_leave_no_ghosts(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    first = start_bridge()
    retained(broker, "#", lambda last: "cmc/1027/p" in last and configs_for([1, 1027])(last))
    first.stop()
    second = start_bridge(cmc={"crypto_ids": [1]}, homeassistant={"fields": ["p", "p24h"]})

    def cleaned(last: dict[str, str]) -> bool:
        ghosts = [t for t in last if "1027" in t or "/1_vu/" in t]
        return BTC_PRICE in last and not ghosts

    # Within a bounded time only what the new configuration wants is left on the broker; the
    # bridge device stays.
    store = retained(broker, "#", cleaned)
    configs = sorted(t for t in store if t.startswith("homeassistant/") and "bridge_" not in t)
    assert configs == [BTC_PRICE, "homeassistant/sensor/cmc_mqtt/1_p24h/config"]
    assert len([t for t in store if "/cmc_mqtt/bridge_" in t]) == len(BRIDGE_ENTITIES)
    assert "homeassistant/sensor/cmc_mqtt/1027_p/config" in second.sweep.cleared
    assert not [t for t in second.sweep.cleared if "bridge" in t]


def test_another_bridges_entities_are_left_alone(broker: Broker, start_bridge: StartBridge) -> None:
    start_bridge(mqtt={"topic_prefix": "office", "client_id": "office"},
                 homeassistant={"node_id": "office"}, cmc={"crypto_ids": [5426]})  # fmt: skip
    retained(broker, "#", configs_for([5426], node="office"))
    ours = start_bridge(cmc={"crypto_ids": [1]})
    ours.publisher.connected.wait(10)
    retained(broker, "#", lambda last: ours.sweep.done and BTC_PRICE in last)
    office = ("homeassistant/sensor/office/5426_p/config", "office/5426/status", "office/5426/p")
    retained(broker, "#", lambda last: configs_for([1])(last) and all(t in last for t in office))
    assert ours.sweep.cleared == []


def test_switching_to_device_discovery_replaces_the_entity_configs(
    broker: Broker, start_bridge: StartBridge
) -> None:
    first = start_bridge()
    retained(broker, "homeassistant/#", lambda last: len(last) == ALL_CONFIGS)
    first.stop()
    start_bridge(homeassistant={"discovery_mode": "device"})
    store = retained(broker, "homeassistant/#", lambda last: len(last) == 3)
    assert sorted(store) == [
        "homeassistant/device/cmc_mqtt_1/config",
        "homeassistant/device/cmc_mqtt_1027/config",
        "homeassistant/device/cmc_mqtt_bridge/config",
    ]
    components = json.loads(store["homeassistant/device/cmc_mqtt_1/config"])["components"]
    assert len(components) == 13


def test_a_mode_change_tells_home_assistant_the_entities_migrate(
    broker: Broker, start_bridge: StartBridge, subscriber: Subscriber
) -> None:
    """Migrate, new configs, clear: in that order, for every kept entity (Home Assistant
    2025.1 and later keep the entities then; tests_ha/ checks that inside Home Assistant)."""
    first = start_bridge(cmc={"crypto_ids": [1, 1027]})
    retained(broker, "homeassistant/#", lambda last: len(last) == ALL_CONFIGS)
    first.stop()
    second = start_bridge(cmc={"crypto_ids": [1]}, homeassistant={"discovery_mode": "device"})
    retained(broker, "homeassistant/#", lambda last: len(last) == 2 and second.sweep.done)
    device = "homeassistant/device/cmc_mqtt_1/config"
    bridge = "homeassistant/device/cmc_mqtt_bridge/config"
    subscriber.wait_for(lambda last: last.get(BTC_PRICE) == "")
    seen = [(t, p) for t, p, _ in subscriber.messages if t.startswith("homeassistant/")]
    migrating = [t for t, p in seen if p == MIGRATE_PAYLOAD]
    assert len(migrating) == 13 + len(BRIDGE_ENTITIES)  # Ethereum's configs just go
    assert BTC_PRICE in migrating
    assert not [t for t in migrating if "/1027_" in t]
    first_migrate = seen.index((migrating[0], MIGRATE_PAYLOAD))
    last_migrate = seen.index((migrating[-1], MIGRATE_PAYLOAD))
    after = seen[last_migrate + 1 :]
    # The new configs, sent (again) after the last migrate message, then every old one cleared.
    announced = [i for i, (t, p) in enumerate(after) if t in (device, bridge) and p]
    cleared = [i for i, (t, p) in enumerate(after) if p == "" and t in migrating]
    assert announced
    assert len(cleared) == len(migrating)
    assert max(announced) < min(cleared)
    assert ("homeassistant/sensor/cmc_mqtt/1027_p/config", "") in after
    assert all(p != MIGRATE_PAYLOAD for _, p in seen[:first_migrate])


def test_discovery_off_removes_our_entities(broker: Broker, start_bridge: StartBridge) -> None:
    first = start_bridge()
    retained(broker, "homeassistant/#", lambda last: len(last) == ALL_CONFIGS)
    first.stop()
    second = start_bridge(homeassistant={"discovery": False})

    def no_configs(last: dict[str, str]) -> bool:
        return "cmc/status" in last and not [t for t in last if t.startswith("homeassistant/")]

    retained(broker, "#", no_configs)
    assert len(second.sweep.cleared) == ALL_CONFIGS


def test_a_coin_without_data_goes_offline_and_comes_back(
    start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    start_bridge(homeassistant={"stale_after": 1})
    subscriber.wait_topic("cmc/1/status", "online")
    stream.behaviour.push_data = False  # pongs still flow: the stream is up, the coin is stale
    subscriber.wait_topic("cmc/1/status", "offline")
    assert subscriber.last["cmc/status"] == "online"
    stream.behaviour.push_data = True
    subscriber.wait_topic("cmc/1/status", "online")
