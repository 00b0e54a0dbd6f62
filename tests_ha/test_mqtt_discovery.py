"""A bridge found over MQTT: the manifest names the bridge's retained `bridge/info`, Home
Assistant's MQTT integration hands a retained one over to the integration's own step, and the
bridge is offered once per prefix, confirmed, and then left alone.

The `bridge/info` payloads are the bridge's own (bridge_messages.py); its `topic_prefix` and
`discovery` sections are added as the bridge's contract describes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.loader import async_get_mqtt
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.cmc_mqtt.const import CONF_COINS, CONF_PREFIX, DOMAIN
from custom_components.cmc_mqtt.fields import DEFAULT_FIELDS
from custom_components.cmc_mqtt.info import found_bridge

from .bridge_messages import bridge_info
from .helpers import add_entry, coin_devices, entry_options

MANIFEST = Path(__file__).resolve().parent.parent / "custom_components/cmc_mqtt/manifest.json"


def info(*cids: int, prefix: str | None = "cmc", **more: Any) -> str:
    """The bridge's `bridge/info`, saying its prefix (None: an older bridge, which does not)."""
    payload = json.loads(bridge_info(*cids))
    if prefix is not None:
        payload["topic_prefix"] = prefix
    return json.dumps({**payload, **more})


async def retained(hass: HomeAssistant, topic: str, payload: str) -> None:
    async_fire_mqtt_message(hass, topic, payload, retain=True)
    await hass.async_block_till_done()


def offers(hass: HomeAssistant) -> list[Any]:
    return list(hass.config_entries.flow.async_progress_by_handler(DOMAIN))


async def test_the_manifest_subscribes_to_the_bridges_info(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    topics = json.loads(MANIFEST.read_text())["mqtt"]
    assert topics == ["+/bridge/info", "+/+/bridge/info", "+/+/+/bridge/info"]
    assert (await async_get_mqtt(hass))[DOMAIN] == topics  # as Home Assistant reads it


async def test_a_retained_info_offers_the_bridge_through_its_own_step(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await retained(hass, "cmc/bridge/info", info(1, 1027, 74))
    [flow] = offers(hass)
    assert flow["context"]["source"] == "mqtt"
    assert flow["context"]["title_placeholders"] == {"prefix": "cmc"}
    assert flow["step_id"] == "discovery_confirm"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["type"] == FlowResultType.FORM  # shown again: nothing was confirmed
    assert result["description_placeholders"] == {
        "prefix": "cmc",
        "version": "1.2.3",
        "count": "3",
        "coins": "Bitcoin (BTC), Ethereum (ETH), Dogecoin (DOGE)",
    }
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert result["title"] == "cmc-mqtt (cmc)"
    assert result["data"] == {CONF_PREFIX: "cmc"}
    coins = [1, 1027, 74]
    assert result["options"] == entry_options(coins, DEFAULT_FIELDS, follow=True, bridge=coins)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.dogecoin_doge_price") is not None


async def test_a_bridge_is_offered_once_per_prefix(hass: HomeAssistant, mqtt_ready: Any) -> None:
    await retained(hass, "cmc/bridge/info", info(1))
    await retained(hass, "cmc/bridge/info", info(1, 1027))  # the bridge publishes again
    await retained(hass, "office/cmc/bridge/info", info(74, prefix="office/cmc"))
    await retained(hass, "a/b/c/bridge/info", info(52, prefix=None))  # three levels, older bridge
    prefixes = sorted(flow["context"]["unique_id"] for flow in offers(hass))
    assert prefixes == ["a/b/c", "cmc", "office/cmc"]


async def test_a_prefix_with_an_entry_is_left_alone(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    await retained(hass, "cmc/bridge/info", info(1, 1027))
    assert offers(hass) == []
    assert entry.options[CONF_COINS] == [1]  # not followed: the entry predates following
    assert len(coin_devices(hass, entry.entry_id)) == 1
    # Another bridge on the same broker is still found (Home Assistant 2024.3 would stop
    # listening to the topic filter after an "already_configured").
    await retained(hass, "home/bridge/info", info(1027, prefix="home"))
    assert [flow["context"]["unique_id"] for flow in offers(hass)] == ["home"]


async def test_an_ignored_bridge_is_not_offered_again(hass: HomeAssistant, mqtt_ready: Any) -> None:
    await retained(hass, "cmc/bridge/info", info(1))
    [flow] = offers(hass)
    hass.config_entries.flow.async_abort(flow["flow_id"])
    await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "ignore"}, data={"unique_id": "cmc", "title": "cmc"}
    )
    await hass.async_block_till_done()
    await retained(hass, "cmc/bridge/info", info(1, 74))
    assert offers(hass) == []


async def test_a_bridge_added_by_hand_meanwhile_ends_the_offer(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await retained(hass, "cmc/bridge/info", info(1))
    [flow] = offers(hass)
    await add_entry(hass, coins=[1], fields=["p"])
    if offers(hass):  # Home Assistant ends it itself once an entry has the unique id
        result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
        assert result["type"] == FlowResultType.ABORT
        assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        # zigbee2mqtt's info on a topic the manifest names
        ("zigbee2mqtt/bridge/info", json.dumps({"version": "1.40.0", "coordinator": {}})),
        ("cmc/bridge/info", "not json"),
        ("cmc/bridge/info", json.dumps([1, 2])),
        ("cmc/bridge/info", json.dumps({"crypto_ids": "1,2"})),
        ("cmc/bridge/info", info(1, prefix="other")),  # says another prefix
        ("$SYS/bridge/info", info(1, prefix="$SYS")),
    ],
)
async def test_what_is_not_a_bridges_info_is_not_offered(
    hass: HomeAssistant, mqtt_ready: Any, topic: str, payload: str
) -> None:
    await retained(hass, topic, payload)
    assert offers(hass) == []


def test_a_found_bridges_coins_are_bounded() -> None:
    many = json.dumps({"crypto_ids": [*range(1, 12_000), -1, 0, 2**31, True, "7", 1]})
    bridge = found_bridge("cmc/bridge/info", many)
    assert bridge is not None
    assert bridge.coins == tuple(range(1, 10_001))
    assert found_bridge("cmc/bridge/info", json.dumps({"crypto_ids": [], "version": 5})) == (
        found_bridge("cmc/bridge/info", json.dumps({"crypto_ids": []}))
    )
    assert found_bridge("cmc/other/info", info(1)) is None
    assert found_bridge("cmc/bridge/info", "[" * 100_000) is None  # too deep for json


async def test_the_confirmation_names_the_first_coins_only(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await retained(hass, "cmc/bridge/info", info(*range(100, 115)))
    [flow] = offers(hass)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["description_placeholders"]["coins"].endswith("CMC #109 and 5 more")
