"""Diagnostics download: the entry and what the bridge reported, secrets redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import TO_REDACT
from .data import CmcMqttConfigEntry, runtime


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: CmcMqttConfigEntry
) -> dict[str, Any]:
    data = runtime(entry)
    return {
        "entry": async_redact_data(
            {"data": dict(entry.data), "options": dict(entry.options), "title": entry.title},
            TO_REDACT,
        ),
        "bridge_online": data.bridge_online,
        "bridge_version": data.version,
        "coins": {str(cid): {"online": data.coin_online.get(cid, False)} for cid in data.coins},
        "fields": data.fields,
        "money": {
            "currency": data.money.currency,
            "fx_online": data.fx_online,
            "holding_currency": data.money.holding_currency,
            "held": list(data.money.held),
            "portfolio_online": data.portfolio_online,
            "amounts_online": {str(cid): on for cid, on in data.amounts_online.items()},
        },
        "bridge": async_redact_data({"info": data.info, "credits": data.credits}, TO_REDACT),
    }
