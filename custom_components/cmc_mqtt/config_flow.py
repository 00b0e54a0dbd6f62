"""Config flow: pick the topic prefix, then the coins the bridge publishes there.

Written for current Home Assistant and still working on 2024.3: `ConfigFlowResult` falls back
to `FlowResult`, the options flow keeps its entry under a name of its own (newer versions
provide `config_entry` themselves and refuse assignment), and reconfigure works without
`_get_reconfigure_entry`.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import voluptuous as vol
from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry, ConfigFlow, OptionsFlow
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv

from . import const, ids
from .const import CONF_COINS, CONF_FIELDS, CONF_PREFIX, DEFAULT_PREFIX, DOMAIN, ENTRY_VERSION
from .fields import DEFAULT_FIELDS, FIELDS, coin_label
from .migration import async_rescope

try:
    from homeassistant.config_entries import ConfigFlowResult
except ImportError:  # Home Assistant before 2024.4
    from homeassistant.data_entry_flow import FlowResult as ConfigFlowResult  # type: ignore[assignment]

_PREFIX = re.compile(r"[^+#\x00/$][^+#\x00]*")


def valid_prefix(prefix: str) -> bool:
    return bool(_PREFIX.fullmatch(prefix)) and "//" not in prefix and not prefix.endswith("/")


async def async_find_coins(hass: HomeAssistant, prefix: str) -> list[int]:
    """The coin ids a bridge publishes under `prefix`, from its retained topics."""
    found: set[int] = set()
    info_seen = asyncio.Event()

    @callback
    def bridge_info(message: mqtt.ReceiveMessage) -> None:
        try:
            ids = json.loads(message.payload).get("crypto_ids", [])
        except (ValueError, AttributeError):
            return
        found.update(i for i in ids if isinstance(i, int) and i > 0)
        info_seen.set()

    @callback
    def coin_status(message: mqtt.ReceiveMessage) -> None:
        level = message.topic.split("/")[-2]
        if level.isdigit():
            found.add(int(level))

    unsubscribes = [
        await mqtt.async_subscribe(hass, f"{prefix}/bridge/info", bridge_info),
        await mqtt.async_subscribe(hass, f"{prefix}/+/status", coin_status),
    ]
    try:
        await asyncio.wait_for(info_seen.wait(), const.FIND_TIMEOUT)
    except TimeoutError:
        pass
    finally:
        for unsubscribe in unsubscribes:
            unsubscribe()
    return sorted(found)


def coins_schema(available: list[int], coins: list[int], fields: list[str]) -> vol.Schema:
    coin_choices = {str(cid): f"{coin_label(cid)} [{cid}]" for cid in available}
    field_choices = {f.key: f.name for f in FIELDS}
    return vol.Schema(
        {
            vol.Required(CONF_COINS, default=[str(c) for c in coins]): cv.multi_select(
                coin_choices
            ),
            vol.Required(CONF_FIELDS, default=fields): cv.multi_select(field_choices),
        }
    )


class CmcMqttConfigFlow(ConfigFlow, domain=DOMAIN):
    VERSION = ENTRY_VERSION

    def __init__(self) -> None:
        self._prefix = DEFAULT_PREFIX
        self._found: list[int] = []

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> CmcMqttOptionsFlow:
        return CmcMqttOptionsFlow(config_entry)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if not self.hass.config_entries.async_entries("mqtt"):
            return self.async_abort(reason="mqtt_not_configured")
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            return self.async_abort(reason="mqtt_not_connected")
        errors: dict[str, str] = {}
        if user_input is not None:
            prefix = user_input[CONF_PREFIX].strip()
            if not valid_prefix(prefix):
                errors[CONF_PREFIX] = "invalid_prefix"
            else:
                await self.async_set_unique_id(prefix)
                self._abort_if_unique_id_configured()
                self._prefix = prefix
                self._found = await async_find_coins(self.hass, prefix)
                if self._found:
                    return await self.async_step_coins()
                errors["base"] = "no_coins_found"
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema({vol.Required(CONF_PREFIX, default=self._prefix): str}),
            errors=errors,
        )

    async def async_step_coins(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[CONF_COINS] and user_input[CONF_FIELDS]:
                return self.async_create_entry(
                    title=f"cmc-mqtt ({self._prefix})",
                    data={CONF_PREFIX: self._prefix},
                    options={
                        CONF_COINS: [int(c) for c in user_input[CONF_COINS]],
                        CONF_FIELDS: list(user_input[CONF_FIELDS]),
                    },
                )
            errors["base"] = "nothing_selected"
        return self.async_show_form(
            step_id="coins",
            data_schema=coins_schema(self._found, self._found, DEFAULT_FIELDS),
            errors=errors,
            description_placeholders={"count": str(len(self._found)), "prefix": self._prefix},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self.hass.config_entries.async_get_entry(self.context["entry_id"])
        if entry is None:
            return self.async_abort(reason="entry_not_found")
        errors: dict[str, str] = {}
        if user_input is not None:
            prefix = user_input[CONF_PREFIX].strip()
            taken = any(
                e.unique_id == prefix and e.entry_id != entry.entry_id
                for e in self.hass.config_entries.async_entries(DOMAIN)
            )
            if not valid_prefix(prefix):
                errors[CONF_PREFIX] = "invalid_prefix"
            elif taken:
                errors[CONF_PREFIX] = "already_configured"
            else:
                # Unique ids follow the prefix: rename them in place, keeping the entities.
                old = entry.data[CONF_PREFIX]
                await async_rescope(self.hass, entry, lambda value: ids.parse(old, value), prefix)
                self.hass.config_entries.async_update_entry(
                    entry,
                    data={**entry.data, CONF_PREFIX: prefix},
                    unique_id=prefix,
                    title=f"cmc-mqtt ({prefix})",
                )
                await self.hass.config_entries.async_reload(entry.entry_id)
                return self.async_abort(reason="reconfigure_successful")
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=vol.Schema(
                {vol.Required(CONF_PREFIX, default=entry.data[CONF_PREFIX]): str}
            ),
            errors=errors,
        )


class CmcMqttOptionsFlow(OptionsFlow):
    """Coins and fields, changed without restarting Home Assistant (the entry reloads)."""

    def __init__(self, entry: ConfigEntry) -> None:
        self._entry = entry

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[CONF_COINS] and user_input[CONF_FIELDS]:
                return self.async_create_entry(
                    title="",
                    data={
                        CONF_COINS: [int(c) for c in user_input[CONF_COINS]],
                        CONF_FIELDS: list(user_input[CONF_FIELDS]),
                    },
                )
            errors["base"] = "nothing_selected"
        current = [int(c) for c in self._entry.options.get(CONF_COINS, [])]
        found = await async_find_coins(self.hass, self._entry.data[CONF_PREFIX])
        fields = list(self._entry.options.get(CONF_FIELDS, DEFAULT_FIELDS))
        return self.async_show_form(
            step_id="init",
            data_schema=coins_schema(sorted(set(found) | set(current)), current, fields),
            errors=errors,
        )
