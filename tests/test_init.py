"""`cmc-mqtt init` as a new user runs it: answers on stdin, a private file that runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cmc_mqtt.config import load_settings
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import TEST_API_KEY, Broker

from .test_cli_run import run_until_price


def init(cwd: Path, answers: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "init", *args],
        input=answers, capture_output=True, text=True, timeout=30, check=False, cwd=cwd,
        env={**os.environ, "CMC_API_KEY": ""},
    )  # fmt: skip


def test_init_writes_a_private_commented_config_from_the_answers(tmp_path: Path) -> None:
    result = init(tmp_path, f"{TEST_API_KEY}\nbtc, 1027 doge\nbroker.lan:1884\ncmc\npw\n")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "config.toml"
    assert path.stat().st_mode & 0o777 == 0o600
    assert "Next: cmc-mqtt check-config" in result.stdout
    settings = load_settings(path, environ={})
    assert settings.warnings == ()
    assert settings.stream.api_key.reveal() == TEST_API_KEY
    assert settings.stream.crypto_ids == (1, 1027, 74)
    assert (settings.mqtt.host, settings.mqtt.port, settings.mqtt.username) == (
        "broker.lan", 1884, "cmc",
    )  # fmt: skip
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.reveal() == "pw"
    text = path.read_text()
    assert "# CoinMarketCap ids (a symbol can name several coins" in text
    assert "1 BTC, 1027 ETH, 74 DOGE" in text
    assert TEST_API_KEY not in result.stdout + result.stderr


def test_empty_answers_take_the_defaults(tmp_path: Path) -> None:
    result = init(tmp_path, f"{TEST_API_KEY}\n\n\n\n")
    assert result.returncode == 0, result.stderr
    settings = load_settings(tmp_path / "config.toml", environ={})
    assert settings.stream.crypto_ids == (1, 1027)
    assert (settings.mqtt.host, settings.mqtt.port, settings.mqtt.username) == (
        "localhost", 1883, None,
    )  # fmt: skip
    assert '# username = "cmc"' in (tmp_path / "config.toml").read_text()


def test_unusable_answers_are_asked_again_and_explained(tmp_path: Path) -> None:
    answers = f"\nsimulator\n{TEST_API_KEY}\nbtc, xyz\n1, 52\nhost:99999\nhost:1883\n\n"
    with FakeStreamServer() as server:
        result = init(tmp_path, answers, "--rest-url", server.rest_url)
    assert result.returncode == 0, result.stderr
    assert "the key is needed" in result.stdout
    assert "'simulator' is the simulator's placeholder" in result.stdout
    assert "'xyz' is no symbol CoinMarketCap lists; give the coin's id" in result.stdout
    assert "the part after ':' is not a port number (1-65535); write the host alone" in (
        result.stdout
    )
    assert load_settings(tmp_path / "config.toml", environ={}).stream.crypto_ids == (1, 52)


def test_three_unusable_answers_or_no_answers_write_nothing(tmp_path: Path) -> None:
    result = init(tmp_path, f"{TEST_API_KEY}\nx\ny\nz\n")
    assert result.returncode == 2
    assert result.stderr == "cmc-mqtt init: no usable answer; nothing written\n"
    result = init(tmp_path, f"{TEST_API_KEY}\n")  # input ends after the first answer
    assert result.returncode == 2
    assert "input ended" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "config.toml").exists()


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("# my config\n")
    path.chmod(0o644)
    result = init(tmp_path, "", "--config", "mine.toml")
    assert result.returncode == 2
    assert result.stderr == "cmc-mqtt init: mine.toml already exists; --force replaces it\n"
    assert result.stdout == ""  # refused before asking anything
    assert path.read_text() == "# my config\n"

    result = init(tmp_path, f"{TEST_API_KEY}\n1\n\n\n", "--config", "mine.toml", "--force")
    assert result.returncode == 0, result.stderr
    assert "--config mine.toml" in result.stdout
    assert "for 1 coin and the broker localhost:1883." in result.stdout
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_settings(path, environ={}).stream.crypto_ids == (1,)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.toml"]  # no temporary file left


def test_quotes_and_backslashes_in_answers_survive(tmp_path: Path) -> None:
    key = 'k"ey\\with-quotes-0123456789'
    result = init(tmp_path, f'{key}\n1\n\nuser\np"w\\\n')
    assert result.returncode == 0, result.stderr
    settings = load_settings(tmp_path / "config.toml", environ={})
    assert settings.stream.api_key.reveal() == key
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.reveal() == 'p"w\\'


def test_the_config_init_writes_runs(tmp_path: Path, broker: Broker) -> None:
    result = init(tmp_path, f"{TEST_API_KEY}\nbtc\n{broker.host}:{broker.port}\n\n")
    assert result.returncode == 0, result.stderr
    with FakeStreamServer(fast_interval=0.2) as stream:
        check = subprocess.run(
            [sys.executable, "-m", "cmc_mqtt", "check-config"],
            capture_output=True, text=True, timeout=30, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert check.returncode == 0, check.stderr
        env = {**os.environ, "CMC_API_KEY": "", "CMC_MQTT_CMC_URL": stream.url,
               "CMC_MQTT_CMC_LOOKUP_NAMES": "false"}  # fmt: skip
        code, output = run_until_price(tmp_path, env, broker)
    assert code == 0, output
    assert "chmod" not in output
