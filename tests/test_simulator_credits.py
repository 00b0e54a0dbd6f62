"""The fake bills a key's credits like CoinMarketCap: per data message (and per subscription when
priced), a monthly allowance whose end is error 1010 and a close, restored when the month turns;
`/v1/key/info` reports what was billed."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cmc_mqtt.simulator import FakeStreamServer, Limits
from cmc_mqtt.simulator.billing import CreditLedger, countdown
from harness.helpers import TEST_API_KEY, wait_until

from .test_simulator import TurnableClock, connect, read_until_close, recv_json, request, rest_get

MAY_31 = datetime(2026, 5, 31, 22, 30, tzinfo=UTC)


def serve(limits: Limits, clock: TurnableClock) -> FakeStreamServer:
    return FakeStreamServer(
        api_key=TEST_API_KEY, fast_interval=0.05, slow_interval=0.05, limits=limits, clock=clock
    ).start()


@pytest.fixture
def clock() -> TurnableClock:
    return TurnableClock(MAY_31)


@pytest.fixture
def tiny(clock: TurnableClock) -> Iterator[FakeStreamServer]:
    """One credit a month at a quarter credit per message: four messages."""
    server = serve(Limits(monthly_credits=1, credits_per_message=0.25), clock)
    yield server
    server.stop()


def test_spent_credits_end_the_stream_with_1010_and_a_close(tiny: FakeStreamServer) -> None:
    conn = connect(tiny)
    recv_json(conn, "welcome")
    request(conn, 1, "subscribe", [1, 74])
    frames, code = read_until_close(conn)
    assert [f["type"] for f in frames] == ["data"] * 4 + ["error"]
    error = frames[-1]["status"]
    assert (error["error_code"], error["category"]) == ("1010", "AUTH")
    assert error["error_detail"] == "credit_limit_monthly=1"
    assert code == 1008
    ledger = tiny.ledger()
    assert ledger.used_month == pytest.approx(1.0)
    assert ledger.messages == 4


def test_a_spent_key_is_refused_everywhere_until_the_month_turns(
    tiny: FakeStreamServer, clock: TurnableClock
) -> None:
    conn = connect(tiny)
    recv_json(conn, "welcome")
    request(conn, 1, "subscribe", [1])
    read_until_close(conn)

    again = connect(tiny)
    frames, code = read_until_close(again)
    assert [f["status"]["error_code"] for f in frames] == ["1010"]  # no welcome
    assert code == 1008
    status, body = rest_get(tiny, "/v1/key/info")
    assert (status, body["status"]["error_code"]) == (429, 1010)
    status, body = rest_get(tiny, "/v1/cryptocurrency/map?limit=1")
    assert (status, body["status"]["error_code"]) == (429, 1010)

    clock.now = datetime(2026, 6, 1, 0, 0, 1, tzinfo=UTC)
    status, body = rest_get(tiny, "/v1/key/info")
    assert status == 200
    month = body["data"]["usage"]["current_month"]
    assert (month["credits_used"], month["credits_left"]) == (0, 1)
    fresh = connect(tiny)
    assert recv_json(fresh)["type"] == "welcome"
    fresh.close()


def test_key_info_reports_what_was_billed(clock: TurnableClock) -> None:
    server = serve(Limits(monthly_credits=100, credits_per_message=0.3), clock)
    try:
        conn = connect(server)
        recv_json(conn, "welcome")
        request(conn, 1, "subscribe", [1, 74])
        server_side = server.wait_subscribed()
        wait_until(lambda: server_side.messages_billed >= 7)
        conn.close()
        wait_until(lambda: not server.connections)  # nothing billed from here on
        ledger = server.ledger()
        billed = server_side.messages_billed
        assert ledger.messages == billed
        assert ledger.used_month == pytest.approx(billed * 0.3)
        assert server_side.credits_billed == pytest.approx(billed * 0.3)

        status, body = rest_get(server, "/v1/key/info")
        assert status == 200
        assert body["status"]["error_code"] == 0
        assert body["status"]["credit_count"] == 0
        plan, usage = body["data"]["plan"], body["data"]["usage"]
        used = math.ceil(billed * 0.3)
        assert usage["current_month"] == {"credits_used": used, "credits_left": 100 - used}
        assert usage["current_day"]["credits_used"] == used
        assert plan["credit_limit_monthly"] == 100
        assert plan["credit_limit_monthly_reset_timestamp"] == "2026-06-01T00:00:00.000Z"
        assert plan["credit_limit_monthly_reset"] == "In 1 hour, 30 minutes"
        assert plan["credit_limit_daily_reset_timestamp"] == "2026-06-01T00:00:00.000Z"
        assert plan["rate_limit_minute"] == 30
        assert usage["current_minute"] == {"requests_made": 1, "requests_left": 29}
    finally:
        server.stop()


def test_a_new_day_restarts_the_day_count_but_not_the_month(clock: TurnableClock) -> None:
    clock.now = datetime(2026, 5, 10, 23, 0, tzinfo=UTC)
    ledger = CreditLedger(Limits, clock)
    ledger.charge(12.5)
    clock.now = datetime(2026, 5, 11, 0, 30, tzinfo=UTC)
    ledger.charge(2.0)
    assert (ledger.used_day, ledger.used_month) == (2.0, 14.5)
    usage = ledger.key_info()["usage"]
    assert usage["current_day"] == {"credits_used": 2, "credits_left": 15_000 - 2}
    assert usage["current_month"] == {"credits_used": 15, "credits_left": 450_000 - 15}


def test_a_daily_limit_when_set_refuses_with_1009_until_the_next_day(
    clock: TurnableClock,
) -> None:
    ledger = CreditLedger(lambda: Limits(daily_credits=2), clock)
    assert ledger.charge(1.5) is None
    assert ledger.charge(0.5) == "1009"
    assert ledger.refusal() == "1009"
    clock.now = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    assert ledger.refusal() is None


def test_subscriptions_cost_credits_when_priced(clock: TurnableClock) -> None:
    limits = Limits(credits_per_message=0, credits_per_subscription=0.1)
    server = FakeStreamServer(api_key=TEST_API_KEY, limits=limits, clock=clock).start()
    try:
        conn = connect(server)
        recv_json(conn, "welcome")
        request(conn, 1, "subscribe", list(range(1, 11)))
        request(conn, 2, "subscribe", [1, 2])  # duplicate: free
        request(conn, 3, "subscribe", [11])
        assert server.ledger().used_month == pytest.approx(1.1)
        conn.close()
    finally:
        server.stop()


def test_countdown_reads_like_coinmarketcaps() -> None:
    now = datetime(2026, 5, 28, 4, 4, tzinfo=UTC)
    assert countdown(now, datetime(2026, 6, 1, tzinfo=UTC)) == "In 3 days, 19 hours, 56 minutes"
    assert countdown(now, datetime(2026, 5, 28, 5, 5, tzinfo=UTC)) == "In 1 hour, 1 minute"


def test_rest_calls_spend_the_same_credits_as_the_stream(clock: TurnableClock) -> None:
    server = serve(Limits(monthly_credits=2, credits_per_message=0), clock)
    try:
        conn = connect(server)
        recv_json(conn, "welcome")
        status, body = rest_get(server, "/v2/tools/price-conversion?amount=1&id=1&convert=EUR,GBP")
        assert (status, body["status"]["credit_count"]) == (200, 2)
        frames, code = read_until_close(conn)  # the last credit went on that call
        assert [f["status"]["error_code"] for f in frames if f["type"] == "error"] == ["1010"]
        assert code == 1008
    finally:
        server.stop()
