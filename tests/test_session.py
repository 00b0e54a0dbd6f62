"""One stream connection's failure policy, against the fake server over real sockets."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

import pytest
from pytest_mock import MockerFixture

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.errors import StreamError
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.stream import outage, ws_adapter
from cmc_mqtt.stream.frames import Ack, QuoteFrame
from cmc_mqtt.stream.session import StreamSession, StreamTimings
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY, wait_until

from .conftest import FAST_TIMINGS

StartBridge = Callable[..., Bridge]


class RecordingSink:
    """Stands in for the bridge state and the pool when only one connection is under test."""

    def __init__(self) -> None:
        self.quotes: list[QuoteFrame] = []
        self.online: list[bool] = []
        self.malformed = 0
        self.rejected = 0
        self.errors = 0
        self.changed = threading.Event()
        self.acks: list[tuple[Ack, bool | None]] = []
        self.limited: list[tuple[tuple[int, ...], int | None]] = []

    def apply_quote(self, frame: QuoteFrame, *, hold: bool = False) -> bool:
        self.quotes.append(frame)
        self.changed.set()
        return True

    def release_held(self) -> None:
        pass

    def session_online(self, _session: StreamSession, online: bool) -> None:
        self.online.append(online)

    def session_acked(self, _session: StreamSession, ack: Ack, per_request: bool | None) -> None:
        self.acks.append((ack, per_request))

    def session_limited(
        self, _session: StreamSession, refused: tuple[int, ...], limit: int | None
    ) -> None:
        self.limited.append((refused, limit))

    def session_refused(self, _session: StreamSession, _error: StreamError) -> bool:
        return False

    def count_malformed(self) -> None:
        self.malformed += 1

    def count_rejected_field(self) -> None:
        self.rejected += 1

    def count_server_error(self) -> None:
        self.errors += 1


def client_for(
    stream: FakeStreamServer,
    key: str = TEST_API_KEY,
    timings: StreamTimings = FAST_TIMINGS,
    ids: tuple[int, ...] = (1, 1027),
) -> tuple[StreamSession, RecordingSink]:
    sink = RecordingSink()
    session = StreamSession(
        0, url=stream.url, api_key=Secret(key), ids=ids, sink=sink, events=sink, timings=timings
    )
    return session, sink


@pytest.mark.parametrize("fast", [True, False], ids=["read-ahead", "public-api"])
def test_subscribes_with_the_key_header_and_pings_on_the_welcome_cadence(
    stream: FakeStreamServer, fast: bool, mocker: MockerFixture
) -> None:
    assert ws_adapter._read_ahead_works()  # this websocket-client is the one the adapter knows
    mocker.patch.object(ws_adapter, "fast_path", fast)
    install = mocker.spy(ws_adapter, "install_read_ahead")
    stream.behaviour.ping_interval_ms = 1000  # clamped minimum
    client, sink = client_for(stream)
    client.start()
    try:
        conn = stream.wait_subscribed()
        assert conn.headers["x-cmc_pro_api_key"] == TEST_API_KEY
        subscribe = conn.requests[0]
        assert subscribe["method"] == "subscribe"
        assert subscribe["channel"] == "market@crypto_latest_price"
        assert subscribe["params"] == {"crypto_ids": [1, 1027]}
        wait_until(lambda: sum(r["method"] == "ping" for r in conn.requests) >= 2, timeout=5)
        assert sink.online == [True]
        assert client.sub_count == 2  # counted per id by default
        assert client.sub_limit == 100
        assert sink.acks[0][1] is False  # not counted per request
        wait_until(lambda: sink.quotes)
        assert client.messages >= 1
        assert install.spy_return is fast
    finally:
        client.stop()


@pytest.mark.parametrize("code", [4100, 4101, 4102, 4004])
def test_permanent_close_codes_are_not_retried_soon(
    stream: FakeStreamServer, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    stream.behaviour.close_after_welcome = code
    client, _ = client_for(stream)
    client.start()
    try:
        wait_until(lambda: client.retry_delay is not None)
        assert client.retry_delay == 600.0
        assert client.last_error is not None
        assert client.last_error.permanent
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert "Retrying in 10 minutes" in errors[0].getMessage()
        # A transient failure would have been retried within 0.5 s; this one waits.
        assert not stream.wait_for(lambda: stream.accepted > 1, timeout=1.5)
    finally:
        client.stop()


def test_an_invalid_key_is_permanent(stream: FakeStreamServer) -> None:
    client, _ = client_for(stream, key="wrong-key")
    client.start()
    try:
        wait_until(lambda: client.retry_delay is not None)
        assert client.last_error is not None
        assert client.last_error.permanent
        assert "API key" in str(client.last_error)
        assert "wrong-key" not in str(client.last_error)
    finally:
        client.stop()


@pytest.mark.parametrize("code", ["1001", "1002", "1004", "1010"])
def test_auth_error_frames_are_permanent(stream: FakeStreamServer, code: str) -> None:
    stream.behaviour.subscribe_error = code
    client, sink = client_for(stream)
    client.start()
    try:
        wait_until(lambda: client.retry_delay is not None)
        assert client.last_error is not None
        assert client.last_error.permanent
        assert client.last_error.code == code
        assert sink.errors == 1
    finally:
        client.stop()


def test_transient_errors_back_off_and_recover(stream: FakeStreamServer) -> None:
    stream.behaviour.subscribe_error = "5001"
    client, sink = client_for(stream)
    client.start()
    try:
        stream.wait_for(lambda: stream.accepted >= 3)
        assert client.last_error is not None
        assert not client.last_error.permanent
        assert client.retry_delay is not None
        assert client.retry_delay <= FAST_TIMINGS.backoff_cap
        stream.behaviour.subscribe_error = None
        wait_until(lambda: True in sink.online)
    finally:
        client.stop()


def test_late_welcome_and_unanswered_upgrade_are_survived(stream: FakeStreamServer) -> None:
    stream.behaviour.answer_upgrade = False
    timings = StreamTimings(connect_timeout=0.5, recv_timeout=0.1, backoff_initial=0.05,
                            backoff_cap=0.2, welcome_timeout=0.5)  # fmt: skip
    client, sink = client_for(stream, timings=timings)
    client.start()
    try:
        stream.wait_for(lambda: stream.accepted >= 2)
        assert not sink.online or True not in sink.online
        stream.behaviour.answer_upgrade = True
        stream.behaviour.welcome_delay = 1.0  # longer than welcome_timeout: subscribe anyway
        wait_until(lambda: True in sink.online, timeout=10)
        wait_until(lambda: sink.quotes)
    finally:
        client.stop()


def test_stop_is_prompt_even_while_connecting(stream: FakeStreamServer) -> None:
    stream.behaviour.answer_upgrade = False
    timings = StreamTimings(connect_timeout=30.0)
    client, _ = client_for(stream, timings=timings)
    client.start()
    stream.wait_for(lambda: stream.accepted >= 1)
    client.stop(timeout=1.0)
    assert client._thread is not None
    assert not client._thread.is_alive()


def test_a_long_outage_is_reported_at_growing_intervals(
    stream: FakeStreamServer, mocker: MockerFixture, caplog: pytest.LogCaptureFixture
) -> None:
    mocker.patch.object(outage, "OUTAGE_REPORTS", (0.3, 0.6, 0.9, 1.2))
    stream.behaviour.subscribe_error = "5001"  # every attempt fails, transiently
    client, _ = client_for(stream)
    client.start()
    try:
        wait_until(lambda: "still down after" in caplog.text, timeout=10)
        wait_until(lambda: caplog.text.count("still down after") >= 3, timeout=10)
    finally:
        client.stop()
    reports = [r for r in caplog.records if "still down after" in r.getMessage()]
    assert all(r.levelno == logging.INFO for r in reports)
    assert "subscribe refused with error 5001" in reports[0].getMessage()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "failed" in r.message]
    assert len(warnings) == 1


def test_outage_reports_come_on_time_while_the_session_waits_to_retry(
    stream: FakeStreamServer, mocker: MockerFixture, caplog: pytest.LogCaptureFixture
) -> None:
    """The reports are due at fixed times into the outage, not when an attempt happens to fail
    (#22: the first came at 1 min 42 s): with a wait between attempts longer than the whole
    schedule, they all come within that wait, before the second attempt."""
    mocker.patch.object(outage, "OUTAGE_REPORTS", (0.3, 0.6, 0.9, 1.2))
    stream.behaviour.subscribe_error = "5001"  # every attempt fails, transiently
    timings = replace(FAST_TIMINGS, backoff_initial=20.0, backoff_cap=20.0)  # waits 10-20 s
    client, _ = client_for(stream, timings=timings)
    client.start()
    try:
        wait_until(lambda: caplog.text.count("still down after") >= 3, timeout=10)
        assert stream.accepted == 1  # all three within the first wait
        assert client.attempts == 1
    finally:
        client.stop()
    reports = [r.getMessage() for r in caplog.records if "still down after" in r.getMessage()]
    assert all("subscribe refused with error 5001" in report for report in reports)
    assert all("; next attempt in " in report for report in reports)
