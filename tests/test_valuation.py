"""Valuation: converted topics, holdings, the portfolio and the rate's status from the stream's
exact texts; nothing converted while the rate is stale; only what changed; alerts in EUR."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.alerts import AlertEngine, AlertRule
from cmc_mqtt.money.currency import CURRENCIES, USD
from cmc_mqtt.money.portfolio import Holdings
from cmc_mqtt.money.rate import RateKeeper
from cmc_mqtt.money.valuation import Valuation

from .test_fx import FakeClock

D = Decimal
EUR = CURRENCIES["EUR"]
BTC = {"p": "81187.93284788371", "vu": "29932025976.79", "mc": "1626089237758.01",
       "p24h": "0.534347439686", "cs": "20028706"}  # fmt: skip
DOGE = {"p": "0.2141253679644425", "p24h": "-1.5"}


class Texts:
    def __init__(self, texts: dict[int, dict[str, str]]) -> None:
        self.texts = texts

    def __call__(self, cid: int) -> Mapping[str, str] | None:
        return self.texts.get(cid)


def make(
    texts: dict[int, dict[str, str]],
    holdings: dict[int, Decimal],
    clock: FakeClock,
    currency: str = "EUR",
    alerts: AlertEngine | None = None,
) -> tuple[Valuation, RateKeeper, Texts]:
    keeper = RateKeeper(currency, max_age=60, clock=clock)
    source = Texts(texts)
    valuation = Valuation(Topics("cmc"), CURRENCIES[currency], keeper=keeper,
                          holdings=Holdings(holdings), texts=source, alerts=alerts)  # fmt: skip
    return valuation, keeper, source


def test_converted_topics_holdings_and_portfolio() -> None:
    clock = FakeClock()
    valuation, keeper, _ = make({1: BTC, 74: DOGE}, {1: D("0.25"), 74: D(1000)}, clock)
    keeper.offer("0.92", "test")
    messages = dict(valuation.messages([1, 74]))
    assert messages == {
        "cmc/fx/eur/status": "online",
        "cmc/fx/eur/rate": "0.92",
        "cmc/1/p_eur": "74692.90",
        "cmc/1/vu_eur": "27537463899",
        "cmc/1/mc_eur": "1496002098737",
        "cmc/74/p_eur": "0.1970",
        "cmc/1/value_eur": "18673.22",
        "cmc/74/value_eur": "197.00",
        "cmc/1/status_eur": "online",
        "cmc/74/status_eur": "online",
        "cmc/portfolio/value_eur": "18870.22",
        "cmc/portfolio/change_24h_eur": "96.25",
        "cmc/portfolio/change_24h_pct": "0.51",
        "cmc/portfolio/json": '{"currency":"EUR","value":18870.22,"change_24h":96.25,'
        '"change_24h_pct":0.51,"coins":{"1":18673.22,"74":197.00}}',
        "cmc/portfolio/status": "online",
    }
    assert valuation.messages([1, 74]) == []  # nothing changed: nothing to send
    valuation.reset()
    assert len(valuation.messages([1, 74])) == len(messages)  # after a reconnect: all again


def test_a_stale_rate_writes_no_conversion_and_says_offline() -> None:
    clock = FakeClock()
    valuation, keeper, source = make({1: BTC}, {1: D(1)}, clock)
    keeper.offer("0.92", "test")
    valuation.messages([1])
    clock.now += 61
    source.texts[1] = {**BTC, "p": "90000"}
    assert valuation.messages([1]) == [
        ("cmc/fx/eur/status", "offline"),
        ("cmc/portfolio/status", "offline"),
    ]
    money = valuation.money(1)
    assert (money.fields, money.value, money.portfolio) == ({}, None, None)
    keeper.offer("0.93", "test")
    fresh = dict(valuation.messages([1]))
    assert fresh["cmc/fx/eur/status"] == "online"
    assert fresh["cmc/1/p_eur"] == "83700.00"
    assert fresh["cmc/portfolio/value_eur"] == "83700.00"


def test_a_held_coin_without_a_price_keeps_the_total_offline() -> None:
    clock = FakeClock()
    valuation, keeper, _ = make({1: BTC, 74: {}}, {1: D(1), 74: D(10)}, clock)
    keeper.offer("0.92", "test")
    messages = dict(valuation.messages([1, 74]))
    assert messages["cmc/portfolio/status"] == "offline"
    assert messages["cmc/1/value_eur"] == "74692.90"
    assert "cmc/portfolio/value_eur" not in messages
    assert valuation.money(1).portfolio is None


def test_money_for_the_displays() -> None:
    clock = FakeClock()
    valuation, keeper, _ = make({1: BTC}, {1: D("0.5")}, clock)
    assert valuation.money(1).fields == {}  # no rate yet: dashes, never USD numbers
    keeper.offer("0.92", "test")
    money = valuation.money(1)
    assert money.currency is EUR
    assert money.fields is not None
    assert money.fields["p"] == D("74692.8982200530132")
    assert money.value == money.portfolio == D("37346.4491100265066")
    assert money.portfolio_change is not None


def test_usd_has_no_rate_topics_and_shows_the_streams_numbers() -> None:
    clock = FakeClock()
    valuation, keeper, _ = make({1: BTC}, {1: D(2)}, clock, currency="USD")
    keeper.offer(1, "identity")
    messages = dict(valuation.messages([1]))
    assert "cmc/fx/usd/status" not in messages
    assert "cmc/1/p_usd" not in messages  # the USD topics are the stream's own
    assert messages["cmc/1/value_usd"] == "162375.87"
    money = valuation.money(1)
    assert money.currency is USD
    assert money.fields is None


def test_no_holdings_no_portfolio_topics() -> None:
    clock = FakeClock()
    valuation, keeper, _ = make({1: BTC}, {}, clock)
    keeper.offer("0.92", "test")
    assert not any("portfolio" in topic for topic, _ in valuation.messages([1]))


def test_alerts_watch_the_converted_price() -> None:
    clock = FakeClock()
    engine = AlertEngine([AlertRule("price", D(75000), "up", D(100))], EUR)
    valuation, keeper, source = make({1: BTC}, {}, clock, alerts=engine)
    assert valuation.alerts([1]) == []  # no rate: the price rule waits
    keeper.offer("0.92", "test")
    assert valuation.alerts([1]) == []  # 74,692.90: below, learns the side
    source.texts[1] = {**BTC, "p": "81600"}  # 75,072 EUR
    (alert,) = valuation.alerts([1])
    assert (alert.event_type, f"{alert.value}") == ("price_up", "75072.00")
    assert '"unit":"EUR"' in alert.payload()


def test_a_coin_that_cannot_be_valued_is_unavailable_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A value beyond every bound (only a bug can make one: amounts are bounded where they
    enter) marks exactly that coin's amounts offline; the others go on, nothing says online
    over a frozen value, and the failure is logged once and counted."""
    clock = FakeClock()
    broken = {"p": "1e2000", "p24h": "1"}  # the texts a bug could hand over
    valuation, keeper, source = make({1: BTC, 74: broken}, {1: D("0.25"), 74: D(1)}, clock)
    keeper.offer("0.92", "test")
    for _ in range(3):
        messages = dict(valuation.messages([1, 74]))
    first = dict(valuation.messages([]))  # nothing new: nothing sent again
    assert first == {}
    valuation.reset()
    messages = dict(valuation.messages([1, 74]))
    assert messages["cmc/1/p_eur"] == "74692.90"
    assert messages["cmc/1/status_eur"] == "online"
    assert messages["cmc/74/status_eur"] == "offline"
    assert not [t for t in messages if t.startswith("cmc/74/") and "status" not in t]
    assert messages["cmc/portfolio/status"] == "offline"  # the total cannot be known
    assert "cmc/fx/eur/status" in messages
    assert messages["cmc/fx/eur/status"] == "online"  # the rate itself is fine
    assert valuation.errors >= 4
    warnings = [r for r in caplog.records if "coin 74" in r.getMessage()]
    assert len(warnings) == 1
    assert valuation.money(74).fields == {}
    assert valuation.alerts([74]) == []

    source.texts[74] = dict(DOGE)  # a good quote comes: the coin is back, and the total
    messages = dict(valuation.messages([74]))
    assert messages["cmc/74/status_eur"] == "online"
    assert messages["cmc/74/p_eur"] == "0.1970"
    assert messages["cmc/portfolio/status"] == "online"


def test_an_unconvertible_coin_that_is_held_stays_offline_until_it_converts() -> None:
    clock = FakeClock()
    bad_volume = {"p": "81187.93284788371", "vu": "1e2000"}
    valuation, keeper, source = make({1: bad_volume}, {1: D(1)}, clock)
    keeper.offer("0.92", "test")
    messages = dict(valuation.messages([1]))
    assert messages["cmc/1/status_eur"] == "offline"  # valued, but a converted field failed
    source.texts[1] = dict(BTC)
    assert dict(valuation.messages([1]))["cmc/1/status_eur"] == "online"
