"""The one amount parser: every amount from outside is exact, bounded, or refused in one line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cmc_mqtt.errors import ConfigError
from cmc_mqtt.model.bounds import HOLDING_PLACES, MAX_HOLDING, parse_amount, shown


def holding(value: object) -> Decimal:
    return parse_amount(value, "holdings.1", maximum=MAX_HOLDING, places=HOLDING_PLACES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.25", "0.25"),
        (0.1, "0.1"),
        (2, "2"),
        ("1e3", "1000"),
        ("1.5E2", "150"),
        (" 7 ", "7"),
        ("0.123456789012345678", "0.123456789012345678"),
        ("1.10", "1.10"),
        (Decimal("3"), "3"),
        ("1e18", "1000000000000000000"),
    ],
)
def test_amounts_in_range_are_exact(value: object, expected: str) -> None:
    assert f"{holding(value):f}" == expected


@pytest.mark.parametrize(
    "value",
    [
        "1e2000000",
        "1e60",
        1e60,
        pytest.param(10**5000, id="int-of-5000-digits"),
        "-1",
        "NaN",
        float("inf"),
        "Infinity",
        True,
        None,
        [1],
        "0x10",
        "1" * 65,
        "0.1234567890123456789",
        "1e-19",
        Decimal("NaN"),
    ],
)
def test_amounts_out_of_range_are_refused_in_one_short_line(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        holding(value)
    (line,) = caught.value.problems
    assert line.startswith("holdings.1: expected")
    assert len(line) < 160


def test_positive_refuses_zero() -> None:
    with pytest.raises(ConfigError):
        parse_amount(0, "alerts[0].price", maximum=Decimal(10), places=2, positive=True)


def test_a_refused_value_is_repeated_cut_short() -> None:
    assert shown("x" * 1000).endswith("...")
    assert len(shown("x" * 1000)) == 40
    assert "bits" in shown(10**5000)
