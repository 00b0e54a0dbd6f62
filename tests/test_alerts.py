"""Alerts: crossings with hysteresis (a hovering price alerts once), 24 h change rules, global and
per-coin rules, the JSON payload, and the configuration's rules."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cmc_mqtt.errors import ConfigError
from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.alerts import (
    EVENT_TYPES,
    Alert,
    AlertEngine,
    AlertRule,
    parse_rules,
)
from cmc_mqtt.money.currency import CURRENCIES

D = Decimal
EUR = CURRENCIES["EUR"]


def feed(engine: AlertEngine, prices: list[str], cid: int = 1) -> list[tuple[str, str]]:
    """(event_type, value) of every alert while `prices` come in one after another."""
    fired = []
    for price in prices:
        fired += [(a.event_type, f"{a.value}") for a in engine.check(cid, D(price), None, 0.0)]
    return fired


def test_a_price_hovering_at_the_level_alerts_once() -> None:
    engine = AlertEngine([AlertRule("price", D(100000), "up", D(500))])
    hovering = ["99900", "100000", "99999.99", "100000.01", "99600", "100200", "99500.01"]
    assert feed(engine, hovering) == [("price_up", "100000")]  # exactly at the level counts
    # Back past level - hysteresis re-arms it; the next crossing alerts again.
    assert feed(engine, ["99499.99", "99800", "100000.5"]) == [("price_up", "100000.5")]


def test_a_downward_rule_mirrors_it() -> None:
    engine = AlertEngine([AlertRule("price", D(50), "down", D(1))])
    assert feed(engine, ["51", "50.5", "49.99", "50.5", "49", "50.99", "51.01", "50"]) == [
        ("price_down", "49.99"),
        ("price_down", "50"),
    ]


def test_both_ways_each_with_its_own_state() -> None:
    engine = AlertEngine([AlertRule("price", D(100), "both", D(2))])
    # Starting below, the downward way waits to see the price above 102 first.
    fired = feed(engine, ["95", "101", "99", "101", "97.5", "99", "103", "100", "101", "97"])
    assert fired == [("price_up", "101"), ("price_up", "103"), ("price_down", "100")]


def test_the_first_value_only_tells_the_side() -> None:
    engine = AlertEngine([AlertRule("price", D(100), "up")])
    assert feed(engine, ["150", "160"]) == []  # started above: no crossing seen
    assert feed(engine, ["98", "101"]) == [("price_up", "101")]  # 1 % default hysteresis


def test_default_hysteresis() -> None:
    assert AlertRule("price", D(80000)).margin() == D(800)
    assert AlertRule("change", D(5)).margin() == D(1)
    assert AlertRule("change", D(5), hysteresis=D("0.5")).margin() == D("0.5")


def test_the_24h_change_crossing_plus_or_minus_x() -> None:
    engine = AlertEngine([AlertRule("change", D(5))])

    def changes(values: list[str]) -> list[tuple[str, str]]:
        return [
            (a.event_type, f"{a.level}")
            for value in values
            for a in engine.check(1, None, D(value), 0.0)
        ]

    assert changes(["0", "4.9", "5.0", "4.5", "5.2", "3.9", "5.1"]) == [
        ("change_up", "5"),
        ("change_up", "5"),
    ]
    assert changes(["-4", "-5.5", "-4.5", "-6", "-3.5", "-5"]) == [
        ("change_down", "-5"),
        ("change_down", "-5"),
    ]


def test_global_rules_keep_a_state_per_coin_and_coin_rules_watch_their_coin() -> None:
    engine = AlertEngine([AlertRule("price", D(10), "up"), AlertRule("price", D(1), "up", coin=74)])
    assert feed(engine, ["9", "11"], cid=1) == [("price_up", "11")]
    assert feed(engine, ["0.5", "9", "11"], cid=74) == [("price_up", "9"), ("price_up", "11")]
    assert feed(engine, ["12"], cid=1) == []
    engine.keep_only([74])
    assert feed(engine, ["11"], cid=1) == []  # forgotten: starts by learning the side again


def test_no_value_leaves_the_state_as_it_is() -> None:
    engine = AlertEngine([AlertRule("price", D(100), "up")])
    assert engine.check(1, None, D(1), 0.0) == []  # no price yet (or no fresh rate)
    assert feed(engine, ["99"]) == []
    assert engine.check(1, None, None, 0.0) == []
    assert feed(engine, ["100"]) == [("price_up", "100")]


def test_the_payload_for_the_alert_topic_and_home_assistants_event_entity() -> None:
    engine = AlertEngine([AlertRule("price", D("100000"), "up")], EUR)
    engine.check(1, D("99000"), None, 0.0)
    (alert,) = engine.check(1, D("100012.3456789"), None, 1779328629.0)
    assert Topics("cmc").coin_alert(1) == "cmc/1/alert"
    assert alert.payload() == (
        '{"event_type":"price_up","kind":"price","direction":"up","level":100000,'
        '"value":100012.35,"unit":"EUR","time":"2026-05-21T01:57:09Z","cid":1}'
    )
    assert json.loads(alert.payload())["event_type"] in EVENT_TYPES
    change = Alert(74, "change", "down", D(-5), D("-5.123456"), 0.0)
    assert json.loads(change.payload()) == {
        "event_type": "change_down", "kind": "change", "direction": "down", "level": -5,
        "value": -5.12, "unit": "%", "time": "1970-01-01T00:00:00Z", "cid": 74,
    }  # fmt: skip


def test_rules_from_the_configuration() -> None:
    rules = parse_rules(
        [
            {"coin": 1, "price": 100000, "direction": "up", "hysteresis": 250.5},
            {"change": 7.5},
            {"price": "0.25", "coin": 74, "direction": "down"},
        ]
    )
    assert rules == (
        AlertRule("price", D(100000), "up", D("250.5"), 1),
        AlertRule("change", D("7.5"), "both", None, None),
        AlertRule("price", D("0.25"), "down", None, 74),
    )


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"coin": 1}, "alerts[0]: give exactly one of price (a level) or change (a percent)"),
        ({"price": 1, "change": 2}, "alerts[0]: give exactly one of price"),
        ({"price": 0}, "alerts[0].price: expected a number > 0, got 0"),
        ({"price": -5}, "alerts[0].price: expected a number > 0, got -5"),
        ({"price": "lots"}, "alerts[0].price: expected a number > 0, got 'lots'"),
        ({"price": True}, "alerts[0].price: expected a number > 0, got True"),
        ({"change": float("nan")}, "alerts[0].change: expected a number >= 0, got nan"),
        ({"price": 1, "direction": "sideways"}, 'alerts[0].direction: expected "up", "down"'),
        ({"price": 1, "hysteresis": -1}, "alerts[0].hysteresis: expected a number >= 0"),
        ({"price": 1, "coin": "btc"}, "alerts[0].coin: expected a coin id"),
        ({"price": 1, "level": 2}, "alerts[0].level: unknown key"),
        ("price", "alerts[0]: expected a table"),
    ],
)
def test_bad_rules_are_config_errors_naming_the_key(table: object, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules([table])
    assert info.value.problems[0].startswith(problem)


def test_every_problem_is_reported() -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules([{"price": 0}, {"change": 1}, {"change": -1, "direction": "x"}])
    assert len(info.value.problems) == 3
    with pytest.raises(ConfigError):
        parse_rules({"price": 1})
