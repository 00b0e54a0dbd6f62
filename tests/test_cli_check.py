"""`cmc-mqtt check-config` says where its settings came from and whether it asks CoinMarketCap
anything, and a missing config points at `cmc-mqtt init`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import TEST_API_KEY


def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CMC_")}
    return subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=cwd, env={**base, **env},
    )  # fmt: skip


def write_config(tmp_path: Path, body: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[cmc]\napi_key = "{TEST_API_KEY}"\ncrypto_ids = [1]\n'
        f'cache_dir = "{tmp_path / "cache"}"\n{body}'
    )
    path.chmod(0o600)
    return path


def test_no_config_file_points_at_init(tmp_path: Path) -> None:
    result = cli(tmp_path, "check-config")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "config.toml: no such config file; write one with: cmc-mqtt init (or set the options "
        "as CMC_MQTT_<SECTION>_<KEY> environment variables)"
    ]
    assert "config.example.toml" not in result.stderr  # not installed with the package
    result = cli(tmp_path, "run", "--config", "elsewhere.toml")
    assert result.returncode == 2
    assert "write one with: cmc-mqtt init --config elsewhere.toml " in result.stderr


def test_settings_from_the_environment_alone_are_said_to_be_so(tmp_path: Path) -> None:
    result = cli(
        tmp_path,
        "check-config",
        "--offline",
        CMC_API_KEY=TEST_API_KEY,
        CMC_MQTT_CMC_CRYPTO_IDS="1",
        CMC_MQTT_CMC_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(
        "the environment (2 CMC_MQTT_* variables; no config.toml): OK (1 coin, broker "
    )
    assert "config.toml: OK" not in result.stdout


def test_a_file_with_variables_over_it_says_both(tmp_path: Path) -> None:
    write_config(tmp_path)
    result = cli(tmp_path, "check-config", "--offline", CMC_MQTT_MQTT_PORT="1884")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first == (
        "config.toml: OK (1 coin, broker localhost:1884, prefix 'cmc'; 1 CMC_MQTT_* variable "
        "over it)"
    )


def test_offline_asks_coinmarketcap_nothing_and_says_so(tmp_path: Path) -> None:
    with FakeStreamServer(api_key=TEST_API_KEY) as server:
        write_config(tmp_path, f'rest_url = "{server.rest_url}"\n')
        offline = cli(tmp_path, "check-config", "--offline")
        asked_offline = server.rest_requests
        online = cli(tmp_path, "check-config")
        asked_online = server.rest_requests
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.splitlines()[-1] == "key: not asked (--offline)"
    assert asked_offline == 0
    assert online.returncode == 0, online.stderr
    assert asked_online == 1
    assert online.stdout.splitlines()[-1].endswith(
        f"(asked {server.rest_url}/v1/key/info, no credits; --offline does not ask)"
    )


def test_what_check_config_asks_is_in_its_help(tmp_path: Path) -> None:
    result = cli(tmp_path, "check-config", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "asks CoinMarketCap's REST API one thing: what the key allows (/v1/key/info" in text
    assert "It never connects to the stream or the MQTT broker" in text
    assert "--offline ask CoinMarketCap nothing" in text
    assert "config.example.toml" not in text


def test_no_lookups_or_a_placeholder_key_ask_nothing(tmp_path: Path) -> None:
    write_config(tmp_path, "lookup_names = false\n")
    result = cli(tmp_path, "check-config")
    assert result.stdout.splitlines()[-1] == (
        "key: not asked (lookup_names = false: nothing is asked of the REST API)"
    )
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace(TEST_API_KEY, "simulator"))
    result = cli(tmp_path, "check-config")
    assert result.stdout.splitlines()[-1] == (
        "key: not asked (a placeholder, not a CoinMarketCap key)"
    )
