"""Options: the coins and fields that become sensors and whether the coins follow the bridge's;
coins added to or removed from the bridge itself and the amounts held of them (for a bridge that
values holdings), through the bridge's request topics, with the bridge's answer shown when it
refuses. Saving reloads the entry, not Home Assistant.

The flow keeps its entry under a name of its own: newer Home Assistant provides
`config_entry` itself and refuses assignment, 2024.3 does not provide it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntryState, OptionsFlow
from homeassistant.data_entry_flow import AbortFlow

from .bridge_requests import BridgeRequestError, async_request
from .compat import ConfigFlowResult, vol
from .const import CONF_BRIDGE_COINS, CONF_COINS, CONF_FIELDS, CONF_FOLLOW, CONF_PREFIX
from .data import CmcMqttConfigEntry, CmcMqttData, remember_money, runtime
from .fields import DEFAULT_FIELDS, KNOWN_COINS
from .forms import (
    CONF_AMOUNT,
    CONF_COIN,
    CONF_IDS,
    CONF_KNOWN,
    async_find_coins,
    chosen_coins,
    coin_choice,
    coins_schema,
    held_text,
    parse_amount,
    parse_ids,
)
from .money import Money, held_coins
from .names import CoinName


@dataclass
class _Attempt:
    """A bridge step's errors and the bridge's own words when it refused."""

    errors: dict[str, str] = field(default_factory=dict)
    answer: str = ""


class CmcMqttOptionsFlow(OptionsFlow):
    def __init__(self, entry: CmcMqttConfigEntry) -> None:
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
        """Coins and fields; following the bridge's coins from now on, the coins left out
        here stay out and those the bridge adds later come in."""
        errors: dict[str, str] = {}
        found = await self._bridge_coins()
        if user_input is not None:
            if user_input[CONF_COINS] and user_input[CONF_FIELDS]:
                return self._save(
                    coins=chosen_coins(user_input),
                    fields=list(user_input[CONF_FIELDS]),
                    follow=user_input[CONF_FOLLOW],
                    bridge=found or None,  # nothing heard: what it knew stays
                )
            errors["base"] = "nothing_selected"
        follow = bool(self._entry.options.get(CONF_FOLLOW, False))
        available = sorted(set(found) | set(self._coins))
        schema = coins_schema(available, self._coins, self._fields, follow, self._names)
        return self.async_show_form(step_id="entities", data_schema=schema, errors=errors)

    async def async_step_add_coins(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Coins for the bridge to stream, by name or by id; they become sensors here too."""
        data, attempt = self._loaded(), _Attempt()
        if user_input is not None:
            typed = parse_ids(user_input.get(CONF_IDS, ""))
            chosen = [int(c) for c in user_input.get(CONF_KNOWN, [])] + (typed or [])
            if typed is None:
                attempt.errors[CONF_IDS] = "invalid_ids"
            elif not chosen:
                attempt.errors["base"] = "no_coins_chosen"
            elif (done := await self._ask(attempt, "coins/add", {"ids": chosen})) is not None:
                streamed = done.get("coins", chosen)  # sensors for every coin now streamed
                added = [cid for cid in chosen if cid in streamed]
                return self._save(coins=list(dict.fromkeys([*self._coins, *added])))
        on_bridge = set(await self._bridge_coins())
        schema = vol.Schema(
            {
                vol.Optional(CONF_KNOWN, default=[]): coin_choice(
                    [cid for cid in KNOWN_COINS if cid not in on_bridge], data.names
                ),
                vol.Optional(CONF_IDS, default=""): str,
            }
        )
        return self._form("add_coins", schema, attempt, user_input)

    async def async_step_remove_coins(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Coins for the bridge to stop streaming; their sensors go too."""
        data, attempt = self._loaded(), _Attempt()
        if user_input is not None:
            chosen = chosen_coins(user_input)
            if not chosen:
                attempt.errors["base"] = "no_coins_chosen"
            elif await self._ask(attempt, "coins/remove", {"ids": chosen}) is not None:
                return self._save(coins=[c for c in self._coins if c not in chosen])
        on_bridge = await self._bridge_coins()
        schema = vol.Schema(
            {vol.Optional(CONF_COINS, default=[]): coin_choice(on_bridge, data.names)}
        )
        return self._form("remove_coins", schema, attempt, user_input)

    async def async_step_holdings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """How much of a coin is held: the bridge keeps it and values it; the entry only
        follows what the bridge answers (its portfolio's sensors)."""
        data, attempt = self._loaded(), _Attempt()
        if user_input is not None:
            typed = parse_amount(str(user_input.get(CONF_AMOUNT, "")))
            body = {"holdings": {str(user_input[CONF_COIN]): typed}}
            if typed is None:
                attempt.errors[CONF_AMOUNT] = "invalid_amount"
            elif (done := await self._ask(attempt, "holdings/set", body)) is not None:
                # The bridge's holdings after the change: its portfolio sensors follow.
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
        return self._form("holdings", schema, attempt, user_input, placeholders)

    # --- helpers ----------------------------------------------------------------------------

    @property
    def _coins(self) -> list[int]:
        return chosen_coins(self._entry.options)

    @property
    def _fields(self) -> list[str]:
        return list(self._entry.options.get(CONF_FIELDS, DEFAULT_FIELDS))

    @property
    def _names(self) -> dict[int, CoinName]:
        """The bridge's names of its coins, as the loaded entry last heard them."""
        data = self._runtime()
        return data.names if data is not None else {}

    async def _bridge_coins(self) -> list[int]:
        if self._on_bridge is None:
            self._on_bridge = await async_find_coins(self.hass, self._entry.data[CONF_PREFIX])
        return self._on_bridge

    def _runtime(self) -> CmcMqttData | None:
        if self._entry.state is not ConfigEntryState.LOADED:
            return None
        return runtime(self._entry)

    def _loaded(self) -> CmcMqttData:
        """The loaded entry's data: its subscription to the bridge's answers is needed."""
        data = self._runtime()
        if data is None:
            raise AbortFlow("not_loaded")
        return data

    async def _ask(
        self, attempt: _Attempt, action: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The bridge's answer, or None with its refusal (or silence) in `attempt`."""
        try:
            return await async_request(self.hass, self._loaded(), action, body)
        except BridgeRequestError as exc:
            attempt.errors["base"], attempt.answer = exc.reason, exc.detail
            return None

    def _save(
        self,
        *,
        coins: list[int],
        fields: list[str] | None = None,
        follow: bool | None = None,
        bridge: list[int] | None = None,
    ) -> ConfigFlowResult:
        """The options with these changes, the rest kept."""
        options = {**self._entry.options, CONF_COINS: coins, CONF_FIELDS: fields or self._fields}
        if follow is not None:
            options[CONF_FOLLOW] = follow
        if bridge is not None and options.get(CONF_FOLLOW):
            options[CONF_BRIDGE_COINS] = bridge
        return self.async_create_entry(title="", data=options)

    def _form(
        self,
        step_id: str,
        schema: vol.Schema,
        attempt: _Attempt,
        user_input: dict[str, Any] | None,
        placeholders: dict[str, str] | None = None,
    ) -> ConfigFlowResult:
        """A bridge step's form, keeping what was chosen; when the bridge refused, its own
        words quoted below."""
        quoted = f"\n\n> {attempt.answer}" if attempt.answer else ""
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=attempt.errors,
            description_placeholders={**(placeholders or {}), "answer": quoted},
        )
