"""The Portfolio device's sensors keep long-term statistics in a real Home Assistant: its
recorder (SQLite in memory) records the states that discovery and the bridge's own portfolio
code produce, compiles a 5-minute period, and the statistics are there.

The attributes alone (test_money_in_ha) only say Home Assistant *should* keep statistics; a
state class its device class refuses, a unit it cannot convert, or a state that is no number
would still pass there and show up here as missing rows, a warning, or a validation issue.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder, get_instance, statistics
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from .helpers import discover_money, entity_state

VALUE = "sensor.portfolio_value_eur"
CHANGE = "sensor.portfolio_change_24h_eur"
PERCENT = "sensor.portfolio_change_24h"
#: Where Home Assistant says a sensor's statistics cannot be kept (state class against device
#: class, unit changes, states that are no number).
STATISTICS_LOGGERS = ("homeassistant.components.sensor", "homeassistant.components.recorder")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder's database is prepared before the `hass` fixture starts Home Assistant
    (the harness asserts that order), so here the conftest's autouse fixture, which needs
    `hass`, first asks for the recorder."""


def period_start(moment: datetime) -> datetime:
    """The 5-minute statistics period that holds this moment."""
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


async def compiled(hass: HomeAssistant, start: datetime, *ids: str) -> dict[str, Any]:
    """The 5-minute statistics of these sensors from `start`, read from the database (on the
    recorder's own thread, as Home Assistant reads it)."""
    rows: dict[str, Any] = await get_instance(hass).async_add_executor_job(
        statistics.statistics_during_period,
        hass,
        start,
        None,
        set(ids),
        "5minute",
        None,
        {"state", "sum", "mean", "min", "max"},
    )
    return rows


async def test_the_portfolio_keeps_long_term_statistics(
    hass: HomeAssistant,
    mqtt_ready: None,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every state arrives at one frozen instant, so all of them fall in one period.
    sent = await discover_money(hass)
    await async_wait_recording_done(hass)
    start = period_start(entity_state(hass, VALUE).last_updated)
    assert entity_state(hass, PERCENT).last_updated < start + timedelta(minutes=5)
    freezer.move_to(start + timedelta(minutes=5))  # the period is over, as when HA compiles it
    do_adhoc_statistics(hass, start=start)
    await async_wait_recording_done(hass)

    rows = await compiled(hass, start, VALUE, CHANGE, PERCENT)
    for amount in (VALUE, CHANGE):  # monetary, state class total: a state and a running sum
        assert len(rows.get(amount, [])) == 1, (amount, rows)
        row = rows[amount][0]
        assert row["start"] == start.timestamp()
        assert row["state"] == pytest.approx(float(entity_state(hass, amount).state))
        assert row["sum"] == 0  # the first period of a total starts its sum
    assert rows[VALUE][0]["state"] == pytest.approx(float(sent["cmc/portfolio/value_eur"]))
    assert len(rows.get(PERCENT, [])) == 1, rows  # measurement: mean, min and max
    pct = float(sent["cmc/portfolio/change_24h_pct"])
    assert [rows[PERCENT][0][k] for k in ("mean", "min", "max")] == pytest.approx([pct] * 3)

    metadata = await get_instance(hass).async_add_executor_job(
        lambda: statistics.get_metadata(hass, statistic_ids={VALUE, CHANGE, PERCENT})
    )
    units = {
        sid: (meta["unit_of_measurement"], meta["has_sum"]) for sid, (_, meta) in metadata.items()
    }
    assert units == {VALUE: ("EUR", True), CHANGE: ("EUR", True), PERCENT: ("%", False)}

    # Home Assistant's own check (Developer tools > Statistics) finds nothing to fix.
    issues = await get_instance(hass).async_add_executor_job(statistics.validate_statistics, hass)
    assert dict(issues) == {}
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name.startswith(STATISTICS_LOGGERS)
    ]
    assert warnings == []
    assert "impossible" not in caplog.text
