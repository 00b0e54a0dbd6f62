"""The custom integration shows the bridge's currency and holdings: converted sensors, a held
coin's value, the Portfolio device, and the options step that sets holdings on the bridge.

The bridge's messages come from its own code (bridge_messages.py): `fx` in `bridge/info` from
its rate keeper, converted texts, values and the portfolio from its money and portfolio code;
`bridge/info`'s `portfolio` section and the `holdings/set` answers as its contract writes them.
The entities are compared with the bridge's own discovery configs for the same sensors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from cmc_mqtt.config import HomeAssistantSettings
from cmc_mqtt.homeassistant.context import DiscoveryContext, MoneyDiscovery
from cmc_mqtt.homeassistant.money_entities import coin_extras, portfolio_entities
from cmc_mqtt.model.bounds import HOLDING_PLACES, MAX_HOLDING, parse_amount
from cmc_mqtt.model.coins import coin_info
from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.currency import CURRENCIES
from cmc_mqtt.money.portfolio import Holdings
from cmc_mqtt.state.holding_set import HoldingSet
from cmc_mqtt.state.memory import StateFile
from custom_components.cmc_mqtt import ids
from custom_components.cmc_mqtt.const import CONF_COINS, CONF_FIELDS, CONF_PREFIX, DOMAIN
from custom_components.cmc_mqtt.diagnostics import async_get_config_entry_diagnostics
from custom_components.cmc_mqtt.money import Money

from .bridge_messages import bridge_info, money_info, money_states
from .helpers import device_with, fire, mock_entry

RATE = Decimal("0.9213")
HELD = {1: Decimal("0.25"), 1027: Decimal("2")}
FIELDS = ["p", "vu", "mc", "p24h"]
PRICE_EUR = "sensor.bitcoin_btc_price_eur"


def money_entry(
    coins: list[int] | None = None,
    fields: list[str] | None = None,
    money: Money | None = None,
    prefix: str = "cmc",
) -> MockConfigEntry:
    """An entry that remembers what the bridge said about its money (or nothing yet)."""
    entry = mock_entry(coins or [1, 1027], fields or FIELDS, prefix)
    data = (money or Money()).to_entry({CONF_PREFIX: prefix})
    return MockConfigEntry(
        domain=DOMAIN,
        title=entry.title,
        unique_id=prefix,
        version=entry.version,
        data=data,
        options=dict(entry.options),
    )


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def bridge_says(hass: HomeAssistant, info: str) -> None:
    """The bridge's retained info arrives; a change of money reloads the entry."""
    await fire(hass, "cmc/bridge/info", info)
    await hass.async_block_till_done()


async def deliver(hass: HomeAssistant, states: dict[str, str]) -> None:
    for topic, payload in states.items():
        await fire(hass, topic, payload)


def state(hass: HomeAssistant, entity_id: str) -> Any:
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found


def unique_ids(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    return {
        e.unique_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }


def entity_of(hass: HomeAssistant, unique_id: str) -> er.RegistryEntry:
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("sensor", DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    entry = registry.async_get(entity_id)
    assert entry is not None
    return entry


# --- what the entry learns from bridge/info ---------------------------------------------------


def test_money_is_read_from_the_bridges_info() -> None:
    info = json.loads(money_info(1, 1027, holdings=HELD))
    assert Money.from_info(info) == Money("EUR", "EUR", (1, 1027))
    assert Money.from_info(json.loads(money_info(1, currency="USD", holdings={}))) == Money(
        None, "USD", ()
    )
    assert Money.from_info(json.loads(bridge_info(1))) == Money()  # an older bridge
    odd = {"fx": {"currency": "euro"}, "portfolio": {"currency": "EUR", "holdings": {
        "1": "0", "2": "-1", "x": "1", "3": "abc", "4": True, "5": 1.5, "6": "NaN"}}}  # fmt: skip
    assert Money.from_info(odd) == Money(None, "EUR", (5,))
    assert Money.from_info({"fx": "EUR", "portfolio": []}) == Money()
    assert Money.from_info({"portfolio": {"currency": "EUR"}}) == Money(None, "EUR", ())
    money = Money("EUR", "EUR", (1,))
    assert Money.from_entry(money.to_entry({CONF_PREFIX: "cmc"})) == money
    assert Money.from_entry({"portfolio": {"currency": "EUR", "held": "1"}}) == Money(None, "EUR")


def test_portfolio_ids_are_scoped_to_the_prefix() -> None:
    assert ids.unique_id("cmc", ids.PORTFOLIO, "value_eur") == "cmc/portfolio/value_eur"
    assert ids.parse("cmc", "cmc/portfolio/value_eur") == (ids.PORTFOLIO, "value_eur")
    assert ids.parse("cmc", "cmc/portfolio") == (ids.PORTFOLIO, None)


# --- converted sensors ----------------------------------------------------------------------------


async def test_converted_sensors_show_the_currency_and_the_exact_text(
    hass: HomeAssistant, mqtt_ready: Any, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await set_up(hass, money_entry(coins=[1, 74]))
    assert hass.states.get(PRICE_EUR) is None  # USD until the bridge says otherwise
    await bridge_says(hass, money_info(1, 74, holdings={}))
    assert entry.data["currency"] == "EUR"  # remembered: there at the next start-up
    sent = money_states(1, 74)
    await deliver(hass, sent)
    price = state(hass, PRICE_EUR)
    assert price.state == sent["cmc/1/p_eur"]
    assert price.attributes["friendly_name"] == "Bitcoin (BTC) Price EUR"
    assert price.attributes["unit_of_measurement"] == "EUR"
    assert price.attributes["device_class"] == "monetary"
    assert price.attributes["state_class"] == "total"
    cap = state(hass, "sensor.bitcoin_btc_market_cap_eur")
    assert cap.state == sent["cmc/1/mc_eur"]
    assert state(hass, "sensor.bitcoin_btc_volume_24h_eur").state == sent["cmc/1/vu_eur"]
    assert state(hass, "sensor.bitcoin_btc_price").state == sent["cmc/1/p"]  # USD stays
    assert hass.states.get("sensor.bitcoin_btc_change_24h_eur") is None  # % is not money
    doge = entity_of(hass, "cmc/74/p_eur")
    assert state(hass, doge.entity_id).state == sent["cmc/74/p_eur"]
    assert doge.options["sensor"]["suggested_display_precision"] == 4  # the bridge's rounding
    assert entity_of(hass, "cmc/1/p_eur").options["sensor"]["suggested_display_precision"] == 2
    assert entity_of(hass, "cmc/1/mc_eur").options["sensor"]["suggested_display_precision"] == 0
    assert "impossible" not in caplog.text


async def test_the_sensors_are_the_bridges_discovery_sensors(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    """Name, unit, device and state class and precision as the bridge's discovery gives the
    same sensor (whose state topic is our unique id)."""
    money = Money("EUR", "EUR", (1, 1027))
    await set_up(hass, money_entry(money=money))
    sent = money_states(1, 1027, holdings=HELD)
    await deliver(hass, sent)
    ctx = DiscoveryContext(
        HomeAssistantSettings(fields=tuple(FIELDS)), Topics("cmc"), "1.2.3", lambda: discovery
    )
    discovery = MoneyDiscovery(CURRENCIES["EUR"], frozenset(HELD), rate=RATE)
    configs = [
        (config, device)
        for cid in HELD
        for platform, _, config in coin_extras(
            ctx, coin_info(cid), float(sent[f"cmc/{cid}/p"]), discovery
        )
        if platform == "sensor"
        for device in [coin_info(cid).label]
    ]
    configs += [(config, "Portfolio") for _, config in portfolio_entities(ctx, discovery)]
    assert len(configs) == 2 * 4 + 3
    for config, device in configs:
        entity = entity_of(hass, config["state_topic"])
        found = state(hass, entity.entity_id)
        assert found.attributes["friendly_name"] == f"{device} {config['name']}"
        assert found.state == sent[config["state_topic"]]
        assert found.attributes["unit_of_measurement"] == config["unit_of_measurement"]
        assert found.attributes.get("device_class") == config.get("device_class")
        assert found.attributes["state_class"] == config["state_class"]
        precision = entity.options["sensor"]["suggested_display_precision"]
        assert precision == config["suggested_display_precision"], config["name"]


async def test_a_stale_rate_makes_the_converted_sensors_unavailable(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await set_up(hass, money_entry(money=Money("EUR", "EUR", (1,))))
    assert state(hass, PRICE_EUR).state == STATE_UNAVAILABLE  # exists before the bridge spoke
    sent = money_states(1, 1027, holdings={1: HELD[1]})
    await deliver(hass, sent)
    assert state(hass, PRICE_EUR).state == sent["cmc/1/p_eur"]
    await fire(hass, "cmc/fx/eur/status", "offline")
    assert state(hass, PRICE_EUR).state == STATE_UNAVAILABLE
    assert state(hass, "sensor.bitcoin_btc_value_eur").state == STATE_UNAVAILABLE
    assert state(hass, "sensor.bitcoin_btc_price").state == sent["cmc/1/p"]  # USD goes on
    await fire(hass, "cmc/fx/eur/status", "offline")  # no change: nothing to redraw
    await fire(hass, "cmc/fx/eur/status", "online")
    assert state(hass, PRICE_EUR).state == sent["cmc/1/p_eur"]
    await fire(hass, "cmc/1/status", "offline")  # the coin's and the bridge's status still count
    assert state(hass, PRICE_EUR).state == STATE_UNAVAILABLE


async def test_a_coin_whose_amounts_cannot_be_computed_has_them_unavailable(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    """`cmc/<id>/status_eur` (the bridge's valuation), as discovery lists it: that coin's
    converted amounts and value only."""
    await set_up(hass, money_entry(money=Money("EUR", "EUR", (1,))))
    sent = money_states(1, 1027, holdings={1: HELD[1]})
    assert sent["cmc/1/status_eur"] == sent["cmc/1027/status_eur"] == "online"
    await deliver(hass, sent)
    await fire(hass, "cmc/1/status_eur", "offline")
    assert state(hass, PRICE_EUR).state == STATE_UNAVAILABLE
    assert state(hass, "sensor.bitcoin_btc_value_eur").state == STATE_UNAVAILABLE
    assert state(hass, "sensor.bitcoin_btc_price").state == sent["cmc/1/p"]  # USD goes on
    eth = "sensor.ethereum_eth_price_eur"
    assert state(hass, eth).state == sent["cmc/1027/p_eur"]
    await fire(hass, "cmc/1/status_eur", "online")
    assert state(hass, PRICE_EUR).state == sent["cmc/1/p_eur"]


async def test_usd_holdings_follow_their_coins_status_too(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    await set_up(hass, money_entry(money=Money(None, "USD", (1,))))
    sent = money_states(1, currency="USD", holdings={1: HELD[1]})
    await deliver(hass, sent)
    value = "sensor.bitcoin_btc_value_usd"
    assert state(hass, value).state == sent["cmc/1/value_usd"]
    await fire(hass, "cmc/1/status_usd", "offline")
    assert state(hass, value).state == STATE_UNAVAILABLE


async def test_the_entry_follows_a_change_of_currency(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await set_up(hass, money_entry(money=Money("EUR", "EUR", (1,))))
    before = unique_ids(hass, entry)
    assert {"cmc/1/p_eur", "cmc/1/value_eur", "cmc/portfolio/value_eur"} <= before
    await bridge_says(hass, money_info(1, 1027, currency="GBP", holdings={1: HELD[1]}))
    assert entry.data["currency"] == "GBP"
    after = unique_ids(hass, entry)
    assert not {u for u in after if u.endswith("_eur")}  # the old currency's entities are gone
    assert {"cmc/1/p_gbp", "cmc/1027/mc_gbp", "cmc/1/value_gbp", "cmc/portfolio/value_gbp",
            "cmc/portfolio/change_24h_gbp", "cmc/portfolio/change_24h_pct"} <= after  # fmt: skip
    sent = money_states(1, 1027, currency="GBP", holdings={1: HELD[1]})
    await deliver(hass, sent)
    pound = state(hass, "sensor.bitcoin_btc_price_gbp")
    assert (pound.state, pound.attributes["unit_of_measurement"]) == (sent["cmc/1/p_gbp"], "GBP")
    # Back to USD: no converted sensors; holdings are valued in USD, without a rate.
    await bridge_says(hass, money_info(1, 1027, currency="USD", holdings={1: HELD[1]}))
    assert "currency" not in entry.data
    after = unique_ids(hass, entry)
    assert not {u for u in after if u.endswith("_gbp")}
    assert {"cmc/1/value_usd", "cmc/portfolio/value_usd"} <= after
    sent = money_states(1, 1027, currency="USD", holdings={1: HELD[1]})
    await deliver(hass, sent)
    value = state(hass, "sensor.bitcoin_btc_value_usd")
    assert (value.state, value.attributes["unit_of_measurement"]) == (
        sent["cmc/1/value_usd"],
        "USD",
    )
    assert state(hass, "sensor.portfolio_value_usd").state == sent["cmc/portfolio/value_usd"]


async def test_a_bridge_without_currency_or_portfolio_behaves_as_before(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await set_up(hass, money_entry(money=Money("EUR", "EUR", (1,))))
    await bridge_says(hass, bridge_info(1, 1027))  # an older bridge (or one set back to USD)
    assert dict(entry.data) == {CONF_PREFIX: "cmc"}
    coins = {u for u in unique_ids(hass, entry) if "/bridge/" not in u}
    assert coins == {ids.unique_id("cmc", c, f) for c in (1, 1027) for f in FIELDS}
    assert device_with(hass, entry.entry_id, (DOMAIN, "cmc/portfolio")) is None
    menu = await hass.config_entries.options.async_init(entry.entry_id)
    assert menu["menu_options"] == ["entities", "add_coins", "remove_coins"]  # no holdings
    await bridge_says(hass, bridge_info(1, 1027))  # the same again: no reload
    await bridge_says(hass, "not json")
    assert entry.state is ConfigEntryState.LOADED
    await deliver(hass, money_states(1, 1027, currency="USD"))
    assert state(hass, "sensor.bitcoin_btc_price").state != STATE_UNAVAILABLE


# --- value and portfolio ----------------------------------------------------------------------


async def test_values_and_the_portfolio_appear_and_update(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await set_up(hass, money_entry())
    await bridge_says(hass, money_info(1, 1027, holdings=HELD))
    assert entry.data["portfolio"] == {"currency": "EUR", "held": [1, 1027]}
    sent = money_states(1, 1027, holdings=HELD)
    await deliver(hass, sent)
    value = state(hass, "sensor.ethereum_eth_value_eur")
    assert value.state == sent["cmc/1027/value_eur"]
    assert value.attributes["friendly_name"] == "Ethereum (ETH) Value EUR"
    assert (
        entity_of(hass, "cmc/1027/value_eur").device_id == entity_of(hass, "cmc/1027/p").device_id
    )
    total = state(hass, "sensor.portfolio_value_eur")
    assert total.state == sent["cmc/portfolio/value_eur"]
    assert total.attributes["friendly_name"] == "Portfolio Value EUR"
    change = state(hass, "sensor.portfolio_change_24h_eur")
    assert change.state == sent["cmc/portfolio/change_24h_eur"]
    pct = state(hass, "sensor.portfolio_change_24h")
    assert (pct.state, pct.attributes["unit_of_measurement"]) == (
        sent["cmc/portfolio/change_24h_pct"], "%")  # fmt: skip
    assert pct.attributes["state_class"] == "measurement"
    device = device_with(hass, entry.entry_id, (DOMAIN, "cmc/portfolio"))
    assert device is not None
    assert (device.name, device.manufacturer, device.model) == (
        "Portfolio",
        "cmc-mqtt",
        "Portfolio",
    )
    await fire(hass, "cmc/portfolio/value_eur", "25000.10")  # a new total
    assert state(hass, "sensor.portfolio_value_eur").state == "25000.10"
    await fire(hass, "cmc/portfolio/status", "offline")  # a held coin has no price
    assert state(hass, "sensor.portfolio_value_eur").state == STATE_UNAVAILABLE
    await fire(hass, "cmc/portfolio/status", "online")
    await fire(hass, "cmc/status", "offline")
    assert state(hass, "sensor.portfolio_change_24h").state == STATE_UNAVAILABLE
    await fire(hass, "cmc/status", "online")
    assert state(hass, "sensor.portfolio_change_24h").state == sent["cmc/portfolio/change_24h_pct"]
    # Bitcoin sold: its value goes; nothing held: the portfolio goes.
    await bridge_says(hass, money_info(1, 1027, holdings={1027: HELD[1027]}))
    assert "cmc/1/value_eur" not in unique_ids(hass, entry)
    assert "cmc/1027/value_eur" in unique_ids(hass, entry)
    await bridge_says(hass, money_info(1, 1027, holdings={}))
    assert not {u for u in unique_ids(hass, entry) if "value" in u or "portfolio" in u}
    assert device_with(hass, entry.entry_id, (DOMAIN, "cmc/portfolio")) is None
    assert entry.data["portfolio"] == {"currency": "EUR", "held": []}


async def test_a_held_coin_not_shown_has_no_value_sensor(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    """Values go on the entry's coins; the portfolio counts every holding."""
    entry = await set_up(hass, money_entry(coins=[1], money=Money("EUR", "EUR", (1027,))))
    found = unique_ids(hass, entry)
    assert "cmc/1027/value_eur" not in found
    assert "cmc/portfolio/value_eur" in found
    assert device_with(hass, entry.entry_id, (DOMAIN, "cmc/1027")) is None


async def test_diagnostics_say_what_the_entry_knows_of_money(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    entry = await set_up(hass, money_entry(money=Money("EUR", "EUR", (1,))))
    await deliver(hass, money_states(1, holdings={1: HELD[1]}))
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["money"] == {"currency": "EUR", "fx_online": True,
        "holding_currency": "EUR", "held": [1], "portfolio_online": True,
        "amounts_online": {"1": True}}  # fmt: skip


async def test_reconfigure_keeps_the_portfolio(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await set_up(hass, money_entry(money=Money("EUR", "EUR", (1,))))
    total = entity_of(hass, "cmc/portfolio/value_eur").entity_id
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": "reconfigure", "entry_id": entry.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PREFIX: "office/cmc"}
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entity_of(hass, "office/cmc/portfolio/value_eur").entity_id == total
    assert device_with(hass, entry.entry_id, (DOMAIN, "office/cmc/portfolio")) is not None


# --- the holdings step ----------------------------------------------------------------------

REQUEST = "cmc/bridge/request/holdings/set"


Answer = dict[str, Any] | Callable[[bytes], dict[str, Any]]


async def answer_holdings(
    hass: HomeAssistant, mqtt: Any, step: Any, answer: Answer, info: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """Run a step that asks the bridge to set holdings, answering the request it sends (the
    next one on the topic) as the bridge does: on the response topic, with its transaction.
    `answer` may be made from the request's payload; `info` is the bridge's info published in
    between."""

    def requests() -> list[Any]:
        return [c.args for c in mqtt.async_publish.call_args_list if c.args[0] == REQUEST]

    before = len(requests())
    task = asyncio.ensure_future(step)
    for _ in range(500):
        if len(requests()) > before or task.done():
            break
        await asyncio.sleep(0.01)
    assert len(requests()) == before + 1, "the step sent no request"
    payload = requests()[-1][1]
    request = json.loads(payload)
    if info is not None:
        await fire(hass, "cmc/bridge/info", info)
    answered = answer(payload.encode()) if callable(answer) else answer
    reply = json.dumps({**answered, "transaction": request["transaction"]})
    async_fire_mqtt_message(hass, "cmc/bridge/response/holdings/set", reply)
    return await asyncio.wait_for(task, 10), request


async def holdings_form(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    menu = await hass.config_entries.options.async_init(entry.entry_id)
    assert menu["menu_options"] == ["entities", "add_coins", "remove_coins", "holdings"]
    result: dict[str, Any] = await hass.config_entries.options.async_configure(
        menu["flow_id"], {"next_step_id": "holdings"}
    )
    return result


async def test_the_holdings_step_asks_the_bridge(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await set_up(hass, money_entry(money=Money("EUR", "EUR", (1027,))))
    await bridge_says(hass, money_info(1, 1027, holdings={1027: HELD[1027]}))
    form = await holdings_form(hass, entry)
    assert form["type"] == FlowResultType.FORM
    assert form["step_id"] == "holdings"
    assert form["description_placeholders"]["held"] == "Ethereum (ETH) 2"
    assert form["description_placeholders"]["currency"] == "EUR"
    configure = hass.config_entries.options.async_configure
    result, request = await answer_holdings(
        hass, mqtt_ready,
        configure(form["flow_id"], {"coin": "1", "amount": " 0.250 "}),
        {"status": "ok", "data": {"holdings": {"1": "0.25", "1027": "2"}}},
    )  # fmt: skip
    assert request["holdings"] == {"1": "0.25"}  # the exact text, never a float
    assert isinstance(request["transaction"], str)
    assert result["type"] == FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {CONF_COINS: [1, 1027], CONF_FIELDS: FIELDS}  # unchanged
    assert entry.data["portfolio"]["held"] == [1, 1027]  # the bridge's answer is the truth
    assert "cmc/1/value_eur" in unique_ids(hass, entry)


async def test_the_bridge_takes_the_exact_amount_the_step_sends(
    hass: HomeAssistant, mqtt_ready: Any, tmp_path: Path
) -> None:
    """Each amount read by the bridge's own parser, kept by its own holding set, whose report
    is the answer and the info's portfolio. (Its request module needs the bridge's network
    packages, which Home Assistant's environments do not have.)"""
    held = HoldingSet({1027: Decimal(2)}, StateFile(tmp_path), Holdings(), lambda: (1, 1027))

    def bridge(payload: bytes) -> dict[str, Any]:
        asked = json.loads(payload)["holdings"]
        held.set(
            {
                int(cid): parse_amount(value, cid, maximum=MAX_HOLDING, places=HOLDING_PLACES)
                for cid, value in asked.items()
            }
        )
        return {"status": "ok", "data": {"holdings": held.report()}}

    entry = await set_up(hass, money_entry(money=Money("EUR", "EUR", (1027,))))
    many = "1234567.123456789012345678"  # more digits than a float keeps (18 decimals, the most)
    for coin, typed in [("1", many), ("1027", "0")]:
        form = await holdings_form(hass, entry)
        configure = hass.config_entries.options.async_configure
        result, _ = await answer_holdings(
            hass, mqtt_ready, configure(form["flow_id"], {"coin": coin, "amount": typed}), bridge
        )
        assert result["type"] == FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
    assert held.wanted() == {1: Decimal(many)}
    assert entry.data["portfolio"]["held"] == [1]
    await bridge_says(hass, money_info(1, 1027, holdings=held.wanted()))  # agrees: no reload
    assert entry.data["portfolio"]["held"] == [1]
    assert "cmc/1027/value_eur" not in unique_ids(hass, entry)
    form = await holdings_form(hass, entry)
    assert form["description_placeholders"]["held"] == f"Bitcoin (BTC) {many}"


async def test_info_during_a_request_waits_for_its_answer(
    hass: HomeAssistant, mqtt_ready: Any
) -> None:
    """The bridge's info may come between its change and its answer: the entry reloads after
    the answer, which a reload would have lost."""
    entry = await set_up(hass, money_entry(money=Money("EUR", "EUR", ())))
    form = await holdings_form(hass, entry)
    result, _ = await answer_holdings(
        hass, mqtt_ready,
        hass.config_entries.options.async_configure(form["flow_id"], {"coin": "1", "amount": "3"}),
        {"status": "ok", "data": {"holdings": {"1": "3"}}},
        info=money_info(1, 1027, holdings={1: Decimal(3)}),
    )  # fmt: skip
    assert result["type"] == FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.data["portfolio"]["held"] == [1]
    assert "cmc/1/value_eur" in unique_ids(hass, entry)


async def test_a_refused_holding_is_shown(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = await set_up(hass, money_entry(money=Money(None, "USD", ())))
    form = await holdings_form(hass, entry)
    assert form["description_placeholders"]["held"] == "none"  # info not seen yet
    configure = hass.config_entries.options.async_configure
    error = "not streamed: 1 (add the coin first: coins/add)"
    result, _ = await answer_holdings(
        hass, mqtt_ready, configure(form["flow_id"], {"coin": "1", "amount": "1"}),
        {"status": "error", "error": error},
    )  # fmt: skip
    assert result["type"] == FlowResultType.FORM
    assert result["errors"] == {"base": "not_streamed"}
    assert error in result["description_placeholders"]["answer"]
    for refusal, reason in [("bad payload: holdings.1: expected a number", "bad_payload"),
                            ("refused: holdings are read-only", "refused")]:  # fmt: skip
        result, request = await answer_holdings(
            hass, mqtt_ready, configure(form["flow_id"], {"coin": "1", "amount": "0"}),
            {"status": "error", "error": refusal},
        )  # fmt: skip
        assert request["holdings"] == {"1": "0"}
        assert result["errors"] == {"base": reason}
    assert entry.data["portfolio"] == {"currency": "USD", "held": []}
    result, _ = await answer_holdings(  # and the bridge agrees in the end
        hass, mqtt_ready, configure(form["flow_id"], {"coin": "1", "amount": "1"}),
        {"status": "ok", "data": {"holdings": {"1": "1"}}},
    )  # fmt: skip
    assert result["type"] == FlowResultType.CREATE_ENTRY
    assert entry.data["portfolio"] == {"currency": "USD", "held": [1]}


@pytest.mark.parametrize("typed", ["", "abc", "-1", "0,25", "NaN", "1e400x", "Infinity"])
async def test_an_amount_must_be_a_number(hass: HomeAssistant, mqtt_ready: Any, typed: str) -> None:
    entry = await set_up(hass, money_entry(money=Money("EUR", "EUR", ())))
    form = await holdings_form(hass, entry)
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], {"coin": "1", "amount": typed}
    )
    assert result["errors"] == {"amount": "invalid_amount"}
    published = [c.args[0] for c in mqtt_ready.async_publish.call_args_list]
    assert REQUEST not in published
    result, request = await answer_holdings(  # corrected, it goes through
        hass, mqtt_ready,
        hass.config_entries.options.async_configure(form["flow_id"], {"coin": "1", "amount": "2"}),
        {"status": "ok", "data": {"holdings": {"1": "2"}}},
    )  # fmt: skip
    assert request["holdings"] == {"1": "2"}
    assert result["type"] == FlowResultType.CREATE_ENTRY


async def test_holdings_need_a_loaded_entry(hass: HomeAssistant, mqtt_ready: Any) -> None:
    entry = money_entry(money=Money("EUR", "EUR", ()))
    entry.add_to_hass(hass)  # not set up
    menu = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        menu["flow_id"], {"next_step_id": "holdings"}
    )
    assert result["type"] == FlowResultType.ABORT
    assert result["reason"] == "not_loaded"
