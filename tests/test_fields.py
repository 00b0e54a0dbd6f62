from __future__ import annotations

import dataclasses

import pytest

from cmc_mqtt.fields import FIELD_KEYS, FIELDS, FieldKind, price_precision

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
