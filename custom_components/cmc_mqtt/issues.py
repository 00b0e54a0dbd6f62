"""Repair issues the entry raises from what the bridge reports, and clears when it no longer
does; an unloaded entry knows nothing and keeps none.

- Duplicate entities: the bridge announces its own entities by MQTT discovery under the prefix
  Home Assistant's MQTT integration discovers on, so every coin shows twice (the bridge's
  entities and this entry's). Fixable (`repairs.py`): the bridge's discovery turned off, or this
  entry removed. Only bridges that report their discovery (`discovery` in `bridge/info`) say so.
- The credit budget reached: `over_budget` in `bridge/credits` (and `stopped` when the bridge
  stopped streaming because of it). Not fixable here: the budget is the bridge's setting.
"""

from __future__ import annotations

import math
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, ISSUE_CREDIT_BUDGET, ISSUE_DUPLICATES, issue_id
from .data import CmcMqttConfigEntry, runtime
from .info import discovery_of

MQTT_DOMAIN: Final = "mqtt"
#: Home Assistant's MQTT integration: discovery on, and its prefix, unless configured otherwise.
CONF_DISCOVERY: Final = "discovery"
CONF_DISCOVERY_PREFIX: Final = "discovery_prefix"
DEFAULT_DISCOVERY_PREFIX: Final = "homeassistant"
#: Larger figures are not credits anyone was billed: shown as unknown.
MAX_CREDITS: Final = 1e15
DOCS_URL: Final = "https://github.com/cmc-mqtt/cmc-mqtt/blob/main/docs/homeassistant.md"


def ha_discovery_prefix(hass: HomeAssistant) -> str | None:
    """The prefix Home Assistant's MQTT integration discovers entities under; None while its
    discovery is off (or it is not set up)."""
    for entry in hass.config_entries.async_entries(MQTT_DOMAIN):
        settings: dict[str, Any] = {**entry.data, **entry.options}
        if not settings.get(CONF_DISCOVERY, True):
            return None
        return str(settings.get(CONF_DISCOVERY_PREFIX, DEFAULT_DISCOVERY_PREFIX))
    return None


@callback
def check_duplicates(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> None:
    data = runtime(entry)
    discovery = discovery_of(data.info) if data.info is not None else None
    found = ha_discovery_prefix(hass)
    key = issue_id(ISSUE_DUPLICATES, entry.entry_id)
    if discovery is None or not discovery.enabled or discovery.prefix != found:
        ir.async_delete_issue(hass, DOMAIN, key)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        key,
        data={"entry_id": entry.entry_id, "discovery_prefix": discovery.prefix},
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_DUPLICATES,
        translation_placeholders={"prefix": data.prefix, "discovery_prefix": discovery.prefix},
    )


def _amount(value: Any) -> str:
    """A number of credits as shown in the issue; `?` for anything that is not one."""
    if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > MAX_CREDITS:
        return "?"
    return f"{value:,.0f}"


@callback
def check_credit_budget(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> None:
    data = runtime(entry)
    credits = data.credits or {}
    key = issue_id(ISSUE_CREDIT_BUDGET, entry.entry_id)
    if credits.get("over_budget") is not True:
        ir.async_delete_issue(hass, DOMAIN, key)
        return
    stopped = credits.get("stopped") is True
    ir.async_create_issue(
        hass,
        DOMAIN,
        key,
        is_fixable=False,
        learn_more_url=f"{DOCS_URL}#credit-budget",
        severity=ir.IssueSeverity.ERROR if stopped else ir.IssueSeverity.WARNING,
        translation_key=f"{ISSUE_CREDIT_BUDGET}_stopped" if stopped else ISSUE_CREDIT_BUDGET,
        translation_placeholders={
            "prefix": data.prefix,
            "used": _amount(credits.get("estimated_used")),
            "projected": _amount(credits.get("projected")),
            "budget": _amount(credits.get("budget")),
        },
    )


@callback
def clear_issues(hass: HomeAssistant, entry_id: str) -> None:
    """The entry no longer listens to the bridge: what it raised may no longer be true."""
    for key in (ISSUE_DUPLICATES, ISSUE_CREDIT_BUDGET):
        ir.async_delete_issue(hass, DOMAIN, issue_id(key, entry_id))
