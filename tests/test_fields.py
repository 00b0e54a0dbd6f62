from __future__ import annotations

import dataclasses
import importlib.util
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from cmc_mqtt.displays.text import format_price
from cmc_mqtt.model.coins import BUNDLED_COINS
from cmc_mqtt.model.fields import FIELD_KEYS, FIELDS, FieldKind, price_precision
from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.currency import (
    CURRENCIES,
    FIELD_AMOUNTS,
    AmountKind,
    converted_key,
    converted_text,
    currency,
    decimals,
)
from cmc_mqtt.money.portfolio import PERCENT_PLACES, Holdings
from cmc_mqtt.money.rate import FxSettings, make_keeper
from cmc_mqtt.money.valuation import Valuation

# The 13 numeric fields of market@crypto_latest_price, as documented.
PROTOCOL_FIELDS = [
    "p",
    "vu",
    "mc",
    "cs",
    "p24h",
    "p7d",
    "p30d",
    "p60d",
    "p3m",
    "p1y",
    "pytd",
    "pall",
    "fdv24h",
]


def test_table_covers_exactly_the_protocol_fields_in_order() -> None:
    assert list(FIELD_KEYS) == PROTOCOL_FIELDS


@pytest.mark.parametrize("attr", ["key", "name", "short"])
def test_table_ids_and_labels_are_unique(attr: str) -> None:
    values = [getattr(f, attr) for f in FIELDS]
    assert len(values) == len(set(values))


def test_every_row_is_complete() -> None:
    for field in FIELDS:
        for item in dataclasses.fields(field):
            value = getattr(field, item.name)
            if item.name == "precision" and field.kind is FieldKind.PRICE:
                assert value is None  # decided from the price itself
            elif item.name != "minimum":
                assert value not in (None, ""), (field.key, item.name)
        assert field.icon.startswith("mdi:")


def test_default_enabled_fields_are_price_change_cap_and_volume() -> None:
    assert {f.key for f in FIELDS if f.enabled_by_default} == {"p", "p24h", "mc", "vu"}


@pytest.mark.parametrize(
    ("price", "decimals"),
    [(81187.93, 2), (1.0, 2), (0.7419, 4), (0.2141, 4), (0.01, 5), (0.00001234, 8), (0.0, 2)],
)
def test_price_precision_keeps_cents_above_a_dollar_and_digits_below(
    price: float, decimals: int
) -> None:
    assert price_precision(price) == decimals


def _integration_fields(name: str = "fields") -> ModuleType:
    """The integration's own table, loaded from its file: its package imports Home Assistant,
    the table itself does not."""
    path = Path(__file__).resolve().parent.parent / f"custom_components/cmc_mqtt/{name}.py"
    spec = importlib.util.spec_from_file_location(f"cmc_mqtt_integration_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while they are made
    spec.loader.exec_module(module)
    return module


def test_the_integrations_coin_names_are_the_bundled_table() -> None:
    known = _integration_fields().KNOWN_COINS
    assert known == {c.id: (c.name, c.symbol, c.slug) for c in BUNDLED_COINS.values()}


@pytest.mark.parametrize("price", [81187.93, 1.0, 0.99996, 0.2141, 0.00001234, 1e-14, 0.0, -1.0])
def test_the_integration_and_the_ticker_round_prices_alike(price: float) -> None:
    decimals = _integration_fields().price_precision(price)
    assert decimals == price_precision(price)
    if 0 < price < 1 and round(price, decimals) < 1:
        assert format_price(price) == f"${price:.{decimals}f}"


# --- the integration's copy of the money tables (custom_components/cmc_mqtt/money.py) ---------


def test_the_integration_converts_the_fields_the_bridge_converts() -> None:
    money = _integration_fields("money")
    assert {key: kind.value for key, kind in FIELD_AMOUNTS.items()} == money.AMOUNT_FIELDS
    ours = _integration_fields()
    assert set(money.AMOUNT_FIELDS) == {f.key for f in ours.FIELDS if f.unit == "USD"}


def test_the_integration_knows_each_currencys_minor_units() -> None:
    money = _integration_fields("money")
    for code, known in CURRENCIES.items():
        assert money.minor_units(code) == known.minor_units, code
    assert money.minor_units("XYZ") == currency("XYZ").minor_units  # any other code
    assert money.PERCENT_PLACES == PERCENT_PLACES


@pytest.mark.parametrize("code", ["EUR", "JPY", "KWD", "CHF"])
@pytest.mark.parametrize("usd", ["81187.93284788371", "1.0000", "0.2141253679644425", "0.00001234"])
def test_a_converted_prices_text_says_its_precision(code: str, usd: str) -> None:
    """The integration takes a converted price's precision from the bridge's text: it is the
    precision the bridge's discovery states for the same price."""
    money = _integration_fields("money")
    cur = CURRENCIES[code]
    rate = Decimal("0.9213")
    text = converted_text(usd, rate, cur, AmountKind.PRICE)
    expected = decimals(Decimal(usd) * rate, cur, AmountKind.PRICE)
    assert money.text_places(Decimal(text)) == expected


def test_the_integration_names_the_bridges_money_topics() -> None:
    money = _integration_fields("money")
    eur = money.Money("EUR", "EUR", (1,))
    topics = Topics("cmc")
    valuation = Valuation(
        topics, CURRENCIES["EUR"], keeper=make_keeper(FxSettings("EUR")), holdings=Holdings(),
        texts=lambda _cid: None,
    )  # fmt: skip
    assert eur.converted_key("p") == converted_key("p", CURRENCIES["EUR"])
    assert eur.fx_status_topic("cmc") == valuation.fx_status_topic
    assert f"cmc/1/{eur.value_key()}" == topics.coin_value(1, "EUR")
    assert [f"cmc/portfolio/{key}" for key in eur.portfolio_keys()] == [
        topics.portfolio_value("EUR"), topics.portfolio_change("EUR"),
        topics.portfolio("change_24h_pct")]  # fmt: skip
    # the integration's portfolio device level:
    assert topics.portfolio("status") == "cmc/portfolio/status"
