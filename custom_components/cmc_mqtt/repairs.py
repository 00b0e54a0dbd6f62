"""Fix flows of the entry's repair issues (`issues.py`): Home Assistant loads this platform and
asks it for the flow when the user opens a fixable issue.

Duplicate entities offer two ways out: turn the bridge's own MQTT discovery off (asked on
`<prefix>/bridge/request/discovery/set`; the bridge then clears its discovery configs, and Home
Assistant the entities it made from them), or remove this entry and keep the bridge's entities.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .bridge_requests import BridgeRequestError, async_request
from .const import CONF_PREFIX, DOMAIN, ISSUE_DUPLICATES
from .data import runtime

try:
    from homeassistant.components.repairs import (  # type: ignore[attr-defined,unused-ignore]
        RepairsFlowResult,
    )
except ImportError:  # Home Assistant before 2024.12
    from homeassistant.data_entry_flow import (  # type: ignore[assignment,unused-ignore]
        FlowResult as RepairsFlowResult,
    )

IssueData = dict[str, str | int | float | None] | None


class DuplicatesRepairFlow(RepairsFlow):
    """The bridge's discovery and this entry both make entities for the same coins."""

    def __init__(self, entry_id: str, discovery_prefix: str) -> None:
        self._entry_id = entry_id
        self._discovery_prefix = discovery_prefix

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        return self.async_show_menu(
            step_id="init",
            menu_options=["turn_off_discovery", "remove_entry"],
            description_placeholders={
                "prefix": entry.data[CONF_PREFIX],
                "discovery_prefix": self._discovery_prefix,
            },
        )

    async def async_step_turn_off_discovery(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        errors: dict[str, str] = {}
        answer = ""
        if user_input is not None:
            body = {"enabled": False}
            try:
                await async_request(self.hass, runtime(entry), "discovery/set", body)
            except BridgeRequestError as exc:
                errors["base"], answer = exc.reason, exc.detail
            else:
                return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="turn_off_discovery",
            errors=errors,
            description_placeholders={
                "prefix": entry.data[CONF_PREFIX],
                "answer": f"\n\n> {answer}" if answer else "",
            },
        )

    async def async_step_remove_entry(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            await self.hass.config_entries.async_remove(entry.entry_id)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="remove_entry", description_placeholders={"prefix": entry.data[CONF_PREFIX]}
        )


async def async_create_fix_flow(hass: HomeAssistant, issue_id: str, data: IssueData) -> RepairsFlow:
    """Only the duplicates issue is fixable; its data names the entry."""
    if not issue_id.startswith(f"{ISSUE_DUPLICATES}_") or data is None:
        raise ValueError(f"{DOMAIN} has no fix flow for the issue {issue_id}")
    return DuplicatesRepairFlow(str(data["entry_id"]), str(data.get("discovery_prefix")))
