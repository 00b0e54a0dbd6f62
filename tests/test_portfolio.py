"""Holdings and portfolio: exact values, the 24 h change from each coin's p24h, a coin without
a price, and the retained topics' texts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.currency import CURRENCIES, USD
from cmc_mqtt.money.portfolio import (
    Holdings,
    coin_value_messages,
    portfolio_messages,
    total,
    value_24h_ago,
    value_from_texts,
)

D = Decimal
EUR, JPY = CURRENCIES["EUR"], CURRENCIES["JPY"]


def test_total_and_its_24h_change() -> None:
    # 0.5 BTC at 80,000 (+25 % in 24 h: was 64,000) and 10 ETH at 2,000 (-20 %: was 2,500).
    result = total({1: D("0.5"), 1027: D(10)}, {1: D(80000), 1027: D(2000)},
                   {1: D(25), 1027: D(-20)})  # fmt: skip
    assert result.value == D(60000)
    assert [c.value for c in result.coins] == [D(40000), D(20000)]
    assert [c.value_24h_ago for c in result.coins] == [D(32000), D(25000)]
    assert result.change_24h == D(3000)  # 60,000 - 57,000
    assert result.change_24h_pct is not None
    assert f"{result.change_24h_pct:.10f}" == "5.2631578947"  # 3,000 / 57,000
    assert result.missing == ()


def test_a_coin_without_a_price_makes_the_total_unavailable() -> None:
    result = total({1: D("0.5"), 1027: D(10)}, {1: D(80000)}, {1: D(25)})
    assert result.value is None
    assert result.change_24h is None
    assert result.missing == (1027,)
    assert [c.cid for c in result.coins] == [1]  # the priced one is still valued
    topics = Topics("cmc")
    assert portfolio_messages(topics, result, EUR) == [("cmc/portfolio/status", "offline")]
    assert coin_value_messages(topics, result, EUR) == [
        ("cmc/1/value_eur", "40000.00"),
        ("cmc/1/status_eur", "online"),
    ]


def test_a_coin_without_a_change_keeps_the_total_but_not_its_change() -> None:
    result = total({1: D(1), 74: D(100)}, {1: D(100), 74: D("0.2")}, {1: D(1)})
    assert result.value == D(120)
    assert result.change_24h is None
    assert result.change_24h_pct is None


def test_zero_holdings_are_ignored_even_without_a_price() -> None:
    result = total({1: D(1), 74: D(0)}, {1: D(100)}, {1: D(0)})
    assert result.value == D(100)
    assert (result.change_24h, result.change_24h_pct) == (D(0), D(0))
    assert total({}, {}, {}).value == 0


@pytest.mark.parametrize(
    ("p24h", "ago"),
    [("0", "100"), ("100", "50"), ("-50", "200"), ("-100", None), ("-150", None)],
)
def test_value_24h_ago(p24h: str, ago: str | None) -> None:
    assert value_24h_ago(D(100), D(p24h)) == (None if ago is None else D(ago))


def test_values_from_the_streams_exact_texts_in_the_chosen_currency() -> None:
    texts = {1: {"p": "81187.93284788371", "p24h": "0.534347439686"},
             74: {"p": "0.2141253679644425", "p24h": "-1.5"}}  # fmt: skip
    holdings = {1: D("0.25"), 74: D(1000)}
    result = value_from_texts(holdings, texts, D("0.92"))
    assert result is not None
    # 0.25 * 81187.93284788371 * 0.92 = 18673.22455501325; 1000 * 0.2141... * 0.92 = 196.9953...
    topics = Topics("cmc")
    messages = dict(portfolio_messages(topics, result, EUR))
    assert messages == {
        "cmc/portfolio/value_eur": "18870.22",
        "cmc/portfolio/change_24h_eur": "96.25",
        "cmc/portfolio/change_24h_pct": "0.51",
        "cmc/portfolio/json": '{"currency":"EUR","value":18870.22,"change_24h":96.25,'
        '"change_24h_pct":0.51,"coins":{"1":18673.22,"74":197.00}}',
        "cmc/portfolio/status": "online",
    }
    assert value_from_texts(holdings, texts, None) is None  # no fresh rate: nothing to say
    assert portfolio_messages(topics, None, EUR) == [("cmc/portfolio/status", "offline")]


def test_yen_values_have_no_minor_units_and_usd_needs_a_rate_of_one() -> None:
    texts = {1: {"p": "81187.93284788371", "p24h": "0"}}
    result = value_from_texts({1: D("0.1")}, texts, D(155))
    assert result is not None
    topics = Topics("cmc")
    assert dict(portfolio_messages(topics, result, JPY))["cmc/portfolio/value_jpy"] == "1258413"
    usd = value_from_texts({1: D("0.1")}, texts, D(1))
    assert usd is not None
    assert coin_value_messages(Topics("cmc"), usd, USD) == [
        ("cmc/1/value_usd", "8118.79"),
        ("cmc/1/status_usd", "online"),
    ]


def test_a_negative_change_and_no_negative_zero() -> None:
    result = total({1: D(1)}, {1: D(99)}, {1: D(-1)})
    messages = dict(portfolio_messages(Topics("cmc"), result, EUR))
    assert messages["cmc/portfolio/change_24h_eur"] == "-1.00"
    assert messages["cmc/portfolio/change_24h_pct"] == "-1.00"
    flat = total({1: D(1)}, {1: D("99.999")}, {1: D("-0.0000001")})
    flat_messages = dict(portfolio_messages(Topics("cmc"), flat, EUR))
    assert flat_messages["cmc/portfolio/change_24h_eur"] == "0.00"
    assert flat_messages["cmc/portfolio/change_24h_pct"] == "0.00"


def test_holdings_change_at_run_time() -> None:
    holdings = Holdings({1: D("0.5"), 74: D(0)})
    assert holdings.snapshot() == {1: D("0.5")}
    holdings.replace({1027: D(2), 1: D(0)})
    assert holdings.snapshot() == {1027: D(2)}
