"""Config flow: pick the topic prefix, then the coins the bridge publishes there. Options: the
coins and fields that become sensors, coins added to or removed from the bridge itself and
the amounts held of them (for a bridge that values holdings), through the bridge's request
topics, with the bridge's answer shown when it refuses.

Written for current Home Assistant and still working on 2024.3: `ConfigFlowResult` falls back
to `FlowResult`, the options flow keeps its entry under a name of its own (newer versions
provide `config_entry` themselves and refuse assignment), and reconfigure works without
`_get_reconfigure_entry`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigFlow, OptionsFlow
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from . import const, ids
from .bridge_requests import BridgeRequestError, async_request
from .const import CONF_COINS, CONF_FIELDS, CONF_PREFIX, DEFAULT_PREFIX, DOMAIN, ENTRY_VERSION
from .data import CmcMqttData, remember_money
from .fields import DEFAULT_FIELDS, FIELDS, KNOWN_COINS, coin_label
from .migration import async_rescope
from .money import Money, amount, held_coins
from .names import CoinName

try:
    from homeassistant.config_entries import ConfigFlowResult
except ImportError:  # Home Assistant before 2024.4
    from homeassistant.data_entry_flow import FlowResult as ConfigFlowResult  # type: ignore[assignment]

_PREFIX = re.compile(r"[^+#\x00/$][^+#\x00]*")
CONF_KNOWN = "known"  # coins chosen by name
CONF_IDS = "ids"  # CoinMarketCap ids typed in
CONF_COIN = "coin"  # the coin whose holding is set
CONF_AMOUNT = "amount"


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


def coins_schema(
    available: list[int],
    coins: list[int],
    fields: list[str],
    names: Mapping[int, CoinName] | None = None,
) -> vol.Schema:
    coin_choices = {str(cid): f"{coin_label(cid, names)} [{cid}]" for cid in available}
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


def coin_choice(
    available: list[int], names: Mapping[int, CoinName], *, multiple: bool = True
) -> SelectSelector:
    """A list to pick coins from by name or symbol (typing filters it)."""
    options = [SelectOptionDict(value=str(cid), label=f"{coin_label(cid, names)} [{cid}]")
               for cid in available]  # fmt: skip
    return SelectSelector(
        SelectSelectorConfig(options=options, multiple=multiple, mode=SelectSelectorMode.DROPDOWN)
    )


def parse_amount(text: str) -> str | None:
    """An amount typed in, as the exact text sent to the bridge (`0.25`, never a float's
    `0.25000000000000001`); None unless it is a plain number of at least 0."""
    value = amount(text)
    if value is None or value < 0:
        return None
    return f"{value.normalize():f}" if value else "0"


def held_text(info: dict[str, Any] | None, names: Mapping[int, CoinName]) -> str:
    """What the bridge says is held, for the holdings form: `Bitcoin (BTC) 0.25, …`."""
    portfolio = info.get("portfolio") if info is not None else None
    holdings = portfolio.get("holdings") if isinstance(portfolio, dict) else None
    if not isinstance(holdings, dict):
        return "none"
    held = [f"{coin_label(cid, names)} {holdings[str(cid)]}" for cid in held_coins(holdings)]
    return ", ".join(held) or "none"


def parse_ids(text: str) -> list[int] | None:
    """CoinMarketCap ids typed in, separated by commas or spaces; None if any is not one."""
    parts = [part for part in re.split(r"[\s,;]+", text.strip()) if part]
    if not all(part.isdigit() and 0 < int(part) < 2**31 for part in parts):
        return None
    return [int(part) for part in parts]


class CmcMqttOptionsFlow(OptionsFlow):
    """Coins and fields, changed without restarting Home Assistant (the entry reloads); coins
    added to or removed from the bridge."""

    def __init__(self, entry: ConfigEntry) -> None:
        self._entry = entry
        self._on_bridge: list[int] | None = None  # the bridge's coins, asked once per flow

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        menu = ["entities", "add_coins", "remove_coins"]
        if Money.from_entry(self._entry.data).holding_currency is not None:
            menu.append("holdings")  # the bridge said it values holdings
        return self.async_show_menu(step_id="init", menu_options=menu)

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[CONF_COINS] and user_input[CONF_FIELDS]:
                return self._save(coins=[int(c) for c in user_input[CONF_COINS]],
                                  fields=list(user_input[CONF_FIELDS]))  # fmt: skip
            errors["base"] = "nothing_selected"
        found = await self._bridge_coins(self._entry.data[CONF_PREFIX])
        return self.async_show_form(
            step_id="entities",
            data_schema=coins_schema(
                sorted(set(found) | set(self._coins)), self._coins, self._fields, self._names
            ),
            errors=errors,
        )

    async def async_step_add_coins(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Coins for the bridge to stream, by name or by id; they become sensors here too."""
        if (data := self._runtime()) is None:
            return self.async_abort(reason="not_loaded")
        errors: dict[str, str] = {}
        answer = ""
        if user_input is not None:
            typed = parse_ids(user_input.get(CONF_IDS, ""))
            chosen = [int(c) for c in user_input.get(CONF_KNOWN, [])] + (typed or [])
            if typed is None:
                errors[CONF_IDS] = "invalid_ids"
            elif not chosen:
                errors["base"] = "no_coins_chosen"
            else:
                try:
                    done = await async_request(self.hass, data, "coins/add", {"ids": chosen})
                except BridgeRequestError as exc:
                    errors["base"], answer = exc.reason, exc.detail
                else:  # sensors for every chosen coin the bridge now streams
                    streamed = done.get("coins", chosen)
                    added = [cid for cid in chosen if cid in streamed]
                    return self._save(coins=list(dict.fromkeys([*self._coins, *added])))
        on_bridge = set(await self._bridge_coins(data.prefix))
        schema = vol.Schema(
            {
                vol.Optional(CONF_KNOWN, default=[]): coin_choice(
                    [cid for cid in KNOWN_COINS if cid not in on_bridge], data.names
                ),
                vol.Optional(CONF_IDS, default=""): str,
            }
        )
        return self._form("add_coins", schema, errors, answer, user_input)

    async def async_step_remove_coins(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Coins for the bridge to stop streaming; their sensors go too."""
        if (data := self._runtime()) is None:
            return self.async_abort(reason="not_loaded")
        errors: dict[str, str] = {}
        answer = ""
        if user_input is not None:
            chosen = [int(c) for c in user_input.get(CONF_COINS, [])]
            if not chosen:
                errors["base"] = "no_coins_chosen"
            else:
                try:
                    await async_request(self.hass, data, "coins/remove", {"ids": chosen})
                except BridgeRequestError as exc:
                    errors["base"], answer = exc.reason, exc.detail
                else:
                    return self._save(coins=[c for c in self._coins if c not in chosen])
        on_bridge = await self._bridge_coins(data.prefix)
        schema = vol.Schema(
            {vol.Optional(CONF_COINS, default=[]): coin_choice(on_bridge, data.names)}
        )
        return self._form("remove_coins", schema, errors, answer, user_input)

    async def async_step_holdings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """How much of a coin is held: the bridge keeps it and values it; the entry only
        follows what the bridge answers (its portfolio's sensors)."""
        if (data := self._runtime()) is None:
            return self.async_abort(reason="not_loaded")
        errors: dict[str, str] = {}
        answer = ""
        if user_input is not None:
            typed = parse_amount(str(user_input.get(CONF_AMOUNT, "")))
            if typed is None:
                errors[CONF_AMOUNT] = "invalid_amount"
            else:
                body = {"holdings": {str(user_input[CONF_COIN]): typed}}
                try:
                    done = await async_request(self.hass, data, "holdings/set", body)
                except BridgeRequestError as exc:
                    errors["base"], answer = exc.reason, exc.detail
                else:  # the bridge's holdings after the change: its portfolio sensors follow
                    money = Money.from_entry(self._entry.data)
                    held = held_coins(done.get("holdings"))
                    remember_money(self.hass, self._entry, dataclasses.replace(money, held=held))
                    return self.async_create_entry(title="", data=dict(self._entry.options))
        schema = vol.Schema(
            {
                vol.Required(CONF_COIN): coin_choice(self._coins, data.names, multiple=False),
                vol.Required(CONF_AMOUNT): str,
            }
        )
        currency = data.money.holding_currency or "USD"
        placeholders = {"currency": currency, "held": held_text(data.info, data.names)}
        return self._form("holdings", schema, errors, answer, user_input, placeholders=placeholders)

    # --- helpers ----------------------------------------------------------------------------------

    @property
    def _coins(self) -> list[int]:
        return [int(c) for c in self._entry.options.get(CONF_COINS, [])]

    @property
    def _fields(self) -> list[str]:
        return list(self._entry.options.get(CONF_FIELDS, DEFAULT_FIELDS))

    @property
    def _names(self) -> dict[int, CoinName]:
        """The bridge's names of its coins, as the loaded entry last heard them."""
        data = self._runtime()
        return data.names if data is not None else {}

    async def _bridge_coins(self, prefix: str) -> list[int]:
        if self._on_bridge is None:
            self._on_bridge = await async_find_coins(self.hass, prefix)
        return self._on_bridge

    def _runtime(self) -> CmcMqttData | None:
        """The loaded entry's data: its subscription to the bridge's answers is needed."""
        if self._entry.state is not ConfigEntryState.LOADED:
            return None
        data: CmcMqttData = self._entry.runtime_data
        return data

    def _save(self, *, coins: list[int], fields: list[str] | None = None) -> ConfigFlowResult:
        options = {CONF_COINS: coins, CONF_FIELDS: fields or self._fields}
        return self.async_create_entry(title="", data=options)

    def _form(
        self,
        step_id: str,
        schema: vol.Schema,
        errors: dict[str, str],
        answer: str,
        user_input: dict[str, Any] | None,
        *,
        placeholders: dict[str, str] | None = None,
    ) -> ConfigFlowResult:
        """A bridge step's form, keeping what was chosen; when the bridge refused, its own
        words quoted below."""
        quoted = f"\n\n> {answer}" if answer else ""
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders={**(placeholders or {}), "answer": quoted},
        )
