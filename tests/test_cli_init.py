"""`cmc-mqtt init`'s paper cuts: any symbol looked up in CoinMarketCap's map (here the
simulator's), a key that cannot be one said so, a broker typed as a URL written as host, port
and TLS."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cmc_mqtt.config import load_settings
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import TEST_API_KEY

from .test_init import init

UUID_KEY = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def test_a_symbol_beyond_the_bundled_table_is_looked_up_in_the_map(tmp_path: Path) -> None:
    with FakeStreamServer(api_key=UUID_KEY) as server:
        result = init(tmp_path, f"{UUID_KEY}\nbtc sim42, Sim7\n\n\n", "--rest-url", server.rest_url)
    assert result.returncode == 0, result.stderr
    assert "SIM42: 42 Simulated Coin 42, rank " in result.stdout
    assert "warning" not in result.stdout  # a key of CoinMarketCap's shape
    path = tmp_path / "config.toml"
    assert load_settings(path, environ={}).stream.crypto_ids == (1, 42, 7)
    assert "1 BTC, 42 SIM42, 7 SIM7" in path.read_text()
    # The file names CoinMarketCap, not where the symbols were looked up.
    assert "127.0.0.1" not in path.read_text()
    assert UUID_KEY not in result.stdout + result.stderr


def test_a_key_the_map_refuses_is_said_and_an_id_is_asked_for(tmp_path: Path) -> None:
    with FakeStreamServer(api_key=UUID_KEY) as server:
        other = UUID_KEY.replace("0", "1")
        result = init(tmp_path, f"{other}\nsim42\n5\n\n\n", "--rest-url", server.rest_url)
    assert result.returncode == 0, result.stderr
    assert f"could not look 'sim42' up at {server.rest_url} (HTTP 401)" in result.stdout
    assert load_settings(tmp_path / "config.toml", environ={}).stream.crypto_ids == (5,)


def test_a_key_that_cannot_be_one_is_warned_of_and_written(tmp_path: Path) -> None:
    result = init(tmp_path, "short\n\n\n\n")
    assert result.returncode == 0, result.stderr
    assert "warning: this key has 5 characters, and a CoinMarketCap key has 36" in result.stdout
    assert "short" not in result.stdout.replace("warning", "")
    settings = load_settings(tmp_path / "config.toml", environ={})
    assert settings.stream.api_key.reveal() == "short"


def test_a_key_with_a_space_is_asked_for_again(tmp_path: Path) -> None:
    result = init(tmp_path, f"my key\n{TEST_API_KEY}\n\n\n\n")
    assert result.returncode == 0, result.stderr
    assert "this key contains a space (U+0020); the key is not shown" in result.stdout
    assert "my key" not in result.stdout


@pytest.mark.parametrize(
    ("answer", "host", "port", "tls"),
    [
        ("mqtt://127.0.0.1:18831", "127.0.0.1", 18831, False),
        ("mqtts://broker.lan", "broker.lan", 8883, True),
        ("mqtts://broker.lan:9883", "broker.lan", 9883, True),
        ("[::1]:1884", "::1", 1884, False),
        ("broker.lan", "broker.lan", 1883, False),
    ],
)
def test_a_broker_given_as_a_url_is_written_as_host_port_and_tls(
    tmp_path: Path, answer: str, host: str, port: int, tls: bool
) -> None:
    result = init(tmp_path, f"{TEST_API_KEY}\n1\n{answer}\n\n")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "config.toml").read_text()
    assert f'host = "{host}"\nport = {port}\n' in text
    assert ("tls = true" in text) is tls
    assert "://" not in text.split("[mqtt]")[1]
    mqtt = load_settings(tmp_path / "config.toml", environ={}).mqtt
    assert (mqtt.host, mqtt.port, mqtt.tls.enabled) == (host, port, tls)


def test_a_broker_url_that_names_no_broker_is_asked_for_again(tmp_path: Path) -> None:
    result = init(tmp_path, f"{TEST_API_KEY}\n1\nhttp://broker.lan\nmqtt://u:pw@b\nb\n\n")
    assert result.returncode == 0, result.stderr
    assert "http:// does not name an MQTT broker; write the host alone, host:port" in result.stdout
    assert "a login does not belong in the address" in result.stdout
    assert "pw" not in result.stdout.replace("input hidden", "")


class _Map(BaseHTTPRequestHandler):
    """A map where two coins share a symbol, as CoinMarketCap's does (HOT)."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "status": {"error_code": 0},
                "data": [
                    {"id": 2682, "name": "Holo", "symbol": "HOT", "slug": "holo", "rank": 150},
                    {"id": 2777, "name": "Hydro", "symbol": "HOT", "slug": "hydro", "rank": 900},
                ],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def shared_symbol_map() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Map)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_symbol_of_several_coins_takes_the_best_ranked_and_names_the_others(
    tmp_path: Path, shared_symbol_map: str
) -> None:
    result = init(tmp_path, f"{UUID_KEY}\nhot\n\n\n", "--rest-url", shared_symbol_map)
    assert result.returncode == 0, result.stderr
    assert (
        "HOT: 2682 Holo, rank 150; 1 other coin shares the symbol (2777 Hydro): give an id to "
        "choose another" in result.stdout
    )
    assert load_settings(tmp_path / "config.toml", environ={}).stream.crypto_ids == (2682,)
