"""The fake holds a key to CoinMarketCap's stream limits: subscriptions per connection (counted
per id or per request), connections per key, and unsubscribing stops the data."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import websocket

from cmc_mqtt.simulator import FakeStreamServer, Limits
from cmc_mqtt.simulator.limits import NO_SUB_LIMIT, Subscriptions
from cmc_mqtt.stream.frames import CHANNEL
from harness.helpers import TEST_API_KEY, wait_until

from .test_simulator import connect, read_until_close, recv_json, request


def serve(limits: Limits, **kwargs: object) -> FakeStreamServer:
    return FakeStreamServer(
        api_key=TEST_API_KEY, fast_interval=0.05, slow_interval=0.05, limits=limits, **kwargs
    ).start()  # type: ignore[arg-type]


@pytest.fixture
def small() -> Iterator[FakeStreamServer]:
    server = serve(Limits(sub_limit=5))
    yield server
    server.stop()


def test_defaults_are_the_documented_ones() -> None:
    limits = Limits()
    assert (limits.sub_limit, limits.counting, limits.max_connections) == (100, "id", 10)
    assert (limits.monthly_credits, limits.credits_per_message) == (450_000, 0.025)
    assert limits.credits_per_subscription == 0
    with FakeStreamServer() as server:
        assert server.limits == limits


def test_a_subscribe_past_the_limit_gets_2303_and_subscribes_nothing(
    small: FakeStreamServer,
) -> None:
    conn = connect(small)
    recv_json(conn, "welcome")
    ack = request(conn, 1, "subscribe", [1, 2, 3, 4])
    assert (ack["type"], ack["sub_count"], ack["sub_limit"]) == ("ack", 4, 5)
    error = request(conn, 2, "subscribe", [5, 6])
    assert error["type"] == "error"
    assert error["id"] == 2
    assert error["status"]["error_code"] == "2303"
    assert error["status"]["category"] == "LIMIT"
    assert error["status"]["error_detail"] == "sub_limit=5"
    server_side = small.wait_subscribed()
    assert server_side.subscribed == {1, 2, 3, 4}  # not 5: all of the request or none
    assert server_side.sub_count == 4
    ack = request(conn, 3, "subscribe", [5])
    assert (ack["type"], ack["sub_count"]) == ("ack", 5)
    conn.close()


def test_a_duplicate_subscription_does_not_grow_the_count(small: FakeStreamServer) -> None:
    conn = connect(small)
    recv_json(conn, "welcome")
    request(conn, 1, "subscribe", [1, 2, 3, 4, 5])
    ack = request(conn, 2, "subscribe", [1, 2])  # at the limit, but nothing new
    assert (ack["type"], ack["code"], ack.get("duplicate"), ack["sub_count"]) == (
        "ack", 0, True, 5,
    )  # fmt: skip
    conn.close()


def test_per_request_counting_counts_subscribe_requests() -> None:
    server = serve(Limits(sub_limit=2, counting="request"))
    try:
        conn = connect(server)
        recv_json(conn, "welcome")
        assert request(conn, 1, "subscribe", [1, 2, 3])["sub_count"] == 1
        assert request(conn, 2, "subscribe", [4, 5])["sub_count"] == 2
        refused = request(conn, 3, "subscribe", [6])
        assert refused["status"]["error_code"] == "2303"
        assert request(conn, 4, "subscribe", [1])["duplicate"] is True
        assert request(conn, 5, "unsubscribe", [4, 5])["sub_count"] == 1  # that request is gone
        assert request(conn, 6, "unsubscribe", [2])["sub_count"] == 1  # 1 and 3 remain in it
        ack = request(conn, 7, "subscribe", [6, 7, 8])
        assert ack["sub_count"] == 2
        assert server.wait_subscribed().subscribed == {1, 3, 6, 7, 8}
        conn.close()
    finally:
        server.stop()


def test_the_eleventh_connection_of_a_key_is_closed_with_4004() -> None:
    server = FakeStreamServer().start()  # any key, default limits: 10 per key
    conns = []
    try:
        for _ in range(10):
            conn = connect(server, "key-a")
            assert recv_json(conn)["type"] == "welcome"
            conns.append(conn)
        eleventh = connect(server, "key-a")
        frames, code = read_until_close(eleventh)
        assert (frames, code) == ([], 4004)  # closed without a JSON error
        other_key = connect(server, "key-b")  # counted per key
        assert recv_json(other_key)["type"] == "welcome"
        conns.append(other_key)
        conns.pop(0).close()
        wait_until(lambda: sum(c.admitted and not c.closed for c in server.connections) == 10)
        again = connect(server, "key-a")
        assert recv_json(again)["type"] == "welcome"
        conns.append(again)
    finally:
        for conn in conns:
            conn.close()
        server.stop()


def test_unsubscribe_stops_the_data_for_those_ids(small: FakeStreamServer) -> None:
    conn = connect(small)
    recv_json(conn, "welcome")
    request(conn, 1, "subscribe", [1, 74])
    seen: set[int] = set()
    while seen != {1, 74}:
        seen.add(recv_json(conn, "data")["data"]["cid"])
    ack = request(conn, 2, "unsubscribe", [74])
    assert (ack["type"], ack["sub_count"]) == ("ack", 1)
    # A push already on its way when the unsubscribe arrived may still land, before the next
    # push of any coin; from the first Bitcoin frame after the ack on, Dogecoin must not come.
    while recv_json(conn, "data")["data"]["cid"] != 1:
        pass
    later = [recv_json(conn, "data")["data"]["cid"] for _ in range(10)]
    assert set(later) == {1}
    conn.close()


def test_unsubscribe_without_ids_and_unsubscribe_all_clear_everything(
    small: FakeStreamServer,
) -> None:
    conn = connect(small)
    recv_json(conn, "welcome")
    request(conn, 1, "subscribe", [1, 74])
    server_side = small.wait_subscribed()
    ack = request(conn, 2, "unsubscribe")  # the whole channel
    assert (ack["type"], ack["sub_count"]) == ("ack", 0)
    assert server_side.subscribed == set()
    request(conn, 3, "subscribe", [1, 2, 3])
    ack = request(conn, 4, "unsubscribe_all")
    assert (ack["type"], ack["id"], ack["sub_count"], ack["sub_limit"]) == ("ack", 4, 0, 5)
    assert server_side.subscribed == set()
    conn.send(json.dumps({"id": 5, "method": "unsubscribe", "channel": CHANNEL,
                          "params": {"crypto_ids": "1"}}))  # fmt: skip
    assert recv_json(conn, "error")["status"]["error_code"] == "2402"
    conn.close()


def test_limits_off_allows_many_ids_and_connections() -> None:
    server = serve(Limits.off())
    conns: list[websocket.WebSocket] = []
    try:
        for _ in range(12):
            conns.append(connect(server))
            assert recv_json(conns[-1])["type"] == "welcome"
        ack = request(conns[0], 1, "subscribe", list(range(1, 2001)))
        assert (ack["type"], ack["sub_count"], ack["sub_limit"]) == ("ack", 2000, NO_SUB_LIMIT)
    finally:
        for conn in conns:
            conn.close()
        server.stop()


def test_bad_limits_are_refused_with_every_problem_named() -> None:
    with pytest.raises(ValueError, match="sub_limit") as info:
        Limits(sub_limit=0, counting="coin", monthly_credits=0)  # type: ignore[arg-type]
    assert "counting" in str(info.value)
    assert "monthly_credits" in str(info.value)


@pytest.mark.parametrize(
    ("counting", "expected"),
    [("id", [3, 4, 4, 2, 0]), ("request", [1, 2, 2, 1, 0])],
)
def test_subscription_counting_table(counting: str, expected: list[int]) -> None:
    subs = Subscriptions(counting)  # type: ignore[arg-type]
    counts = []
    subs.add([1, 2, 3])
    counts.append(subs.count)
    subs.add([3, 4])
    counts.append(subs.count)
    subs.add([1, 4])  # nothing new
    counts.append(subs.count)
    subs.remove([1, 4])
    counts.append(subs.count)
    subs.clear()
    counts.append(subs.count)
    assert counts == expected
