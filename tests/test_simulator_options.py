"""The options `cmc-mqtt simulate` takes: every limit and price, 'none' for unlimited,
`--no-limits`, and one line naming a bad value."""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import struct
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websocket

from cmc_mqtt.simulator import Limits, add_simulator_arguments, server_from_arguments
from cmc_mqtt.simulator.limits import NO_SUB_LIMIT
from cmc_mqtt.simulator.options import limits_from_arguments
from cmc_mqtt.stream.frames import CHANNEL
from harness.helpers import TEST_API_KEY
from harness.pki import make_ca, make_cert

from .test_simulator import recv_json, request, rest_get


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="simulate")
    add_simulator_arguments(parser)
    return parser.parse_args(list(argv))


def test_without_options_the_limits_are_the_documented_ones() -> None:
    assert limits_from_arguments(parse()) == Limits()


def test_every_limit_and_price_has_an_option() -> None:
    args = parse(
        "--sub-limit", "50", "--count-subscriptions-per", "request", "--max-connections", "none",
        "--monthly-credits", "1000", "--daily-credits", "40", "--credits-per-message", "0.5",
        "--credits-per-subscription", "0.1", "--rate-limit-minute", "unlimited",
    )  # fmt: skip
    assert limits_from_arguments(args) == Limits(
        sub_limit=50, counting="request", max_connections=None, monthly_credits=1000,
        daily_credits=40, credits_per_message=0.5, credits_per_subscription=0.1,
        rate_limit_minute=None,
    )  # fmt: skip


def test_no_limits_lifts_every_limit_but_what_is_given() -> None:
    assert limits_from_arguments(parse("--no-limits")) == Limits.off()
    limits = limits_from_arguments(parse("--no-limits", "--max-connections", "3"))
    assert (limits.sub_limit, limits.max_connections, limits.monthly_credits) == (
        NO_SUB_LIMIT, 3, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--sub-limit", "0"], "--sub-limit"),
        (["--sub-limit", "none"], "--sub-limit"),
        (["--max-connections", "many"], "--max-connections"),
        (["--monthly-credits", "-5"], "--monthly-credits"),
        (["--credits-per-message", "-0.1"], "--credits-per-message"),
        (["--count-subscriptions-per", "coin"], "--count-subscriptions-per"),
        (["--coins", "btc"], "expected ids like 1,1027"),
        (["--port", "70000"], "--port"),
        (["--port", "http"], "--port"),
        (["--fast", "0"], "--fast"),
        (["--slow", "inf"], "--slow"),
        (["--flood", "-1"], "--flood"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_option(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    assert named in capsys.readouterr().err


def test_every_option_says_what_it_does_and_its_default() -> None:
    parser = argparse.ArgumentParser(prog="simulate")
    add_simulator_arguments(parser)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[0]
        assert action.help, name
        if action.nargs != 0:  # a flag's default is not to be given
            assert "default" in action.help, name
    assert "(default 127.0.0.1)" in parser.format_help()


def test_the_server_is_built_as_the_options_say() -> None:
    args = parse(
        "--port", "0", "--api-key", "k", "--coins", "1,1027", "--fast", "0.5", "--flood", "7",
        "--rest-delay", "0.01", "--sub-limit", "5", "--monthly-credits", "10", "--no-cadence",
        "--flood-rate", "50", "--flood-batch", "2",
    )  # fmt: skip
    server = server_from_arguments(args)
    try:
        assert (server.api_key, server.coins, server.fast_interval) == ("k", {1, 1027}, 0.5)
        assert (server.behaviour.flood_frames, server.behaviour.rest_delay) == (7, 0.01)
        assert (server.behaviour.flood_rate, server.behaviour.flood_batch) == (50, 2)
        assert not server.behaviour.push_data
        assert server.url.startswith("ws://")
        assert (server.limits.sub_limit, server.limits.monthly_credits) == (5, 10)
        server.start()
        status, body = rest_get(server, "/v1/key/info", key="k")
        assert (status, body["data"]["plan"]["credit_limit_monthly"]) == (200, 10)
    finally:
        server.stop()


def test_tls_serves_the_stream_and_rest_with_the_given_certificate(tmp_path: Path) -> None:
    make_ca(tmp_path, "ca")
    make_cert(tmp_path, "server", "ca", "IP:127.0.0.1")
    pem = tmp_path / "server.pem"
    pem.write_text((tmp_path / "server.crt").read_text() + (tmp_path / "server.key").read_text())
    server = server_from_arguments(parse("--port", "0", "--tls", str(pem))).start()
    try:
        assert server.url.startswith("wss://")
        assert server.rest_url.startswith("https://")
        conn = websocket.create_connection(
            server.url, header=[f"X-CMC_PRO_API_KEY: {TEST_API_KEY}"], timeout=5,
            sslopt={"ca_certs": str(tmp_path / "ca.crt")},
        )  # fmt: skip
        try:
            assert recv_json(conn)["type"] == "welcome"
            assert request(conn, 1, "subscribe", [1])["type"] == "ack"
            assert recv_json(conn, "data")["data"]["cid"] == 1
        finally:
            conn.close()
        trusted = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        req = urllib.request.Request(
            server.rest_url + "/v1/key/info", headers={"X-CMC_PRO_API_KEY": TEST_API_KEY}
        )
        with urllib.request.urlopen(req, timeout=5, context=trusted) as response:
            assert response.status == 200
        # Really TLS with that certificate: a client that does not trust the CA is refused.
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(req, timeout=5, context=ssl.create_default_context())
    finally:
        server.stop()


def data_segments_received(sock: socket.socket) -> int:
    """Linux's count of TCP segments with data that arrived on `sock` (`tcpi_data_segs_in`)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    segments: int = struct.unpack_from("I", info, 152)[0]
    return segments


@pytest.mark.parametrize(("batch", "each_alone"), [("1", True), ("64", False)])
def test_a_paced_flood_writes_as_many_frames_per_segment_as_told(
    batch: str, each_alone: bool
) -> None:
    frames = 30
    # Only the flood: no quotes at the cadence in between.
    options = ("--flood", str(frames), "--flood-rate", "300", "--flood-batch", batch)
    options += ("--no-cadence",)
    server = server_from_arguments(parse("--port", "0", *options)).start()
    try:
        conn = websocket.create_connection(
            server.url, header=[f"X-CMC_PRO_API_KEY: {TEST_API_KEY}"], timeout=5
        )
        try:
            recv_json(conn, "welcome")
            before = data_segments_received(conn.sock)
            conn.send(json.dumps({"id": 1, "method": "subscribe", "channel": CHANNEL,
                                  "params": {"crypto_ids": list(range(1, 11))}}))  # fmt: skip
            recv_json(conn, "ack")
            for _ in range(frames):
                recv_json(conn, "data")
            segments = data_segments_received(conn.sock) - before  # the ack's, then the flood's
        finally:
            conn.close()
    finally:
        server.stop()
    # Nagle is off, so each write leaves as its own segment; the receive window is far larger
    # than the flood, so none are merged however late this test reads them.
    if each_alone:
        assert segments >= 1 + frames
    else:
        assert segments < frames / 4
