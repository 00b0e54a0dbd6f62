"""Config flow: a bridge found on the broker (Home Assistant's MQTT discovery hands over its
retained `bridge/info`) is offered once per topic prefix and added after a confirmation; or the
user names the prefix and picks the coins the bridge publishes there. Reconfigure changes the
prefix. The options are `options_flow.py`.

Which topics Home Assistant's MQTT integration hands over is the manifest's `mqtt` list:
`+/bridge/info`, `+/+/bridge/info` and `+/+/+/bridge/info` (prefixes of one to three levels,
such as `cmc` or `home/crypto/cmc`). Other software writes such topics too (zigbee2mqtt's
`zigbee2mqtt/bridge/info`): only a cmc-mqtt bridge's info is offered (`info.found_bridge`).

Written for current Home Assistant and still working on 2024.3: `ConfigFlowResult` comes from
`compat.py`, reconfigure works without `_get_reconfigure_entry`, and a prefix that already has
an entry aborts with a reason of its own, not "already_configured": on 2024.3 that reason makes
the MQTT integration stop listening to the whole topic filter, so a second bridge would never
be found.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigFlow
from homeassistant.core import callback
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo

from . import ids
from .compat import ConfigFlowResult, vol
from .const import (
    CONF_BRIDGE_COINS,
    CONF_COINS,
    CONF_FIELDS,
    CONF_FOLLOW,
    CONF_PREFIX,
    DEFAULT_PREFIX,
    DOMAIN,
    ENTRY_VERSION,
)
from .data import CmcMqttConfigEntry
from .fields import DEFAULT_FIELDS
from .forms import async_find_coins, chosen_coins, coin_list, coins_schema
from .info import FoundBridge, found_bridge, valid_prefix
from .migration import async_rescope
from .options_flow import CmcMqttOptionsFlow


def _title(prefix: str) -> str:
    return f"cmc-mqtt ({prefix})"


def _prefix_schema(prefix: str) -> vol.Schema:
    return vol.Schema({vol.Required(CONF_PREFIX, default=prefix): str})


class CmcMqttConfigFlow(ConfigFlow, domain=DOMAIN):
    VERSION = ENTRY_VERSION

    def __init__(self) -> None:
        self._prefix = DEFAULT_PREFIX
        self._found: list[int] = []
        self._bridge: FoundBridge | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: CmcMqttConfigEntry) -> CmcMqttOptionsFlow:
        return CmcMqttOptionsFlow(config_entry)

    # --- found by Home Assistant's MQTT discovery -------------------------------------------

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """A retained `bridge/info`; offered once per prefix (a flow already open for it
        aborts as "already_in_progress"), never for a prefix that has an entry (or was
        ignored)."""
        bridge = found_bridge(discovery_info.topic, discovery_info.payload)
        if bridge is None:
            return self.async_abort(reason="not_a_bridge")
        taken = self._async_current_entries(include_ignore=True)
        if any(entry.unique_id == bridge.prefix for entry in taken):
            return self.async_abort(reason="prefix_configured")
        await self.async_set_unique_id(bridge.prefix)
        self._bridge = bridge
        self.context["title_placeholders"] = {"prefix": bridge.prefix}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add the bridge as found: every coin it streams, the default fields, following its
        coins from now on (all of which the options change)."""
        bridge = self._bridge
        if bridge is None:  # only reached from async_step_mqtt
            return self.async_abort(reason="not_a_bridge")
        if user_input is not None:
            self._abort_if_unique_id_configured()
            coins = list(bridge.coins)
            return self._create(bridge.prefix, coins, coins, DEFAULT_FIELDS, follow=True)
        self._set_confirm_only()
        placeholders = {
            "prefix": bridge.prefix,
            "version": bridge.version or "?",
            "count": str(len(bridge.coins)),
            "coins": coin_list(bridge.coins, {}),
        }
        return self.async_show_form(
            step_id="discovery_confirm", description_placeholders=placeholders
        )

    # --- set up by the user -----------------------------------------------------------------

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
                # A bridge offered for the same prefix stops being offered once this is added.
                await self.async_set_unique_id(prefix, raise_on_progress=False)
                self._abort_if_unique_id_configured()
                self._prefix = prefix
                self._found = await async_find_coins(self.hass, prefix)
                if self._found:
                    return await self.async_step_coins()
                errors["base"] = "no_coins_found"
        return self.async_show_form(
            step_id="user", data_schema=_prefix_schema(self._prefix), errors=errors
        )

    async def async_step_coins(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[CONF_COINS] and user_input[CONF_FIELDS]:
                return self._create(
                    self._prefix,
                    chosen_coins(user_input),
                    self._found,
                    list(user_input[CONF_FIELDS]),
                    follow=user_input[CONF_FOLLOW],
                )
            errors["base"] = "nothing_selected"
        return self.async_show_form(
            step_id="coins",
            data_schema=coins_schema(self._found, self._found, DEFAULT_FIELDS, follow=True),
            errors=errors,
            description_placeholders={"count": str(len(self._found)), "prefix": self._prefix},
        )

    def _create(
        self, prefix: str, coins: list[int], bridge: list[int], fields: list[str], *, follow: bool
    ) -> ConfigFlowResult:
        options: dict[str, Any] = {CONF_COINS: coins, CONF_FIELDS: fields, CONF_FOLLOW: follow}
        if follow:
            options[CONF_BRIDGE_COINS] = bridge
        return self.async_create_entry(
            title=_title(prefix), data={CONF_PREFIX: prefix}, options=options
        )

    # --- reconfigure ------------------------------------------------------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        entry = self.hass.config_entries.async_get_entry(self.context.get("entry_id", ""))
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
                    title=_title(prefix),
                )
                await self.hass.config_entries.async_reload(entry.entry_id)
                return self.async_abort(reason="reconfigure_successful")
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_prefix_schema(entry.data[CONF_PREFIX]),
            errors=errors,
        )
