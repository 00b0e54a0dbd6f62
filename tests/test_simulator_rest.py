"""The fake answers CoinMarketCap's REST calls on its own port: key/info, the coin and fiat
maps, price conversion; CoinMarketCap's envelope, auth errors, paging, billing and rate limit."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cmc_mqtt.rest.names import fetch_map
from cmc_mqtt.simulator import FakeStreamServer, Limits
from cmc_mqtt.simulator.catalog import FIATS
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY

from .test_simulator import TurnableClock, rest_get

STATUS_KEYS = {"timestamp", "error_code", "error_message", "elapsed", "credit_count", "notice"}


@pytest.fixture
def clock() -> TurnableClock:
    return TurnableClock(datetime(2026, 5, 21, 1, 57, 9, 125000, tzinfo=UTC))


@pytest.fixture
def api(clock: TurnableClock) -> Iterator[FakeStreamServer]:
    server = FakeStreamServer(
        api_key=TEST_API_KEY, clock=clock, limits=Limits(rate_limit_minute=None)
    )
    server.start()
    yield server
    server.stop()


def test_missing_and_wrong_keys_get_coinmarketcaps_401s(api: FakeStreamServer) -> None:
    status, body = rest_get(api, "/v1/key/info", key=None)
    assert (status, body["status"]["error_code"]) == (401, 1002)
    assert set(body["status"]) == STATUS_KEYS
    assert body["status"]["timestamp"] == "2026-05-21T01:57:09.125Z"
    status, body = rest_get(api, "/v1/key/info", key="wrong")
    assert (status, body["status"]["error_code"]) == (401, 1001)
    status, body = rest_get(api, f"/v1/key/info?CMC_PRO_API_KEY={TEST_API_KEY}", key=None)
    assert status == 200  # the documented query-string alternative


def test_unknown_paths_get_404_and_rest_calls_are_not_stream_connections(
    api: FakeStreamServer,
) -> None:
    status, body = rest_get(api, "/v1/cryptocurrency/quotes/nope")
    assert (status, body["status"]["error_code"], body["status"]["credit_count"]) == (404, 404, 0)
    assert api.accepted == 0
    assert api.rest_requests == 1


def test_key_info_has_coinmarketcaps_shape(api: FakeStreamServer) -> None:
    status, body = rest_get(api, "/v1/key/info")
    assert status == 200
    assert set(body["status"]) == STATUS_KEYS
    assert (body["status"]["error_code"], body["status"]["error_message"]) == (0, None)
    plan, usage = body["data"]["plan"], body["data"]["usage"]
    assert set(plan) == {
        "credit_limit_daily", "credit_limit_daily_reset", "credit_limit_daily_reset_timestamp",
        "credit_limit_monthly", "credit_limit_monthly_reset",
        "credit_limit_monthly_reset_timestamp", "rate_limit_minute",
    }  # fmt: skip
    assert plan["credit_limit_monthly"] == 450_000
    assert plan["credit_limit_daily"] == 15_000
    assert plan["credit_limit_daily_reset"] == "In 22 hours, 2 minutes"
    assert set(usage) == {"current_minute", "current_day", "current_month"}
    assert usage["current_month"] == {"credits_used": 0, "credits_left": 450_000}


def test_the_map_pages_sorts_and_filters(api: FakeStreamServer) -> None:
    status, body = rest_get(api, "/v1/cryptocurrency/map?start=3&limit=4&sort=id")
    assert status == 200
    assert body["status"]["credit_count"] == 0
    assert [e["id"] for e in body["data"]] == [3, 4, 5, 6]
    assert set(body["data"][0]) == {"id", "rank", "name", "symbol", "slug", "is_active", "platform"}
    _, body = rest_get(api, "/v1/cryptocurrency/map?limit=3&sort=cmc_rank")
    assert [(e["id"], e["rank"], e["symbol"]) for e in body["data"]] == [
        (1, 1, "BTC"), (1027, 2, "ETH"), (825, 3, "USDT"),
    ]  # fmt: skip
    _, body = rest_get(api, "/v1/cryptocurrency/map?symbol=BTC,eth")
    assert sorted(e["id"] for e in body["data"]) == [1, 1027]
    _, body = rest_get(api, "/v1/cryptocurrency/map?listing_status=inactive")
    assert body["data"] == []
    for bad in ("limit=5001", "start=0", "sort=market_cap", "limit=x"):
        status, body = rest_get(api, f"/v1/cryptocurrency/map?{bad}")
        assert (status, body["status"]["error_code"]) == (400, 400), bad
        assert "data" not in body


def test_the_map_lists_only_the_servers_coins_when_it_has_a_list() -> None:
    with FakeStreamServer(coins=frozenset({52, 74, 9999})) as server:
        _, body = rest_get(server, "/v1/cryptocurrency/map")
        assert [e["id"] for e in body["data"]] == [52, 74, 9999]


def test_fetch_map_finds_names_on_the_fake(api: FakeStreamServer) -> None:
    found = fetch_map(Secret(TEST_API_KEY), api.rest_url, {1, 1027, 7500}, 5.0)
    assert found[1].name == "Bitcoin"
    assert found[1027].symbol == "ETH"
    assert found[7500].name == "Simulated Coin 7500"  # on the second page of 5,000
    assert api.rest_requests == 2


def test_fiat_map_lists_currencies_by_id_and_costs_a_credit(api: FakeStreamServer) -> None:
    status, body = rest_get(api, "/v1/fiat/map")
    assert status == 200
    assert body["status"]["credit_count"] == 1
    assert body["data"][0] == {"id": 2781, "name": "United States Dollar", "sign": "$",
                               "symbol": "USD"}  # fmt: skip
    by_symbol = {e["symbol"]: e["id"] for e in body["data"]}
    assert (by_symbol["EUR"], by_symbol["GBP"]) == (2790, 2791)
    assert api.ledger().used_month == 1
    _, body = rest_get(api, "/v1/fiat/map?sort=name&limit=2")
    assert [e["name"] for e in body["data"]] == sorted(f.name for f in FIATS)[:2]


def test_price_conversion_uses_the_rate_table_and_bills_each_target(
    api: FakeStreamServer,
) -> None:
    api.fiat_rates["EUR"] = 0.5
    status, body = rest_get(api, "/v2/tools/price-conversion?amount=2&id=2781&convert=EUR")
    assert status == 200
    data = body["data"]
    assert (data["id"], data["symbol"], data["amount"]) == (2781, "USD", 2)
    assert data["quote"]["EUR"]["price"] == pytest.approx(1.0)
    assert data["quote"]["EUR"]["last_updated"] == "2026-05-21T01:57:09.125Z"
    assert body["status"]["credit_count"] == 1

    api.fiat_rates["EUR"] = 0.8  # changed while it runs
    _, body = rest_get(api, "/v2/tools/price-conversion?amount=1&id=2781&convert=EUR,GBP,JPY")
    assert body["data"]["quote"]["EUR"]["price"] == pytest.approx(0.8)
    assert set(body["data"]["quote"]) == {"EUR", "GBP", "JPY"}
    assert body["status"]["credit_count"] == 3
    assert api.ledger().used_month == 4

    _, body = rest_get(api, "/v2/tools/price-conversion?amount=1&id=1&convert_id=2790")
    assert body["data"]["quote"]["2790"]["price"] == pytest.approx(api.price_usd(1) * 0.8)
    _, body = rest_get(api, "/v2/tools/price-conversion?amount=1&symbol=BTC&convert=USD")
    assert isinstance(body["data"], list)
    assert body["data"][0]["quote"]["USD"]["price"] == pytest.approx(api.price_usd(1))


@pytest.mark.parametrize(
    "query",
    [
        "id=2781&convert=EUR",  # no amount
        "amount=1&convert=EUR",  # no id or symbol
        "amount=1&id=2781&convert=XYZ",
        "amount=1&id=2781&convert=EUR&convert_id=2790",
        "amount=nan&id=2781",
    ],
)
def test_bad_conversions_get_400_and_cost_nothing(api: FakeStreamServer, query: str) -> None:
    status, body = rest_get(api, f"/v2/tools/price-conversion?{query}")
    assert (status, body["status"]["error_code"], body["status"]["credit_count"]) == (400, 400, 0)
    assert api.ledger().used_month == 0


def test_the_minute_rate_limit_answers_1008_until_the_next_minute(clock: TurnableClock) -> None:
    with FakeStreamServer(
        api_key=TEST_API_KEY, clock=clock, limits=Limits(rate_limit_minute=2)
    ) as server:
        assert rest_get(server, "/v1/key/info")[0] == 200
        _, body = rest_get(server, "/v1/key/info")
        assert body["data"]["usage"]["current_minute"] == {"requests_made": 2, "requests_left": 0}
        status, body = rest_get(server, "/v1/cryptocurrency/map?limit=1")
        assert (status, body["status"]["error_code"]) == (429, 1008)
        clock.now = clock.now.replace(minute=58)
        assert rest_get(server, "/v1/key/info")[0] == 200


def test_a_rest_delay_slows_every_answer(api: FakeStreamServer) -> None:
    api.behaviour.rest_delay = 0.5
    request = urllib.request.Request(
        api.rest_url + "/v1/key/info", headers={"X-CMC_PRO_API_KEY": TEST_API_KEY}
    )
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        urllib.request.urlopen(request, timeout=0.1)
    api.behaviour.rest_delay = 0.0
    assert rest_get(api, "/v1/key/info")[0] == 200
