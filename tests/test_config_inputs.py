"""Hostile configuration inputs, case by case (issue #20, item 10): each is one line naming the
key or variable, exit code 2, no traceback, no hang, the key never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.config import load, load_settings, parse_settings, validators
from cmc_mqtt.config.env import sections
from cmc_mqtt.errors import ConfigError
from harness.helpers import TEST_API_KEY

ROOT = Path(__file__).resolve().parent.parent
MINIMAL: dict[str, Any] = {"cmc": {"api_key": TEST_API_KEY, "crypto_ids": [1, 1027]}}
MISSING = Path("/nonexistent/cmc-mqtt.toml")
INJECTED = "abc\r\nX-Injected: yes"


def problems(raw: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, environ=environ or {})
    return info.value.problems


def with_values(section: str, **values: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {k: dict(v) for k, v in MINIMAL.items()}
    raw.setdefault(section, {}).update(values)
    return raw


def check_config(path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CMC_")}
    return subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "check-config", "--config", str(path)],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str], starts: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith(starts), lines
    assert "Traceback" not in result.stderr + result.stdout
    assert TEST_API_KEY not in result.stderr + result.stdout


# --- whole numbers ---------------------------------------------------------------------------


def test_a_5000_digit_id_in_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[cmc]\napi_key = "{TEST_API_KEY}"\ncrypto_ids = [{"9" * 5000}]\n')
    assert_one_line_exit_2(check_config(path), f"{path}: a number too long to read")


def test_a_5000_digit_id_in_the_environment_is_one_line() -> None:
    result = check_config(
        MISSING, {"CMC_MQTT_CMC_API_KEY": TEST_API_KEY, "CMC_MQTT_CMC_CRYPTO_IDS": "9" * 5000}
    )
    assert_one_line_exit_2(result, "CMC_MQTT_CMC_CRYPTO_IDS: expected an integer of at most 19")


@pytest.mark.parametrize(
    ("section", "values", "expected"),
    [
        ("mqtt", {"port": 19001.9}, "mqtt.port: expected int, got 19001.9"),
        ("mqtt", {"port": 1883.0}, "mqtt.port: expected int, got 1883.0"),
        ("mqtt", {"port": True}, "mqtt.port: expected int, got True"),
        ("mqtt", {"port": 10**30}, "mqtt.port: integer out of range, got 10000"),
        ("mqtt", {"keepalive": 60.5}, "mqtt.keepalive: expected int, got 60.5"),
        ("cmc", {"crypto_ids": [2**31]}, "cmc.crypto_ids[0]: a coin id is a number from 1 to"),
        ("cmc", {"crypto_ids": [1.0]}, "cmc.crypto_ids[0]: expected a coin id or a symbol"),
        ("cmc", {"max_connections": False}, "cmc.max_connections: expected int, got False"),
        ("coins", {"²": {"name": "x"}}, "coins.²: must be a CoinMarketCap id"),
        ("coins", {"01": {"name": "x"}}, "coins.01: must be a CoinMarketCap id"),
        ("coins", {"1" * 5000: {"name": "x"}}, "coins.'111111"),
        ("alerts", [{"price": 1, "coin": 2**31}], "alerts[0].coin: value must be at most"),
    ],
)
def test_whole_numbers_are_exact_and_in_range(section: str, values: Any, expected: str) -> None:
    raw = (
        {**MINIMAL, section: values}
        if not isinstance(values, dict)
        else with_values(section, **values)
    )
    found = problems(raw)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


@pytest.mark.parametrize(
    ("variable", "text", "expected"),
    [
        ("CMC_MQTT_MQTT_PORT", "١٨٨٣", "expected an integer"),
        ("CMC_MQTT_MQTT_PORT", "19001.9", "expected an integer"),
        ("CMC_MQTT_MQTT_PORT", "true", "expected an integer"),
        ("CMC_MQTT_MQTT_DEADBAND", "1e-400", "expected a number a float can hold"),
        ("CMC_MQTT_MQTT_DEADBAND", "1e400", "expected a number a float can hold"),
        ("CMC_MQTT_MQTT_DEADBAND", "NaN", "expected a number"),
        ("CMC_MQTT_CMC_CRYPTO_IDS", "[" * 5000, "is nested too deeply"),
        ("CMC_MQTT_CMC_CRYPTO_IDS", "[" * 40 + "]" * 40, "is nested too deeply"),
        ("CMC_MQTT_AWTRIX", '[{"prefix": NaN}]', "is not valid JSON (NaN"),
    ],
)
def test_environment_numbers_are_ascii_and_what_a_float_holds(
    variable: str, text: str, expected: str
) -> None:
    env = {"CMC_MQTT_CMC_API_KEY": TEST_API_KEY, "CMC_MQTT_CMC_CRYPTO_IDS": "1", variable: text}
    with pytest.raises(ConfigError) as info:
        load_settings(MISSING, environ=env)
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].startswith(f"{variable}: {expected}"), info.value.problems


def test_deeply_nested_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    for depth in (50, 5000):
        path.write_text(f"[cmc]\ncrypto_ids = {'[' * depth}{']' * depth}\n")
        with pytest.raises(ConfigError) as info:
            load_settings(path, environ={})
        assert len(info.value.problems) == 1, info.value.problems
        assert "nested too deeply" in info.value.problems[0]


def test_a_config_file_beyond_its_bound_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with path.open("wb") as file:
        file.truncate(64 << 20)  # sparse: 64 MB of zeros, no disk used
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert info.value.problems == [f"{path}: larger than {load.MAX_CONFIG_BYTES} bytes"]
    with pytest.raises(ConfigError) as info:
        load_settings(Path("/dev/zero"), environ={})
    assert info.value.problems == [f"/dev/zero: larger than {load.MAX_CONFIG_BYTES} bytes"]


# --- the API key -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (INJECTED, "contains a control character or line break (U+000D)"),
        ("abc\x00def", "contains a control character or line break (U+0000)"),
        ("abc\x85def", "contains a control character or line break (U+0085)"),
        ("abc\u2028def", "contains a control character or line break (U+2028)"),
        ("abc\u202edef", "contains an invisible format character (U+202E)"),
        ("abc\u200ddef", "contains an invisible format character (U+200D)"),
        ("abc def", "contains a space (U+0020)"),
        ("abc\ud800def", "not UTF-8 text"),
        ("schlüssel-1234", "contains a character that is not ASCII"),
        ("k" * 257, "longer than 256 characters"),
    ],
)
def test_a_key_that_would_break_the_request_header_is_refused_and_never_shown(
    key: str, why: str, tmp_path: Path
) -> None:
    secret = key.replace("abc", "secret-part-")
    for found in (
        problems({"cmc": {"api_key": secret, "crypto_ids": [1]}}),
        problems({"cmc": {"crypto_ids": [1]}}, {"CMC_API_KEY": secret}),
    ):
        assert len(found) == 1, found
        assert why in found[0], found
        assert "secret-part-" not in found[0]
    if "\ud800" in secret:
        return  # a file holds bytes: see the UTF-8 case below
    key_file = tmp_path / "key"
    key_file.write_text(secret + "\n", encoding="utf-8")
    found = problems({"cmc": {"api_key_file": str(key_file), "crypto_ids": [1]}})
    assert len(found) == 1, found
    assert found[0].startswith("cmc.api_key_file: "), found
    assert why in found[0]
    assert "secret-part-" not in found[0]


def test_a_key_with_a_line_break_from_every_source_exits_2_without_showing_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[cmc]\ncrypto_ids = [1]\napi_key = "secret-part-\\r\\nX-Injected: 1"\n')
    path.chmod(0o600)
    for env in ({}, {"CMC_API_KEY": "secret-part-\nX: 1"}, {"CMC_MQTT_CMC_API_KEY": "s\r\nX"}):
        result = check_config(path, env)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "secret-part" not in result.stderr + result.stdout
        assert "X-Injected" not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


def test_a_key_files_byte_order_mark_and_line_break_are_no_part_of_the_key(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(b"\xef\xbb\xbf" + TEST_API_KEY.encode() + b"\r\n")
    s = parse_settings({"cmc": {"api_key_file": str(key_file), "crypto_ids": [1]}}, environ={})
    assert s.stream.api_key.reveal() == TEST_API_KEY
    key_file.write_bytes(b"\xff\xfe")
    found = problems({"cmc": {"api_key_file": str(key_file), "crypto_ids": [1]}})
    assert found == [f"cmc.api_key_file: {str(key_file)!r} is not UTF-8 text"]


def fifo(folder: Path) -> Path:
    os.mkfifo(folder / "fifo")
    return folder / "fifo"


def sparse_64_mb(folder: Path) -> Path:
    path = folder / "big"
    with path.open("wb") as file:
        file.truncate(64 << 20)
    return path


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda d: Path("/dev/zero"), "is a character device, not a file holding the key"),
        (lambda d: d, "is a directory, not a file holding the key"),
        (fifo, "is a FIFO, not a file holding the key"),
        (sparse_64_mb, f"is larger than {validators.MAX_KEY_FILE_BYTES} bytes"),
        (lambda d: d / "absent", "cannot read"),
    ],
)
def test_api_key_file_must_be_a_small_regular_file_and_is_never_waited_for(
    make: Any, why: str, tmp_path: Path
) -> None:
    path = make(tmp_path)
    found = problems({"cmc": {"api_key_file": str(path), "crypto_ids": [1]}})
    assert len(found) == 1, found
    assert found[0].startswith("cmc.api_key_file: "), found
    assert why in found[0], found


def test_check_config_with_a_fifo_or_dev_zero_as_the_key_file_ends_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    path = tmp_path / "config.toml"
    for key_file in ("/dev/zero", str(tmp_path / "fifo")):
        path.write_text(f'[cmc]\ncrypto_ids = [1]\napi_key_file = "{key_file}"\n')
        assert_one_line_exit_2(check_config(path), "cmc.api_key_file: ")


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "option", "value", "expected"),
    [
        ("mqtt", "topic_prefix", "x" * 65, "topic prefix longer than 64 bytes"),
        ("mqtt", "topic_prefix", "é" * 33, "topic prefix longer than 64 bytes"),
        ("mqtt", "topic_prefix", "a\u202eb", "topic prefix must not contain control"),
        ("homeassistant", "discovery_prefix", "h" * 65, "discovery prefix longer than 64"),
        ("homeassistant", "status_topic", "s" * 129, "status topic longer than 128 bytes"),
        ("homeassistant", "node_id", "n" * 65, "node id longer than 64 bytes"),
        ("mqtt", "client_id", "c" * 129, "longer than 128 bytes"),
        ("mqtt", "client_id", "c\n", "must not contain control"),
        ("mqtt", "host", "h" * 254, "a host name is longer than 253 characters"),
        ("mqtt", "host", "h" * 300, "longer than 269 characters"),
        ("mqtt", "host", "my host", "must not contain spaces"),
        ("mqtt", "username", "u" * 257, "longer than 256 bytes"),
        ("cmc", "fx_topic", "f" * 129, "fx topic longer than 128 bytes"),
        ("cmc", "fx_topic_key", "k" * 65, "longer than 64 characters"),
        ("cmc", "url", "wss://x/\r\nHost: evil", "must not contain spaces, control"),
        ("cmc", "rest_url", "https://" + "r" * 2050, "longer than 2048 characters"),
        ("cmc", "cache_dir", "/tmp/a\nb", "must not contain control"),
        ("text", "template", "t" * 257, "longer than 256 characters"),
    ],
)
def test_long_or_control_laden_text_is_one_line(
    section: str, option: str, value: str, expected: str
) -> None:
    raw = with_values(section, **{option: value})
    if section == "cmc" and option == "fx_topic":
        raw["cmc"].update(currency="EUR", fx_source="mqtt")
    found = problems(raw)
    assert len(found) == 1, found
    assert found[0].startswith(f"{section}.{option}: {expected}"), found
    assert len(found[0]) <= validators.MAX_LINE_CHARS


def test_names_symbols_icons_and_awtrix_templates_are_bounded() -> None:
    raw = {
        **MINIMAL,
        "coins": {"1": {"name": "n" * 65, "symbol": "s" * 17, "slug": "a\u2028b"}},
        "awtrix": [{"prefix": "p" * 65, "template": "t" * 257, "icons": {"1": "i" * 65}}],
    }
    keys = [line.partition(": ")[0] for line in problems(raw)]
    assert sorted(keys) == [
        "awtrix[0].icons.1",
        "awtrix[0].prefix",
        "awtrix[0].template",
        "coins.1.name",
        "coins.1.slug",
        "coins.1.symbol",
    ]


def test_the_bounds_that_hold_still_pass() -> None:
    s = parse_settings(
        {
            **MINIMAL,
            "mqtt": {"topic_prefix": "é" * 32, "client_id": "c" * 128, "host": "h" * 253},
            "text": {"template": "{symbol} 👨\u200d👩\u200d👧 {price}" + "x" * 230},
            "homeassistant": {"node_id": "n" * 64},
        },
        environ={},
    )
    assert s.mqtt.topic_prefix == "é" * 32


@pytest.mark.parametrize(
    ("section", "option"),
    [
        (s.name, option)
        for s in sections().values()
        if s.shape == "flat"
        for option, kind in s.options.items()
        if kind == "str"
    ],
)
def test_a_lone_surrogate_is_refused_in_every_text_option(section: str, option: str) -> None:
    found = problems(with_values(section, **{option: "a\udc80b"}))
    mine = [line for line in found if line.startswith(f"{section}.{option}: ")]
    assert mine, found
    assert all(len(line.splitlines()) == 1 for line in found)


def test_a_key_named_with_a_line_break_is_reported_on_one_line() -> None:
    found = problems(with_values("mqtt", **{"po\nrt": 1}))
    assert found == ["mqtt.'po\\nrt': unknown option (did you mean 'port'?)"]


# --- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"coins": {"1": {"holdings": 1e60}}}, "coins.1.holdings"),
        ({"coins": {"1": {"holdings": "1e2000000"}}}, "coins.1.holdings"),
        ({"coins": {"1": {"holdings": "0." + "1" * 19}}}, "coins.1.holdings"),
        ({"coins": {"1": {"holdings": float("nan")}}}, "coins.1.holdings"),
        ({"cmc": {"fx_rate": 1e60}}, "cmc.fx_rate"),
        ({"cmc": {"fx_rate": 1e-7}}, "cmc.fx_rate"),
        ({"cmc": {"fx_rate": 0.1234567890123}}, "cmc.fx_rate"),
        ({"cmc": {"fx_rate": float("inf")}}, "cmc.fx_rate"),
        ({"alerts": [{"price": 1e16}]}, "alerts[0].price"),
        ({"alerts": [{"change": 1e7}]}, "alerts[0].change"),
        ({"alerts": [{"change": 5, "hysteresis": 1e7}]}, "alerts[0].hysteresis"),
        ({"alerts": [{"price": 5, "hysteresis": 1e-13}]}, "alerts[0].hysteresis"),
        ({"cmc": {"monthly_credit_budget": float("inf")}}, "cmc.monthly_credit_budget"),
        ({"cmc": {"monthly_credit_budget": 1e10}}, "cmc.monthly_credit_budget"),
        ({"cmc": {"credits_per_message": 1e-7}}, "cmc.credits_per_message"),
        ({"cmc": {"credits_per_subscription": float("nan")}}, "cmc.credits_per_subscription"),
    ],
)
def test_every_amount_from_the_config_is_bounded(raw: dict[str, Any], key: str) -> None:
    merged = {**MINIMAL, **raw, "cmc": {**MINIMAL["cmc"], **raw.get("cmc", {})}}
    found = problems(merged)
    assert len(found) == 1, found
    assert found[0].startswith(f"{key}: "), found
    assert len(found[0]) < 200


def test_amounts_at_their_bounds_are_kept_exactly() -> None:
    from decimal import Decimal  # noqa: PLC0415

    s = parse_settings(
        {
            "cmc": {
                **MINIMAL["cmc"],
                "currency": "EUR",
                "fx_source": "fixed",
                "fx_rate": 1e-06,
                "monthly_credit_budget": 1e9,
                "credits_per_message": 0.000001,
            },
            "coins": {"1": {"holdings": "1e18"}, "2": {"holdings": "0." + "1" * 18}},
            "alerts": [{"price": 1e15, "hysteresis": 0.000000000001}, {"change": 1e6}],
        },
        environ={},
    )
    assert s.fx.rate == Decimal("0.000001")
    assert s.holdings == {1: Decimal(10**18), 2: Decimal("0." + "1" * 18)}
    assert (s.credits.monthly_budget, s.credits.per_message) == (1e9, 0.000001)
    assert [r.level for r in s.alerts] == [Decimal(10**15), Decimal(10**6)]


# --- the systemd unit ------------------------------------------------------------------------


def unit_value(key: str) -> list[str]:
    text = (ROOT / "examples" / "cmc-mqtt.service").read_text()
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


def test_the_unit_restarts_on_every_exit_but_a_configuration_error_and_never_gives_up() -> None:
    assert unit_value("Restart") == ["always"]
    assert unit_value("RestartPreventExitStatus") == ["2"]
    assert unit_value("StartLimitIntervalSec") == ["0"]
    (wait,) = unit_value("RestartSec")
    assert int(wait) >= 10, "a crash loop costs stream subscriptions: it must not spin"
