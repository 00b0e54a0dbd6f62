"""What the config and options flows share: looking for a bridge on the broker, the forms' fields,
and reading what the user typed.

Every form field here is named in strings.json with a `data_description` (a test checks it).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from . import const
from .compat import vol
from .const import CONF_COINS, CONF_FIELDS, CONF_FOLLOW
from .fields import FIELDS, coin_label
from .info import coins_of, parse_report
from .money import amount, held_coins
from .names import CoinName

CONF_KNOWN: Final = "known"  # coins chosen by name
CONF_IDS: Final = "ids"  # CoinMarketCap ids typed in
CONF_COIN: Final = "coin"  # the coin whose holding is set
CONF_AMOUNT: Final = "amount"
#: Coins named in a confirmation before "and N more".
NAMED_COINS: Final = 10


async def async_find_coins(hass: HomeAssistant, prefix: str) -> list[int]:
    """The coin ids a bridge publishes under `prefix`, from its retained topics."""
    found: set[int] = set()
    info_seen = asyncio.Event()

    @callback
    def bridge_info(message: mqtt.ReceiveMessage) -> None:
        info = parse_report(message.payload)
        coins = coins_of(info) if info is not None else None
        if coins is not None:
            found.update(coins)
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
    follow: bool,
    names: Mapping[int, CoinName] | None = None,
) -> vol.Schema:
    """Coins, fields, and whether the coins follow the bridge's."""
    coin_choices = {str(cid): f"{coin_label(cid, names)} [{cid}]" for cid in available}
    field_choices = {f.key: f.name for f in FIELDS}
    return vol.Schema(
        {
            vol.Required(CONF_COINS, default=[str(c) for c in coins]): cv.multi_select(
                coin_choices
            ),
            vol.Required(CONF_FIELDS, default=fields): cv.multi_select(field_choices),
            vol.Required(CONF_FOLLOW, default=follow): bool,
        }
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


def coin_list(coins: list[int] | tuple[int, ...], names: Mapping[int, CoinName]) -> str:
    """`Bitcoin (BTC), Ethereum (ETH) and 3 more`, for a description."""
    named = ", ".join(coin_label(cid, names) for cid in coins[:NAMED_COINS])
    more = len(coins) - NAMED_COINS
    return f"{named} and {more} more" if more > 0 else named or "none"


def chosen_coins(user_input: Mapping[str, Any]) -> list[int]:
    return [int(c) for c in user_input.get(CONF_COINS, [])]


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
