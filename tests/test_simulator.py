"""The fake stream server speaks the documented protocol (checked with websocket-client).

The helpers here are shared by the other `test_simulator_*` modules.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import websocket

from cmc_mqtt.errors import CmcMqttError, PortBusyError
from cmc_mqtt.simulator import FakeStreamServer, Market
from cmc_mqtt.stream.frames import CHANNEL, QuoteFrame, parse_frame
from harness.helpers import TEST_API_KEY, free_port, wait_until


@pytest.fixture
def ws(stream: FakeStreamServer) -> Iterator[websocket.WebSocket]:
    conn = websocket.create_connection(
        stream.url, header=[f"X-CMC_PRO_API_KEY: {TEST_API_KEY}"], timeout=5
    )
    yield conn
    conn.close()


def recv_json(conn: websocket.WebSocket, kind: str | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        frame: dict[str, Any] = json.loads(conn.recv())
        if kind is None or frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


def connect(server: FakeStreamServer, key: str = TEST_API_KEY) -> websocket.WebSocket:
    return websocket.create_connection(server.url, header=[f"X-CMC_PRO_API_KEY: {key}"], timeout=5)


def request(
    conn: websocket.WebSocket, request_id: int, method: str, ids: list[int] | None = None
) -> dict[str, Any]:
    """Send a subscribe/unsubscribe and return its answer (ack or error), skipping data."""
    body: dict[str, Any] = {"id": request_id, "method": method}
    if method != "unsubscribe_all":
        body["channel"] = CHANNEL
    if ids is not None:
        body["params"] = {"crypto_ids": ids}
    conn.send(json.dumps(body))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        frame: dict[str, Any] = json.loads(conn.recv())
        if frame["type"] in ("ack", "error"):
            return frame
    raise AssertionError(f"no answer to {body}")


def read_until_close(conn: websocket.WebSocket) -> tuple[list[dict[str, Any]], int | None]:
    """Every JSON frame until the server's close frame, and the close code."""
    frames = []
    while True:
        opcode, data = conn.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return frames, int.from_bytes(data[:2], "big") if len(data) >= 2 else None
        if opcode == websocket.ABNF.OPCODE_TEXT:
            frames.append(json.loads(data))


def rest_get(server: FakeStreamServer, path: str, key: str | None = TEST_API_KEY) -> Any:
    """(HTTP status, JSON body) of a REST call to the fake."""
    headers = {"Accept": "application/json"}
    if key is not None:
        headers["X-CMC_PRO_API_KEY"] = key
    req = urllib.request.Request(server.rest_url + path, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class TurnableClock:
    """A clock tests move by hand: the fake's days and months turn when they say."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_welcome_then_ack_then_data_for_the_subscribed_coins(ws: websocket.WebSocket) -> None:
    assert recv_json(ws) == {"type": "welcome", "ping_interval_ms": 1000}
    ws.send(json.dumps({"id": 1, "method": "subscribe", "channel": CHANNEL,
                        "params": {"crypto_ids": [1, 74]}}))  # fmt: skip
    ack = recv_json(ws, "ack")
    assert (ack["id"], ack["code"], ack["sub_count"], ack["sub_limit"]) == (1, 0, 2, 100)
    seen = set()
    while seen != {1, 74}:
        frame = parse_frame(ws.recv())
        if isinstance(frame, QuoteFrame):
            assert len(frame.texts) == 13
            seen.add(frame.cid)


def test_ping_pong_and_protocol_errors(ws: websocket.WebSocket) -> None:
    recv_json(ws, "welcome")
    ws.send(json.dumps({"id": 5, "method": "ping"}))
    assert recv_json(ws, "pong")["id"] == 5
    ws.send(json.dumps({"id": 6, "method": "subscribe", "channel": CHANNEL}))
    error = recv_json(ws, "error")
    assert (error["id"], error["status"]["error_code"]) == (6, "2401")
    ws.send(json.dumps({"id": 7, "method": "dance"}))
    assert recv_json(ws, "error")["status"]["error_code"] == "2202"
    ws.send("{not json")
    assert recv_json(ws, "error")["status"]["error_code"] == "2201"


def test_duplicate_subscription_is_flagged(ws: websocket.WebSocket) -> None:
    recv_json(ws, "welcome")
    request = {"id": 1, "method": "subscribe", "channel": CHANNEL, "params": {"crypto_ids": [1]}}
    ws.send(json.dumps(request))
    assert "duplicate" not in recv_json(ws, "ack")
    ws.send(json.dumps({**request, "id": 2}))
    ack = recv_json(ws, "ack")
    assert ack["duplicate"] is True
    assert ack["sub_count"] == 1


def test_a_missing_key_gets_1002_and_close_4100(stream: FakeStreamServer) -> None:
    conn = websocket.create_connection(stream.url, timeout=5)
    assert recv_json(conn)["status"]["error_code"] == "1002"
    opcode, data = conn.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(data[:2], "big") == 4100


def test_a_wrong_key_is_closed_with_4100(stream: FakeStreamServer) -> None:
    conn = websocket.create_connection(stream.url, header=["X-CMC_PRO_API_KEY: nope"], timeout=5)
    opcode, data = conn.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(data[:2], "big") == 4100


def test_top_coins_are_pushed_faster_than_the_rest() -> None:
    server = FakeStreamServer(fast_interval=5, slow_interval=15, top_ranked=2)
    assert server.interval(1) == 5  # Bitcoin, rank 1
    assert server.interval(5426) == 15  # Solana, rank 6 of the bundled table
    assert server.interval(99999) == 15


def test_market_moves_prices_and_keeps_cap_consistent() -> None:
    market = Market(seed=1)
    first = market.step(1)
    second = market.step(1)
    assert first["p"] != second["p"]
    assert second["mc"] == pytest.approx(float(second["p"]) * float(second["cs"]), rel=1e-9)
    frame = parse_frame(market.frame(12345, 1))
    assert isinstance(frame, QuoteFrame)
    assert frame.cid == 12345


def test_simulate_command_serves_the_stream() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmc_mqtt", "simulate", "--port", str(port), "--fast", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ},
    )  # fmt: skip
    try:

        def connect() -> websocket.WebSocket | None:
            try:
                return websocket.create_connection(
                    f"ws://127.0.0.1:{port}/v1", header=["X-CMC_PRO_API_KEY: k"], timeout=5
                )
            except OSError:
                return None

        conn = wait_until(connect)
        assert recv_json(conn)["type"] == "welcome"
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_simulate_quotes_only_the_listed_coins() -> None:
    server = FakeStreamServer(fast_interval=0.1, coins=frozenset({1})).start()
    try:
        conn = websocket.create_connection(server.url, header=["X-CMC_PRO_API_KEY: k"], timeout=5)
        recv_json(conn, "welcome")
        conn.send(json.dumps({"id": 1, "method": "subscribe", "channel": CHANNEL,
                              "params": {"crypto_ids": [1, 74]}}))  # fmt: skip
        recv_json(conn, "ack")
        seen = [recv_json(conn, "data")["data"]["cid"] for _ in range(5)]
        assert set(seen) == {1}
        conn.close()
    finally:
        server.stop()


def test_simulate_rejects_a_bad_coin_list() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "simulate", "--coins", "btc"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "expected ids like 1,1027" in result.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]


def test_a_busy_port_is_one_line_naming_the_address(busy_port: int) -> None:
    with pytest.raises(PortBusyError) as info:
        FakeStreamServer("127.0.0.1", busy_port)
    assert isinstance(info.value, CmcMqttError)
    assert (info.value.host, info.value.port) == ("127.0.0.1", busy_port)
    assert str(info.value) == (
        f"could not start the fake CoinMarketCap server: 127.0.0.1:{busy_port} is already in use "
        "by another program"
    )
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.__cause__.errno == errno.EADDRINUSE


def test_an_address_it_cannot_listen_on_is_one_line_too() -> None:
    with pytest.raises(CmcMqttError) as info:
        FakeStreamServer("192.0.2.1", 0)  # TEST-NET-1: never this machine's
    assert not isinstance(info.value, PortBusyError)
    message = str(info.value)
    assert message.startswith("could not start the fake CoinMarketCap server on 192.0.2.1:0: ")
    assert "\n" not in message
    assert "while attempting" not in message


def test_simulate_on_a_busy_port_says_so_in_one_line(busy_port: int) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "simulate", "--port", str(busy_port)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"cmc-mqtt simulate: could not start the fake CoinMarketCap server: 127.0.0.1:{busy_port} "
        "is already in use by another program\n"
    )
