"""A stream outage in the log (#22): a warning when it starts, INFO lines about 1, 5, 15 and 60
minutes in and hourly after, each saying how long the outage has truly lasted, one line when it
ends. The log's own clock is set by the test; the session's use of it runs over real sockets in
test_session.py."""

from __future__ import annotations

import logging

import pytest

from cmc_mqtt.errors import StreamError
from cmc_mqtt.stream.outage import OutageLog, describe_duration, next_report_after

CAUSE = StreamError("cannot connect: connection refused")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outage_begun(index: int) -> tuple[OutageLog, Clock, float]:
    """A log whose connection `index` failed just now, its clock, and when the outage began."""
    clock = Clock()
    log = OutageLog(index, clock=clock)
    log.failed(CAUSE, next_attempt_in=1.0)
    return log, clock, clock.now


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "0 s"),
        (45.9, "45 s"),
        (60.2, "1 min"),
        (102.0, "1 min 42 s"),
        (300.0, "5 min"),
        (3599.0, "59 min 59 s"),
        (3600.5, "1 h"),
        (5400.0, "1 h 30 min"),
        (7260.0, "2 h 1 min"),
    ],
)
def test_durations_read_as_a_person_writes_them(seconds: float, text: str) -> None:
    assert describe_duration(seconds) == text


@pytest.mark.parametrize(
    ("elapsed", "due"),
    [
        (0.0, 60.0),
        (59.9, 60.0),
        (60.0, 300.0),
        (102.0, 300.0),
        (400.0, 900.0),
        (900.0, 3600.0),
        (3600.0, 7200.0),
        (7199.0, 7200.0),
        (7200.0, 10800.0),
    ],
)
def test_reports_are_due_1_5_15_and_60_minutes_in_then_hourly(elapsed: float, due: float) -> None:
    assert next_report_after(elapsed) == due


def test_an_outage_is_reported_at_the_documented_times_with_its_true_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log, clock, start = outage_begun(3)
    assert lines(caplog, logging.WARNING) == [
        "stream connection 3 failed: cannot connect: connection refused; reconnecting with backoff"
    ]
    reported = []
    for seconds in range(1, 2 * 3600 + 2):  # asked once a second, as a waiting session may
        clock.now = start + seconds
        before = len(caplog.records)
        log.report_if_due(next_attempt_in=30.0)
        if len(caplog.records) > before:
            reported.append(seconds)
    assert reported == [60, 300, 900, 3600, 7200]
    assert lines(caplog, logging.INFO)[:2] == [
        "stream connection 3 still down after 1 min: cannot connect: connection refused; "
        "next attempt in 30 s",
        "stream connection 3 still down after 5 min: cannot connect: connection refused; "
        "next attempt in 30 s",
    ]
    assert len(lines(caplog, logging.WARNING)) == 1  # further failures are not warnings


def test_a_report_held_up_by_an_attempt_says_the_true_duration_and_makes_up_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log, clock, start = outage_begun(0)
    clock.now = start + 102  # a handshake blocked past the 1-minute report
    log.report_if_due()
    clock.now = start + 400  # and another one past the 5-minute report
    log.report_if_due(next_attempt_in=42.0)
    log.report_if_due(next_attempt_in=42.0)  # no burst for the missed one
    assert lines(caplog, logging.INFO) == [
        "stream connection 0 still down after 1 min 42 s: cannot connect: connection refused; "
        "trying again now",
        "stream connection 0 still down after 6 min 40 s: cannot connect: connection refused; "
        "next attempt in 42 s",
    ]
    assert log.next_report_at == start + 900


def test_the_end_of_an_outage_says_how_long_it_lasted_and_stops_the_reports(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert not OutageLog(1).ended()  # no outage, nothing to say
    log, clock, start = outage_begun(1)
    refused = StreamError("CoinMarketCap rejected the API key as invalid.", permanent=True)
    log.refused(refused)  # the cause reported from now on
    clock.now = start + 61
    log.report_if_due(next_attempt_in=539.0)
    clock.now = start + 185
    assert log.ended()
    clock.now = start + 300
    log.report_if_due(next_attempt_in=1.0)
    assert lines(caplog, logging.INFO) == [
        "stream connection 1 still down after 1 min 1 s: CoinMarketCap rejected the API key as "
        "invalid.; next attempt in 8 min 59 s",
        "stream connection 1 restored after 3 min 5 s",
    ]
    assert not log.active
