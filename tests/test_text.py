"""Ticker text formats: table-driven over the awkward cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cmc_mqtt.displays.text import (
    DEFAULT_TEMPLATE,
    MoneyValues,
    TextTemplate,
    check_template,
    format_compact,
    format_money,
    format_price,
    render,
)
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.model.coins import coin_info
from cmc_mqtt.money.currency import CURRENCIES, USD, AmountKind


@pytest.mark.parametrize(
    ("price", "text"),
    [
        (81187.93284788371, "$81,187.93"),
        (1234567.891, "$1,234,567.89"),
        (1.0, "$1.00"),
        (0.999996, "$1.00"),  # rounds up to a dollar: shown as dollars and cents
        (0.7419623, "$0.7420"),
        (0.2141253679644425, "$0.2141"),
        (0.01, "$0.01000"),
        (0.00001234, "$0.00001234"),
        (0.000000001234, "$0.000000001234"),
        (0.0, "$0.00"),
    ],
)
def test_prices_keep_cents_above_a_dollar_and_four_digits_below(price: float, text: str) -> None:
    assert format_price(price) == text


@pytest.mark.parametrize(
    ("value", "dollars", "text"),
    [
        (1626089237758.01, True, "$1.63T"),
        (29932025976.79, True, "$29.93B"),
        (858394308.22, True, "$858.39M"),
        (51234.5, True, "$51.23K"),
        (999.5, True, "$999.50"),
        (20028706, False, "20.03M"),
        (148000000000, False, "148.00B"),
        (-2.5e9, True, "-$2.50B"),
    ],
)
def test_large_amounts_are_compact(value: float, dollars: bool, text: str) -> None:
    assert format_compact(value, dollars=dollars) == text


@pytest.mark.parametrize(
    ("numbers", "text"),
    [
        ({"p": 81187.93284788371, "p24h": 0.534347439686}, "BTC $81,187.93 ▲0.53%"),
        ({"p": 81187.93, "p24h": -27.102814582391}, "BTC $81,187.93 ▼27.10%"),
        ({"p": 81187.93, "p24h": 0.0}, "BTC $81,187.93 ▬0.00%"),
        ({"p": 81187.93}, "BTC $81,187.93 \u2013"),  # a null change shows as a dash, not 0
        ({}, "BTC \u2013 \u2013"),
    ],
)
def test_default_template(numbers: dict[str, float], text: str) -> None:
    assert render(DEFAULT_TEMPLATE, coin_info(1), numbers) == text


def test_every_field_and_name_can_be_placed() -> None:
    numbers = {"p": 0.2141, "mc": 31690554458.74, "cs": 148e9, "p7d": -1.5, "pall": 418128.64}
    text = render("{name}|{symbol}|{id}|{price}|{mc}|{cs}|{p7d}|{pall}|{change_signed}",
                  coin_info(74), numbers)  # fmt: skip
    assert text == "Dogecoin|DOGE|74|$0.2141|$31.69B|148.00B|-1.50%|+418128.64%|\u2013"


@pytest.mark.parametrize(
    ("template", "problem"),
    [("{sym}", "unknown placeholder {sym}"), ("{price", "text.template:"), ("{0}", "{0}")],
)
def test_bad_templates_are_config_errors(template: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_template(template, "text.template")
    assert problem in info.value.problems[0]


# --- in the user's currency ---

EUR, JPY, SEK = (CURRENCIES[c] for c in ("EUR", "JPY", "SEK"))
BTC_USD = {"p": 81187.93284788371, "p24h": 0.534347439686, "vu": 29932025976.79}


def eur_fields(**fields: str) -> MoneyValues:
    return MoneyValues(EUR, {key: Decimal(text) for key, text in fields.items()})


@pytest.mark.parametrize(
    ("template", "money", "text"),
    [
        (DEFAULT_TEMPLATE, eur_fields(p="74692.8982200530132"), "BTC €74,692.90 ▲0.53%"),
        (DEFAULT_TEMPLATE, MoneyValues(EUR, {}), "BTC \u2013 ▲0.53%"),  # no fresh rate: a dash
        (DEFAULT_TEMPLATE, MoneyValues(EUR), "BTC \u2013 ▲0.53%"),  # EUR never shows USD numbers
        ("{price}", MoneyValues(JPY, {"p": Decimal("12584129.59")}), "¥12,584,130"),
        ("{price}", MoneyValues(SEK, {"p": Decimal("860000.5")}), "860,000.50 kr"),
        ("{p}", eur_fields(p="0.19699533852"), "€0.1970"),
        ("{p}", eur_fields(p="0.999996"), "€1.00"),
        (
            "{vu} {mc}",
            eur_fields(vu="27537463898.6468", mc="1496002098737.3692"),
            "€27.54B €1.50T",
        ),
        ("{mc}", MoneyValues(SEK, {"mc": Decimal("1.5e12")}), "1.50T kr"),
        ("{vu}", MoneyValues(JPY, {"vu": Decimal("999.5")}), "¥1,000"),  # no minor units
        ("{cs} {p24h}", eur_fields(), "\u2013 +0.53%"),  # not money: as before
    ],
)
def test_money_placeholders_in_another_currency(
    template: str, money: MoneyValues, text: str
) -> None:
    assert render(template, coin_info(1), BTC_USD, money) == text


def test_value_and_portfolio_placeholders() -> None:
    template = "{symbol} {value} of {portfolio} ({portfolio_change})"
    money = MoneyValues(
        EUR, {}, Decimal("18673.224555"), Decimal("18870.2198935"), Decimal("0.5127")
    )
    assert render(template, coin_info(1), BTC_USD, money) == "BTC €18,673.22 of €18,870.22 (+0.51%)"
    assert render(template, coin_info(1), BTC_USD) == "BTC \u2013 of \u2013 (\u2013)"
    usd = MoneyValues(value=Decimal("8118.793"), portfolio=Decimal("-0.004"))
    assert render("{price} {value} {portfolio}", coin_info(1), BTC_USD, usd) == (
        "$81,187.93 $8,118.79 $0.00"
    )


@pytest.mark.parametrize(
    "text",
    ["81187.93284788371", "1234567.891", "1.0", "0.999996", "0.7419623", "0.2141253679644425",
     "0.01", "0.00001234", "0.000000001234", "0.0"],
)  # fmt: skip
def test_usd_decimals_are_shown_as_the_usd_floats_are(text: str) -> None:
    assert format_money(Decimal(text), USD, AmountKind.PRICE) == format_price(float(text))


@pytest.mark.parametrize(
    "text", ["1626089237758.01", "29932025976.79", "858394308.22", "51234.5", "999.5", "-2.5e9"]
)
def test_usd_decimal_amounts_are_compact_as_before(text: str) -> None:
    assert format_money(Decimal(text), USD, AmountKind.MARKET) == format_compact(
        float(text), dollars=True
    )


@pytest.mark.parametrize(
    "template",
    [DEFAULT_TEMPLATE, "{symbol:>6}|{price!s}|{{literal}}", "{name}: {change_signed} {mc}", "x"],
)
def test_the_parts_join_to_the_rendered_text(template: str) -> None:
    template_ = TextTemplate(template)
    parts = template_.render_parts(coin_info(1), BTC_USD)
    assert "".join(text for text, _ in parts) == template_.render(coin_info(1), BTC_USD)
    names = [name for _, name in parts if name is not None]
    assert set(names) == template_.names


def test_the_default_template_in_parts() -> None:
    parts = TextTemplate(DEFAULT_TEMPLATE).render_parts(coin_info(1), BTC_USD)
    assert parts == [("BTC", "symbol"), (" ", None), ("$81,187.93", "price"), (" ", None),
                     ("▲", "arrow"), ("0.53%", "change")]  # fmt: skip
