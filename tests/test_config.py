from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.config import DEFAULT_URL, load_settings, parse_settings
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.secret import Secret

from .helpers import TEST_API_KEY

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = {"cmc": {"api_key": TEST_API_KEY, "crypto_ids": [1, 1027]}}


def problems(raw: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, environ=environ or {})
    return info.value.problems


def with_section(section: str, **values: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {k: dict(v) for k, v in MINIMAL.items()}
    raw.setdefault(section, {}).update(values)
    return raw


def test_minimal_config_gets_documented_defaults() -> None:
    s = parse_settings(MINIMAL, environ={})
    assert s.stream.url == DEFAULT_URL
    assert s.stream.crypto_ids == (1, 1027)
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.topic_prefix) == ("localhost", 1883, "cmc")
    assert (s.mqtt.qos, s.mqtt.retain, s.mqtt.keepalive) == (0, True, 60)
    assert s.mqtt.client_id.startswith("cmc-mqtt-")
    assert not s.mqtt.tls.enabled
    assert s.log_level == "info"


def test_duplicate_ids_are_merged_keeping_order() -> None:
    raw = with_section("cmc", crypto_ids=[1027, 1, 1027])
    assert parse_settings(raw, environ={}).stream.crypto_ids == (1027, 1)


@pytest.mark.parametrize(
    ("section", "values", "expected"),
    [
        ("mqtt", {"port": "abc"}, "mqtt.port: expected int, got 'abc'"),
        ("mqtt", {"port": True}, "mqtt.port: expected int, got True"),
        ("mqtt", {"port": 70000}, "mqtt.port: value must be at most 65535, got 70000"),
        ("mqtt", {"qos": 3}, "mqtt.qos: must be 0, 1 or 2, got 3"),
        ("mqtt", {"publish_mode": "some"}, "mqtt.publish_mode: must be one of all, changed"),
        ("mqtt", {"deadband": -1}, "mqtt.deadband: value must be at least 0"),
        ("mqtt", {"deadband": 0.5}, 'mqtt.deadband: needs mqtt.publish_mode = "changed"'),
        ("mqtt", {"prot": 1}, "mqtt.prot: unknown option"),
        ("mqtt", {"retain": "yes"}, "mqtt.retain: expected bool, got 'yes'"),
        ("mqtt", {"topic_prefix": "a/#"}, "mqtt.topic_prefix: topic prefix must not contain '#'"),
        ("mqtt", {"topic_prefix": "a//b"}, "mqtt.topic_prefix: topic prefix must not have empty"),
        ("mqtt", {"topic_prefix": "$SYS"}, "mqtt.topic_prefix: topic prefix must not start with"),
        ("mqtt", {"topic_prefix": "cmc/"}, "mqtt.topic_prefix: topic prefix must not have empty"),
        ("mqtt", {"topic_prefix": "a+b"}, "mqtt.topic_prefix: topic prefix must not contain '+'"),
        ("cmc", {"crypto_ids": []}, "cmc.crypto_ids: must name at least one coin id"),
        ("cmc", {"crypto_ids": [1, "x"]}, "cmc.crypto_ids[1]: expected int, got 'x'"),
        ("cmc", {"crypto_ids": [0]}, "cmc.crypto_ids[0]: value must be at least 1, got 0"),
        ("cmc", {"crypto_ids": 1}, "cmc.crypto_ids: expected a list of coin ids"),
        ("cmc", {"url": "http://x"}, "cmc.url: must start with ws:// or wss://"),
        ("log", {"level": "loud"}, "log.level: must be one of debug, info, warning, error"),
        ("mqtt", {"password": "pw"}, "mqtt.password: a password needs mqtt.username too"),
        ("mqtt", {"ca_certs": "/nope/ca.pem"}, "mqtt.ca_certs: no such file '/nope/ca.pem'"),
    ],
)
def test_each_problem_is_one_line_naming_the_key(
    section: str, values: dict[str, Any], expected: str
) -> None:
    found = problems(with_section(section, **values))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_all_problems_are_reported_together() -> None:
    raw = with_section("mqtt", port="abc", qos=9, bogus=1)
    assert len(problems(raw)) == 3


def test_missing_sections_and_key_are_named() -> None:
    assert problems({}) == ["cmc: required"]
    assert problems({"cmc": {"crypto_ids": [1]}})[0].startswith("cmc.api_key: required")


def test_environment_key_wins_over_the_file() -> None:
    s = parse_settings(MINIMAL, environ={"CMC_API_KEY": "from-env"})
    assert s.stream.api_key.reveal() == "from-env"


def test_api_key_file_is_read_and_stripped(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"{TEST_API_KEY}\n")
    raw = {"cmc": {"api_key_file": str(key_file), "crypto_ids": [1]}}
    assert parse_settings(raw, environ={}).stream.api_key.reveal() == TEST_API_KEY


def test_api_key_file_problems_are_clear(tmp_path: Path) -> None:
    missing = {"cmc": {"api_key_file": str(tmp_path / "nope"), "crypto_ids": [1]}}
    assert problems(missing)[0].startswith("cmc.api_key_file: cannot read")
    both = with_section("cmc", api_key_file=str(tmp_path / "nope"))
    assert problems(both) == ["cmc.api_key: give api_key or api_key_file, not both"]


def test_secrets_never_show_in_repr_or_str() -> None:
    s = parse_settings(with_section("mqtt", username="u", password="hunter2"), environ={})
    text = repr(s) + str(s) + f"{s.stream.api_key}"
    assert TEST_API_KEY not in text
    assert "hunter2" not in text
    assert repr(Secret("x")) == "Secret('**********')"


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[cmc\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert len(info.value.problems) == 1
    assert "invalid TOML" in info.value.problems[0]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "absent.toml")
    assert "no such config file" in info.value.problems[0]


def test_a_key_in_a_world_readable_file_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[cmc]\napi_key = "{TEST_API_KEY}"\ncrypto_ids = [1]\n')
    path.chmod(0o644)
    assert any("chmod 600" in w for w in load_settings(path, environ={}).warnings)
    path.chmod(0o600)
    assert load_settings(path, environ={}).warnings == ()


def test_example_config_is_valid() -> None:
    s = load_settings(ROOT / "config.example.toml", environ={"CMC_API_KEY": "x"})
    assert s.stream.crypto_ids


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_check_config_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[cmc]\ncrypto_ids = [1]\napi_key = "k"\n[mqtt]\nport = "abc"\nqos = 5\n')
    result = run_cli("check-config", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "mqtt.port: expected int, got 'abc'",
        "mqtt.qos: must be 0, 1 or 2, got 5",
    ]
    assert "Traceback" not in result.stderr + result.stdout


def test_run_validates_before_connecting(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[cmc]\ncrypto_ids = []\n")
    result = run_cli("run", "--config", str(path), env={"CMC_API_KEY": ""})
    assert result.returncode == 2
    assert "cmc.crypto_ids: must name at least one coin id" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text('[cmc]\ncrypto_ids = [1]\napi_key = "k"\n')
    path.chmod(0o600)
    result = run_cli("check-config", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
