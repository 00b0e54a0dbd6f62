"""Converted amounts: exact decimal texts, rounding per currency and kind, symbol placement."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cmc_mqtt.model.fields import FIELDS, FieldKind, price_precision
from cmc_mqtt.money.currency import (
    CURRENCIES,
    FIELD_AMOUNTS,
    USD,
    AmountKind,
    Currency,
    amount_text,
    convert,
    converted_fields,
    converted_key,
    converted_text,
    currency,
    decimals,
    grouped,
    round_amount,
    to_decimal,
)

EUR, JPY, KWD, SEK, CHF = (CURRENCIES[c] for c in ("EUR", "JPY", "KWD", "SEK", "CHF"))
PRICE, MARKET, HOLDING = AmountKind.PRICE, AmountKind.MARKET, AmountKind.HOLDING


@pytest.mark.parametrize(
    ("usd", "rate", "cur", "kind", "text"),
    [
        # The exact product rounded once: 81187.93284788371 * 0.92 = 74692.8982200530132
        ("81187.93284788371", "0.92", EUR, PRICE, "74692.90"),
        ("81187.93284788371", "0.92", EUR, MARKET, "74693"),
        ("81187.93284788371", "0.92", EUR, HOLDING, "74692.90"),
        ("81187.93284788371", "155", JPY, PRICE, "12584130"),  # 12584129.59...: no minor units
        ("81187.93284788371", "0.30712", KWD, PRICE, "24934.438"),  # three minor units
        # Below one unit: four significant digits, never fewer than the minor units.
        ("0.2141253679644425", "0.92", EUR, PRICE, "0.1970"),
        ("0.00001234", "0.92", EUR, PRICE, "0.00001135"),
        ("0.2141253679644425", "155", JPY, PRICE, "33"),  # 33.18...: a yen price above 1
        ("0.001", "155", JPY, PRICE, "0.1550"),
        ("0.001", "0.30712", KWD, PRICE, "0.0003071"),
        ("0.000000001234", "1", USD, PRICE, "0.000000001234"),
        ("0.0000000000001", "1", USD, PRICE, "0.000000000000"),  # the 12-decimal cap
        # Just under one unit rounding up to 1 is a price of 1: the minor units.
        ("0.999996", "1", USD, PRICE, "1.00"),
        ("1.0869565", "0.92", EUR, PRICE, "1.00"),  # 0.99999998
        # Market amounts in whole units; a float of the same would show artefacts.
        ("1626089237758.01", "0.92", EUR, MARKET, "1496002098737"),
        ("858394308.22", "0.79", CURRENCIES["GBP"], MARKET, "678131503"),
        ("0.4", "1", USD, MARKET, "0"),
        # Holdings keep cents, half to even: 0.125 -> 0.12, 0.135 -> 0.14.
        ("0.125", "1", USD, HOLDING, "0.12"),
        ("0.135", "1", USD, HOLDING, "0.14"),
        ("0", "0.92", EUR, PRICE, "0.00"),
        ("1.6e3", "0.5", EUR, PRICE, "800.00"),  # an exponent in the text is fine
    ],
)
def test_converted_texts_are_exact_and_rounded_per_currency_and_kind(
    usd: str, rate: str, cur: Currency, kind: AmountKind, text: str
) -> None:
    assert converted_text(usd, Decimal(rate), cur, kind) == text


def test_the_product_is_exact_before_rounding() -> None:
    assert convert("81187.93284788371", Decimal("0.92")) == Decimal("74692.8982200530132")
    assert convert("0.1", Decimal("3")) == Decimal("0.3")
    assert 0.1 * 3 != 0.3  # 0.30000000000000004 in floats


@pytest.mark.parametrize("price", ["0.7419623", "0.2141253679644425", "0.01", "0.00001234"])
def test_usd_prices_below_a_dollar_keep_the_digits_home_assistant_is_told(price: str) -> None:
    assert decimals(Decimal(price), USD, PRICE) == price_precision(float(price))


def test_no_negative_zero() -> None:
    assert amount_text(round_amount(Decimal("-0.001"), EUR, HOLDING)) == "0.00"
    assert amount_text(round_amount(Decimal("-0.4"), EUR, MARKET)) == "0"


@pytest.mark.parametrize(
    ("cur", "number", "text"),
    [
        (USD, "81,187.93", "$81,187.93"),
        (EUR, "74,692.90", "€74,692.90"),
        (EUR, "-2.50", "-€2.50"),
        (JPY, "12,584,130", "¥12,584,130"),
        (CHF, "12.50", "CHF 12.50"),  # a word gets a space
        (CHF, "-12.50", "-CHF 12.50"),
        (SEK, "12.50", "12.50 kr"),  # written after, with a space
        (SEK, "-12.50", "-12.50 kr"),
        (CURRENCIES["BRL"], "5.10", "R$5.10"),
        (CURRENCIES["ZAR"], "5.10", "R 5.10"),
        (currency("xyz"), "5.10", "XYZ 5.10"),  # not in the table: its code before
        (currency("XYZ", "₮"), "5.10", "₮5.10"),  # or the fiat map's sign
    ],
)
def test_symbol_placement(cur: Currency, number: str, text: str) -> None:
    assert cur.place(number) == text


def test_currency_table_is_complete_and_keyed_by_its_codes() -> None:
    for code, cur in CURRENCIES.items():
        assert cur.code == code
        assert len(code) == 3
        assert code.isupper()
        assert cur.symbol
        assert cur.minor_units in (0, 2, 3)
    assert {c for c, cur in CURRENCIES.items() if cur.minor_units == 0} >= {"JPY", "KRW"}
    assert currency(" eur ") is EUR


def test_only_prices_and_usd_amounts_are_converted() -> None:
    assert FIELD_AMOUNTS == {"p": PRICE, "vu": MARKET, "mc": MARKET}
    assert all(f.kind in (FieldKind.PRICE, FieldKind.USD) for f in FIELDS if f.key in FIELD_AMOUNTS)


@pytest.mark.parametrize("text", ["", "abc", "NaN", "Infinity", "-inf", "1,5"])
def test_bad_texts_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError, match="number"):
        to_decimal(text)


def test_grouped() -> None:
    assert grouped(Decimal("1234567.891"), 2) == "1,234,567.89"
    assert grouped(Decimal("-0.001"), 2) == "0.00"
    assert grouped(Decimal("12584129.59"), 0) == "12,584,130"


def test_converted_fields_name_their_currency_and_leave_the_rest() -> None:
    texts = {"p": "81187.93284788371", "vu": "29932025976.79", "mc": "1626089237758.01",
             "cs": "20028706", "p24h": "0.534347439686"}  # fmt: skip
    assert converted_fields(texts, Decimal("0.92"), EUR) == {
        "p_eur": "74692.90",
        "vu_eur": "27537463899",
        "mc_eur": "1496002098737",
    }
    assert converted_key("p", JPY) == "p_jpy"
