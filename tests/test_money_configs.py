"""Discovery for the user's currency, holdings and alerts: converted amounts, a Value per held
coin, the Portfolio device, the alert event; what the sweep wants and what migrates; and the
announcer clearing what is no longer announced."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from cmc_mqtt.config import HomeAssistantSettings
from cmc_mqtt.extensions.announcer import HomeAssistantDiscovery
from cmc_mqtt.homeassistant.bridge_entities import BRIDGE_ENTITIES
from cmc_mqtt.homeassistant.context import NO_MONEY, DiscoveryContext, MoneyDiscovery
from cmc_mqtt.homeassistant.discovery import (
    coin_messages,
    config_owner,
    migrations,
    portfolio_messages,
    wanted_topics,
)
from cmc_mqtt.homeassistant.money_entities import extra_keys, price_decimals
from cmc_mqtt.model.coins import coin_info
from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.alerts import EVENT_TYPES
from cmc_mqtt.money.currency import CURRENCIES, USD
from cmc_mqtt.rest.names import CoinDirectory
from cmc_mqtt.state.bridge_state import BridgeState

EUR, JPY = CURRENCIES["EUR"], CURRENCIES["JPY"]
CFG = "homeassistant/{}/cmc_mqtt/{}/config"
EVERYTHING = MoneyDiscovery(EUR, frozenset({1}), alerts=True, rate=Decimal("0.92"))


def context(money: MoneyDiscovery = NO_MONEY, **ha: Any) -> DiscoveryContext:
    return DiscoveryContext(HomeAssistantSettings(**ha), Topics("cmc"), "1.2.3", lambda: money)


def configs(ctx: DiscoveryContext, cid: int = 1, price: float | None = 81187.93) -> dict[str, Any]:
    return {t: json.loads(p) for t, p in coin_messages(ctx, coin_info(cid), price)}


def test_without_money_nothing_is_added() -> None:
    assert len(configs(context())) == 13
    assert portfolio_messages(context()) == []
    usd = MoneyDiscovery(USD, frozenset(), alerts=False)
    assert len(configs(context(usd))) == 13  # USD is what the stream gives: nothing converted


def test_everything_adds_converted_amounts_value_and_alert() -> None:
    found = configs(context(EVERYTHING))
    added = sorted(set(found) - set(configs(context())))
    assert added == sorted(
        [CFG.format("sensor", f"1_{k}") for k in ("p_eur", "vu_eur", "mc_eur", "value_eur")]
        + [CFG.format("event", "1_alert")]
    )


@pytest.mark.parametrize(
    ("key", "name", "precision", "enabled"),
    [("p_eur", "Price EUR", 2, True), ("vu_eur", "Volume 24h EUR", 0, True),
     ("mc_eur", "Market cap EUR", 0, True)],
)  # fmt: skip
def test_converted_amounts_are_monetary_in_the_currency(
    key: str, name: str, precision: int, enabled: bool
) -> None:
    config = configs(context(EVERYTHING))[CFG.format("sensor", f"1_{key}")]
    assert config["name"] == name
    assert config["unique_id"] == f"cmc_mqtt_1_{key}"
    assert config["default_entity_id"] == f"sensor.bitcoin_btc_{name.lower().replace(' ', '_')}"
    assert config["state_topic"] == f"cmc/1/{key}"
    assert config["unit_of_measurement"] == "EUR"
    assert (config["device_class"], config["state_class"]) == ("monetary", "total")
    assert config["suggested_display_precision"] == precision
    assert config["enabled_by_default"] is enabled
    assert config["availability"] == [
        {"topic": "cmc/status"}, {"topic": "cmc/1/status"}, {"topic": "cmc/fx/eur/status"},
        {"topic": "cmc/1/status_eur"},
    ]  # fmt: skip
    assert config["availability_mode"] == "all"
    assert config["device"]["identifiers"] == ["cmc_mqtt_1"]  # on the coin's device


def test_converted_fields_follow_the_field_selection() -> None:
    found = configs(context(EVERYTHING, fields=("p", "p24h"), enabled_fields=("p24h",)))
    converted = {t: c for t, c in found.items() if "_eur/" in t and "value" not in t}
    assert list(converted) == [CFG.format("sensor", "1_p_eur")]
    assert converted[CFG.format("sensor", "1_p_eur")]["enabled_by_default"] is False


@pytest.mark.parametrize(
    ("price", "rate", "currency", "decimals"),
    [
        (81187.93, Decimal("0.92"), EUR, 2),
        (0.2141, Decimal("0.92"), EUR, 4),  # 0.1970: 4 significant digits
        (0.5, Decimal("150"), JPY, 0),  # 75 yen: JPY has no minor units
        (0.5, None, JPY, 4),  # no rate yet: from the USD price
        (None, None, EUR, 2),
        (float("nan"), None, EUR, 2),
        (float("inf"), Decimal("0.92"), EUR, 2),
    ],
)
def test_converted_price_precision_follows_moneys_rounding(
    price: float | None, rate: Decimal | None, currency: Any, decimals: int
) -> None:
    money = MoneyDiscovery(currency, rate=rate)
    assert price_decimals(price, money, currency) == decimals
    if price is not None and price == price:
        topic = CFG.format("sensor", f"74_p_{currency.code.lower()}")
        config = configs(context(money), 74, price)[topic]
        assert config["suggested_display_precision"] == decimals


def test_a_held_coin_has_a_value_sensor_others_do_not() -> None:
    found = configs(context(EVERYTHING))
    value = found[CFG.format("sensor", "1_value_eur")]
    assert value["name"] == "Value EUR"
    assert value["default_entity_id"] == "sensor.bitcoin_btc_value_eur"
    assert value["state_topic"] == "cmc/1/value_eur"
    assert (value["device_class"], value["state_class"], value["unit_of_measurement"]) == (
        "monetary", "total", "EUR"
    )  # fmt: skip
    assert value["suggested_display_precision"] == 2
    assert {"topic": "cmc/fx/eur/status"} in value["availability"]
    assert CFG.format("sensor", "1027_value_eur") not in configs(context(EVERYTHING), 1027)


def test_holdings_in_usd_are_valued_without_an_fx_status() -> None:
    money = MoneyDiscovery(None, frozenset({1}))
    found = configs(context(money))
    value = found[CFG.format("sensor", "1_value_usd")]
    assert value["unit_of_measurement"] == "USD"
    assert value["availability"] == [
        {"topic": "cmc/status"}, {"topic": "cmc/1/status"}, {"topic": "cmc/1/status_usd"}
    ]  # fmt: skip
    assert not [t for t in found if "_usd/" in t and "value" not in t]


def test_the_alert_event_reads_the_alert_topic() -> None:
    event = configs(context(EVERYTHING))[CFG.format("event", "1_alert")]
    assert event["name"] == "Alert"
    assert event["unique_id"] == "cmc_mqtt_1_alert"
    assert event["default_entity_id"] == "event.bitcoin_btc_alert"
    assert event["state_topic"] == "cmc/1/alert"
    assert event["event_types"] == list(EVENT_TYPES)
    assert "value_template" not in event  # the payload's own event_type is read
    assert event["availability"] == [{"topic": "cmc/status"}]


def test_no_monetary_config_has_another_state_class() -> None:
    ctx = context(EVERYTHING)
    found = list(configs(ctx).values())
    found += [json.loads(p) for _, p in portfolio_messages(ctx)]
    monetary = [c for c in found if c.get("device_class") == "monetary"]
    assert len(monetary) == 6
    assert {c["state_class"] for c in monetary} == {"total"}


def test_the_portfolio_device() -> None:
    found = {t: json.loads(p) for t, p in portfolio_messages(context(EVERYTHING))}
    assert sorted(found) == sorted(
        CFG.format("sensor", f"portfolio_{k}")
        for k in ("value_eur", "change_24h_eur", "change_24h_pct")
    )
    value = found[CFG.format("sensor", "portfolio_value_eur")]
    assert value["device"] == {"identifiers": ["cmc_mqtt_portfolio"], "name": "Portfolio",
                               "manufacturer": "cmc-mqtt", "model": "Portfolio",
                               "sw_version": "1.2.3"}  # fmt: skip
    assert value["unique_id"] == "cmc_mqtt_portfolio_value_eur"
    assert value["default_entity_id"] == "sensor.portfolio_value_eur"
    assert (value["state_topic"], value["json_attributes_topic"]) == (
        "cmc/portfolio/value_eur", "cmc/portfolio/json"
    )  # fmt: skip
    assert value["availability"] == [{"topic": "cmc/status"}, {"topic": "cmc/portfolio/status"}]
    change = found[CFG.format("sensor", "portfolio_change_24h_eur")]
    assert change["state_topic"] == "cmc/portfolio/change_24h_eur"
    pct = found[CFG.format("sensor", "portfolio_change_24h_pct")]
    assert (pct["state_topic"], pct["unit_of_measurement"], pct["state_class"]) == (
        "cmc/portfolio/change_24h_pct", "%", "measurement"
    )  # fmt: skip
    assert "device_class" not in pct
    office = dict(portfolio_messages(context(EVERYTHING, node_id="office")))
    config = json.loads(office["homeassistant/sensor/office/portfolio_value_eur/config"])
    assert config["default_entity_id"] == "sensor.office_portfolio_value_eur"


def test_device_mode_carries_the_extras_with_their_own_availability() -> None:
    ctx = context(EVERYTHING, discovery_mode="device")
    ((topic, payload),) = coin_messages(ctx, coin_info(1), 81187.93)
    components = json.loads(payload)["components"]
    assert components["1_alert"]["platform"] == "event"
    assert components["1_p_eur"]["platform"] == "sensor"
    assert len(components["1_p_eur"]["availability"]) == 4  # overrides the device's two
    ((topic, payload),) = portfolio_messages(ctx)
    assert topic == "homeassistant/device/cmc_mqtt_portfolio/config"
    assert sorted(json.loads(payload)["components"]) == [
        "portfolio_change_24h_eur", "portfolio_change_24h_pct", "portfolio_value_eur"
    ]  # fmt: skip


def test_wanted_topics_include_what_money_adds() -> None:
    ctx = context(EVERYTHING)
    announced = {t for cid in (1, 1027) for t, _ in coin_messages(ctx, coin_info(cid), None)}
    announced |= {t for t, _ in portfolio_messages(ctx)}
    bridge = len(BRIDGE_ENTITIES)
    assert wanted_topics(ctx, (1, 1027)) - announced == wanted_topics(context(), ())
    assert len(wanted_topics(ctx, (1, 1027))) == len(announced) + bridge
    assert wanted_topics(context(), (1,), EVERYTHING) == wanted_topics(ctx, (1,))  # explicit
    device = wanted_topics(context(EVERYTHING, discovery_mode="device"), (1,))
    assert "homeassistant/device/cmc_mqtt_portfolio/config" in device
    assert "homeassistant/device/cmc_mqtt_portfolio/config" not in wanted_topics(
        context(discovery_mode="device"), (1,)
    )


@pytest.mark.parametrize(
    ("topic", "owner"),
    [
        (CFG.format("sensor", "1_p_eur"), (1, "p_eur")),
        (CFG.format("event", "1_alert"), (1, "alert")),
        (CFG.format("sensor", "portfolio_change_24h_pct"), ("portfolio", "change_24h_pct")),
        ("homeassistant/device/cmc_mqtt_portfolio/config", ("portfolio", None)),
        ("homeassistant/event/office/1_alert/config", None),
        ("homeassistant/event/cmc_mqtt/bridge_stream/config", None),
    ],
)
def test_config_owner_knows_the_new_configs(topic: str, owner: Any) -> None:
    assert config_owner(context(), topic) == owner


def test_money_configs_migrate_with_their_coin_and_the_portfolio() -> None:
    entity_mode = context(EVERYTHING)
    leftovers = [t for t, _ in coin_messages(entity_mode, coin_info(1), None)]
    leftovers += [t for t, _ in portfolio_messages(entity_mode)]
    moving, owners = migrations(context(EVERYTHING, discovery_mode="device"), leftovers, (1,))
    assert sorted(moving) == sorted(leftovers)
    assert owners == [1, "portfolio"]
    # Nothing held and no alerts any more: those configs go instead of migrating.
    money = MoneyDiscovery(EUR)
    moving, owners = migrations(context(money, discovery_mode="device"), leftovers, (1,))
    assert not [t for t in moving if "portfolio" in t or "alert" in t or "value" in t]
    assert CFG.format("sensor", "1_p_eur") in moving
    assert owners == [1]


def test_extra_keys() -> None:
    assert extra_keys(NO_MONEY, ("p", "vu"), 1) == []
    assert extra_keys(EVERYTHING, ("p", "cs", "p24h"), 1) == [
        ("sensor", "p_eur"), ("sensor", "value_eur"), ("event", "alert")
    ]  # fmt: skip


# --- the announcer ----------------------------------------------------------------------------


class Recorder:
    """An `Outbox` that keeps what was published, in order."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []

    def publish(self, topic: str, payload: str, *, retain: bool = True) -> None:
        assert retain
        self.published.append((topic, payload))

    def subscribe(self, topic: str) -> None:
        return

    def unsubscribe(self, topic: str) -> None:
        return

    def republish_state(self) -> None:
        return


def test_the_announcer_follows_the_holdings_and_clears_what_goes() -> None:
    money = [EVERYTHING]
    ctx = DiscoveryContext(HomeAssistantSettings(), Topics("cmc"), "1.2.3", lambda: money[0])
    state = BridgeState((1, 1027), Topics("cmc"))
    announcer = HomeAssistantDiscovery(ctx, state, CoinDirectory({}, None))
    out = Recorder()
    announcer.on_connected(out)
    sent = dict(out.published)
    assert CFG.format("sensor", "1_value_eur") in sent
    assert CFG.format("sensor", "portfolio_value_eur") in sent
    assert CFG.format("event", "1027_alert") in sent
    out.published.clear()
    announcer.tick(0.0, out)
    assert out.published == []  # nothing changed
    money[0] = MoneyDiscovery(EUR, frozenset({1027}), alerts=True, rate=Decimal("0.92"))
    announcer.tick(100.0, out)
    sent = dict(out.published)
    assert sent[CFG.format("sensor", "1_value_eur")] == ""  # no longer held: cleared
    assert json.loads(sent[CFG.format("sensor", "1027_value_eur")])["name"] == "Value EUR"
    assert CFG.format("sensor", "portfolio_value_eur") not in sent  # unchanged
    out.published.clear()
    money[0] = MoneyDiscovery(EUR, alerts=True)
    announcer.tick(200.0, out)
    sent = dict(out.published)
    assert sent[CFG.format("sensor", "portfolio_value_eur")] == ""  # nothing held: no device
    assert sent[CFG.format("sensor", "1027_value_eur")] == ""


def test_the_announcers_migration_sends_the_portfolio_again() -> None:
    ctx = context(EVERYTHING, discovery_mode="device")
    state = BridgeState((1,), Topics("cmc"))
    announcer = HomeAssistantDiscovery(ctx, state, CoinDirectory({}, None))
    leftovers = [t for t, _ in portfolio_messages(context(EVERYTHING))]
    leftovers += [t for t, _ in coin_messages(context(EVERYTHING), coin_info(1), None)]
    moving, configs_ = announcer.migration(leftovers)
    assert sorted(moving) == sorted(leftovers)
    assert sorted(t for t, _ in configs_) == [
        "homeassistant/device/cmc_mqtt_1/config",
        "homeassistant/device/cmc_mqtt_portfolio/config",
    ]
