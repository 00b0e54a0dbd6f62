"""Ticker text formats: table-driven over the awkward cases."""

from __future__ import annotations

import pytest

from cmc_mqtt.coins import coin_info
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.text import (
    DEFAULT_TEMPLATE,
    check_template,
    format_compact,
    format_price,
    render,
)


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
