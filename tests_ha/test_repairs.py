"""Repair issues: the bridge's discovery duplicating the entry's entities (fixed by turning it
off through the bridge, or by removing the entry), and the credit budget reached.

`bridge/info` and `bridge/credits` are the bridge's own payloads (bridge_messages.py); the
`discovery` section of `bridge/info` and the `discovery/set` request are written as the
bridge's contract describes them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cmc_mqtt.const import DOMAIN
from custom_components.cmc_mqtt.issues import ha_discovery_prefix
from custom_components.cmc_mqtt.repairs import async_create_fix_flow

from .bridge_messages import bridge_credits, bridge_info
from .helpers import add_entry, answer_request, fire


def info_with_discovery(enabled: bool, prefix: str = "homeassistant") -> str:
    payload = json.loads(bridge_info(1))
    payload["topic_prefix"] = "cmc"
    payload["discovery"] = {"enabled": enabled, "prefix": prefix, "node_id": "cmc_mqtt",
                            "mode": "entity"}  # fmt: skip
    return json.dumps(payload)


def issue(hass: HomeAssistant, key: str, entry_id: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{key}_{entry_id}")


# --- duplicate entities -----------------------------------------------------------------------


async def test_the_bridges_own_discovery_raises_the_duplicates_issue(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/bridge/info", bridge_info(1))  # an older bridge says nothing
    assert issue(hass, "duplicate_entities", entry.entry_id) is None
    await fire(hass, "cmc/bridge/info", info_with_discovery(True))
    found = issue(hass, "duplicate_entities", entry.entry_id)
    assert found is not None
    assert found.is_fixable
    assert found.translation_key == "duplicate_entities"
    assert found.translation_placeholders == {"prefix": "cmc", "discovery_prefix": "homeassistant"}
    await fire(hass, "cmc/bridge/info", info_with_discovery(False))
    assert issue(hass, "duplicate_entities", entry.entry_id) is None


async def test_discovery_under_another_prefix_duplicates_nothing(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/bridge/info", info_with_discovery(True, prefix="openhab"))
    assert issue(hass, "duplicate_entities", entry.entry_id) is None


async def test_home_assistants_own_discovery_settings_are_read(hass: HomeAssistant) -> None:
    assert ha_discovery_prefix(hass) is None  # no MQTT integration
    MockConfigEntry(domain="mqtt", data={"discovery": False}).add_to_hass(hass)
    assert ha_discovery_prefix(hass) is None
    hass.config_entries.async_update_entry(
        hass.config_entries.async_entries("mqtt")[0],
        data={},
        options={"discovery_prefix": "ha"},  # newer versions keep it in the options
    )
    assert ha_discovery_prefix(hass) == "ha"


async def fix_flow(hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result: dict[str, Any] = await manager.async_init(
        DOMAIN, data={"issue_id": f"duplicate_entities_{entry_id}"}
    )
    return result


async def choose(hass: HomeAssistant, flow_id: str, step: str) -> dict[str, Any]:
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result: dict[str, Any] = await manager.async_configure(flow_id, {"next_step_id": step})
    return result


async def test_the_fix_turns_the_bridges_discovery_off(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/bridge/info", info_with_discovery(True))
    result = await fix_flow(hass, entry.entry_id)
    assert result["type"] == FlowResultType.MENU
    assert result["menu_options"] == ["turn_off_discovery", "remove_entry"]
    assert result["description_placeholders"] == {
        "prefix": "cmc",
        "discovery_prefix": "homeassistant",
    }
    result = await choose(hass, result["flow_id"], "turn_off_discovery")
    assert result["step_id"] == "turn_off_discovery"
    manager = repairs_flow_manager(hass)
    assert manager is not None
    # The bridge refuses at first, then agrees: the flow shows why, and finishes.
    refusal = {"status": "error", "error": "rate limited: retry in 4 s"}
    confirm = manager.async_configure(result["flow_id"], {})
    result, request = await answer_request(hass, mqtt_ready, confirm, "discovery/set", refusal)
    assert request["enabled"] is False
    assert result["errors"] == {"base": "rate_limited"}
    assert result["description_placeholders"]["answer"] == "\n\n> rate limited: retry in 4 s"
    ok = {"status": "ok", "data": {"enabled": False}}
    confirm = manager.async_configure(result["flow_id"], {})
    result, request = await answer_request(hass, mqtt_ready, confirm, "discovery/set", ok)
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert issue(hass, "duplicate_entities", entry.entry_id) is None
    assert entry.state is ConfigEntryState.LOADED  # the entry's entities are the ones kept


async def test_the_fix_removes_the_entry_instead(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/bridge/info", info_with_discovery(True))
    result = await fix_flow(hass, entry.entry_id)
    result = await choose(hass, result["flow_id"], "remove_entry")
    assert result["description_placeholders"] == {"prefix": "cmc"}
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_configure(result["flow_id"], {})
    assert result["type"] == FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.config_entries.async_entries(DOMAIN) == []
    assert hass.states.get("sensor.bitcoin_btc_price") is None
    assert issue(hass, "duplicate_entities", entry.entry_id) is None


async def test_the_fix_needs_a_loaded_entry(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/bridge/info", info_with_discovery(True))
    result = await fix_flow(hass, entry.entry_id)
    # Unloading withdraws the issue; a flow opened before meets an unloaded entry.
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert issue(hass, "duplicate_entities", entry.entry_id) is None
    result = await choose(hass, result["flow_id"], "turn_off_discovery")
    assert result["type"] == FlowResultType.ABORT
    assert result["reason"] == "not_loaded"


async def test_an_unknown_issue_has_no_fix_flow(hass: HomeAssistant) -> None:
    with pytest.raises(ValueError, match="no fix flow"):
        await async_create_fix_flow(hass, "credit_budget_x", None)


# --- the credit budget ------------------------------------------------------------------------


async def test_the_credit_budget_reached_raises_an_issue(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    await fire(hass, "cmc/bridge/credits", bridge_credits())
    assert issue(hass, "credit_budget", entry.entry_id) is None
    await fire(hass, "cmc/bridge/credits", bridge_credits(budget=100))
    found = issue(hass, "credit_budget", entry.entry_id)
    assert found is not None
    assert (found.translation_key, found.severity) == ("credit_budget", ir.IssueSeverity.WARNING)
    assert not found.is_fixable
    credits = json.loads(bridge_credits(budget=100))
    assert found.translation_placeholders == {
        "prefix": "cmc",
        "used": f"{credits['estimated_used']:,.0f}",
        "projected": f"{credits['projected']:,.0f}",
        "budget": "100",
    }
    await fire(hass, "cmc/bridge/credits", bridge_credits(budget=100, stopped=True))
    found = issue(hass, "credit_budget", entry.entry_id)
    assert found is not None
    assert found.translation_key == "credit_budget_stopped"
    assert found.severity == ir.IssueSeverity.ERROR
    await fire(hass, "cmc/bridge/credits", "not json")  # says nothing: nothing to report
    assert issue(hass, "credit_budget", entry.entry_id) is None
    await fire(hass, "cmc/bridge/credits", bridge_credits(budget=100))
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert issue(hass, "credit_budget", entry.entry_id) is None


async def test_odd_figures_are_shown_as_unknown(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await add_entry(hass, coins=[1], fields=["p"])
    odd = {"over_budget": True, "estimated_used": "12", "projected": 1e300, "budget": None}
    await fire(hass, "cmc/bridge/credits", json.dumps(odd))
    found = issue(hass, "credit_budget", entry.entry_id)
    assert found is not None
    placeholders = found.translation_placeholders
    assert placeholders is not None
    assert (placeholders["used"], placeholders["projected"], placeholders["budget"]) == (
        "?", "?", "?"
    )  # fmt: skip
