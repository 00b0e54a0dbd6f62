"""What the integration's tests share: entries, broker messages, registry look-ups."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from cmc_mqtt.config import HomeAssistantSettings
from cmc_mqtt.homeassistant.context import DiscoveryContext, MoneyDiscovery
from cmc_mqtt.homeassistant.discovery import coin_messages, portfolio_messages
from cmc_mqtt.model.coins import coin_info
from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.currency import CURRENCIES
from cmc_mqtt.money.valuation import valuation_messages
from custom_components.cmc_mqtt.const import (
    CONF_BRIDGE_COINS,
    CONF_COINS,
    CONF_FIELDS,
    CONF_FOLLOW,
    CONF_PREFIX,
    DOMAIN,
    ENTRY_VERSION,
)

from .bridge_messages import bridge_states
from .bridge_messages import fire as fire_retained

BTC = "sensor.bitcoin_btc_price"
HA_RELEASE = tuple(int(part) for part in HA_VERSION.split(".")[:2])


def entry_options(
    coins: list[int],
    fields: list[str],
    *,
    follow: bool | None = None,
    bridge: list[int] | None = None,
) -> dict[str, Any]:
    """An entry's options: its coins and fields, whether they follow the bridge's coins and
    which coins the bridge streamed when it last looked (None: the option is not there)."""
    options: dict[str, Any] = {CONF_COINS: coins, CONF_FIELDS: fields}
    if follow is not None:
        options[CONF_FOLLOW] = follow
    if bridge is not None:
        options[CONF_BRIDGE_COINS] = bridge
    return options


def mock_entry(
    coins: list[int] | None = None,
    fields: list[str] | None = None,
    prefix: str = "cmc",
    **kwargs: Any,
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"cmc-mqtt ({prefix})",
        unique_id=prefix,
        version=kwargs.pop("version", ENTRY_VERSION),
        data={CONF_PREFIX: prefix},
        options={CONF_COINS: coins or [1, 1027], CONF_FIELDS: fields or ["p", "p24h", "cs"]},
        **kwargs,
    )


async def add_entry(
    hass: HomeAssistant,
    coins: list[int] | None = None,
    fields: list[str] | None = None,
    prefix: str = "cmc",
) -> MockConfigEntry:
    entry = mock_entry(coins, fields, prefix)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def fire(hass: HomeAssistant, topic: str, payload: str) -> None:
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()


async def bridge_online(hass: HomeAssistant, *coins: int, prefix: str = "cmc") -> None:
    await fire(hass, f"{prefix}/status", "online")
    for cid in coins:
        await fire(hass, f"{prefix}/{cid}/status", "online")


async def answer_find(
    hass: HomeAssistant,
    mqtt: Any,
    step: Any,
    info: dict[str, Any] | None,
    prefix: str = "cmc",
) -> dict[str, Any]:
    """Run a flow step that looks for the bridge, answering as the broker would: with the
    bridge's retained info once the flow has subscribed to it."""
    topic = f"{prefix}/bridge/info"

    def subscriptions() -> int:  # the entry itself may have subscribed already
        return [c.args[0] for c in mqtt.async_subscribe.call_args_list].count(topic)

    before = subscriptions()
    task = asyncio.ensure_future(step)
    for _ in range(500):
        if subscriptions() > before or task.done():
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the flow never subscribed to the bridge's info topic")
    if info is not None:
        async_fire_mqtt_message(hass, topic, json.dumps(info), retain=True)
    result: dict[str, Any] = await asyncio.wait_for(task, 10)
    return result


async def options_step(
    hass: HomeAssistant, mqtt: Any, entry: MockConfigEntry, step: str, info: dict[str, Any] | None
) -> dict[str, Any]:
    """Open the options, choose `step` from the menu, answering the look for the bridge."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] == "menu"
    assert result["menu_options"] == ["entities", "add_coins", "remove_coins"]
    configure = hass.config_entries.options.async_configure
    return await answer_find(hass, mqtt, configure(result["flow_id"], {"next_step_id": step}), info)


async def answer_request(
    hass: HomeAssistant,
    mqtt: Any,
    step: Any,
    action: str,
    answer: dict[str, Any] | None,
    prefix: str = "cmc",
) -> tuple[Any, dict[str, Any]]:
    """Run something that asks the bridge, answering as the bridge would (with the request's
    transaction) unless `answer` is None. Returns its result and the request sent."""
    topic = f"{prefix}/bridge/request/{action}"

    def requests() -> list[Any]:  # earlier requests on the topic are not this one
        return [c.args for c in mqtt.async_publish.call_args_list if c.args[0] == topic]

    before = len(requests())
    task = asyncio.ensure_future(step)
    for _ in range(500):
        if len(requests()) > before or task.done():
            break
        await asyncio.sleep(0.01)
    sent = requests()[before:]
    assert sent, f"nothing was published on {topic}"
    request = json.loads(sent[-1][1])
    if answer is not None:
        reply = json.dumps({**answer, "transaction": request["transaction"]})
        async_fire_mqtt_message(hass, f"{prefix}/bridge/response/{action}", reply)
    return await asyncio.wait_for(task, 10), request


def device_with(
    hass: HomeAssistant, config_entry_id: str, identifier: tuple[str, str]
) -> dr.DeviceEntry | None:
    """The config entry's device with this identifier, through an API both versions have
    (`async_get_device` is deprecated now: identifiers are unique per config entry only)."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), config_entry_id)
    return next((d for d in devices if identifier in d.identifiers), None)


def coin_entities(hass: HomeAssistant, config_entry_id: str) -> list[er.RegistryEntry]:
    """The config entry's entities of coins (not of the bridge device)."""
    entities = er.async_entries_for_config_entry(er.async_get(hass), config_entry_id)
    return [e for e in entities if "/bridge/" not in e.unique_id]


def coin_devices(hass: HomeAssistant, config_entry_id: str) -> list[dr.DeviceEntry]:
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), config_entry_id)
    return [d for d in devices if not any(i[1].endswith("/bridge") for i in d.identifiers)]


# The user's money as discovery announces it: EUR at a fixed rate, two holdings, alerts on.
EUR = CURRENCIES["EUR"]
RATE = Decimal("0.9213")
HELD = {1: Decimal("0.25"), 1027: Decimal("2")}
MONEY = MoneyDiscovery(EUR, frozenset(HELD), alerts=True, rate=RATE)


def money_context(**ha: Any) -> DiscoveryContext:
    settings = HomeAssistantSettings(**ha)
    return DiscoveryContext(settings, Topics("cmc"), "1.2.3", lambda: MONEY)


def usd_texts(states: dict[str, str], cid: int) -> dict[str, str]:
    """A coin's exact USD texts as the bridge keeps them, from what it published."""
    prefix = f"cmc/{cid}/"
    return {t.removeprefix(prefix): p for t, p in states.items() if t.startswith(prefix)}


def money_states(states: dict[str, str]) -> list[tuple[str, str]]:
    """What the bridge publishes in EUR for these states: converted fields, the rate's status,
    each holding's value and its status, and the portfolio (the bridge's own valuation)."""
    coins = {cid: usd_texts(states, cid) for cid in HELD}
    return valuation_messages("cmc", EUR, RATE, HELD, coins)


async def discover_money(hass: HomeAssistant, **ha: Any) -> dict[str, str]:
    """Announce both coins and the portfolio, then deliver every state; returns the states.
    Configs come from discovery.py, states from the bridge's own money and portfolio code
    applied to the fixture session's exact texts."""
    ctx = money_context(**ha)
    states = dict(bridge_states(*HELD))
    for cid in HELD:
        fire_retained(hass, coin_messages(ctx, coin_info(cid), float(states[f"cmc/{cid}/p"])))
    fire_retained(hass, portfolio_messages(ctx))
    await hass.async_block_till_done()
    sent = states | dict(money_states(states))
    fire_retained(hass, list(sent.items()))
    await hass.async_block_till_done()
    return sent


def entity_state(hass: HomeAssistant, entity_id: str) -> Any:
    """The entity's state, which must exist."""
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found
