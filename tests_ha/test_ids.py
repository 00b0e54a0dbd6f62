"""Unique ids and device identifiers: built from the prefix, read back in both schemes."""

from __future__ import annotations

import pytest

from custom_components.cmc_mqtt import ids


def test_ids_are_the_topics_of_the_prefix() -> None:
    assert ids.unique_id("office/cmc", 1, "p24h") == "office/cmc/1/p24h"
    assert ids.device_identifier("office/cmc", 1) == "office/cmc/1"
    assert ids.parse("office/cmc", "office/cmc/1/p24h") == (1, "p24h")
    assert ids.parse("office/cmc", "office/cmc/1") == (1, None)


@pytest.mark.parametrize(
    "value", ["cmc/1/p", "office/cmc/x/p", "office/cmc/1/p/q", "office/cmcx/1/p", "office/cmc/"]
)
def test_ids_of_another_scope_are_not_ours(value: str) -> None:
    assert ids.parse("office/cmc", value) is None


def test_version_1_ids_are_read() -> None:
    assert ids.parse_v1("abc", "abc_1027_p24h") == (1027, "p24h")
    assert ids.parse_v1("abc", "abc_1027") == (1027, None)
    for value in ("abd_1_p", "abc_x_p", "abc_1_P", "cmc/1/p"):
        assert ids.parse_v1("abc", value) is None
