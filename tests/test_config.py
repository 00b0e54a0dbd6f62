from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest

from cmc_mqtt.config import (
    BUDGET_ACTIONS,
    DEFAULT_URL,
    DISCOVERY_MODES,
    PUBLISH_MODES,
    AwtrixSettings,
    BridgeSettings,
    BudgetAction,
    CreditSettings,
    DiscoveryMode,
    HomeAssistantSettings,
    MqttSettings,
    NamesSettings,
    PublishMode,
    Settings,
    StreamSettings,
    TextSettings,
    load_settings,
    parse_settings,
)
from cmc_mqtt.config.env import sections
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.model.fields import FIELD_KEYS
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY

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
        ("cmc", {"crypto_ids": []}, "cmc.crypto_ids: must name at least one coin"),
        ("cmc", {"crypto_ids": [1, "x"]}, "cmc.crypto_ids[1]: 'x' is not a symbol known here"),
        ("cmc", {"crypto_ids": [0]}, "cmc.crypto_ids[0]: a coin id is a number from 1 to"),
        ("cmc", {"crypto_ids": 1}, "cmc.crypto_ids: expected a list of coin ids or symbols"),
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
    assert "cmc.crypto_ids: must name at least one coin" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text('[cmc]\ncrypto_ids = [1]\napi_key = "k"\n')
    path.chmod(0o600)
    result = run_cli("check-config", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_one_pass_finds_what_a_broken_section_used_to_hide() -> None:
    # An unknown section no longer hides the missing key, a type error no longer hides a bad
    # template, and each unknown name gets the likely one.
    found = problems(
        {
            "cmc": {"crypto_id": [1]},
            "homeassistent": {"discovery": True},
            "mqtt": {"port": "abc"},
            "text": {"template": "{prise}"},
        }
    )
    assert found[:4] == [
        "cmc.crypto_id: unknown option (did you mean 'crypto_ids'?)",
        "cmc.crypto_ids: required",
        "homeassistent: unknown section (did you mean 'homeassistant'?)",
        "mqtt.port: expected int, got 'abc'",
    ]
    assert found[4].startswith("cmc.api_key: required")
    assert found[5].startswith("text.template: unknown placeholder {prise}")
    assert len(found) == 6


def test_a_problem_is_said_once_even_when_a_later_check_would_repeat_it() -> None:
    assert problems({"cmc": {"crypto_ids": [1], "api_key": 5}}) == [
        "cmc.api_key: expected string"  # not also "required", and never the value
    ]
    assert problems({"cmc": 3}) == ["cmc: expected a table, got 3"]


PLACEHOLDERS = sorted(
    ["arrow", "change", "change_signed", "id", "name", "portfolio", "portfolio_change", "price",
     "symbol", "value", *FIELD_KEYS]
)  # fmt: skip


def test_clock_and_coin_tables_are_checked_one_by_one() -> None:
    raw = with_section("mqtt", qos=7, deadband=1)
    raw["awtrix"] = [{"prefix": "a", "template": "{nope}"}, {"template": 3}]
    raw["coins"] = {"1": {"nam": "Bitcoin"}}
    assert problems(raw) == [
        "awtrix[1].prefix: required",
        "awtrix[1].template: expected string, got 3",
        "coins.1.nam: unknown option (did you mean 'name'?)",
        "mqtt.qos: must be 0, 1 or 2, got 7",
        'mqtt.deadband: needs mqtt.publish_mode = "changed"',
        "awtrix[0].template: unknown placeholder {nope}; known: " + ", ".join(PLACEHOLDERS),
    ]


def test_defaults_are_the_settings_classes_own() -> None:
    """Each default is written once, in the dataclass; the schema and the example read it."""
    s = parse_settings(MINIMAL, environ={})
    assert s.mqtt == MqttSettings(client_id=s.mqtt.client_id)
    assert s.homeassistant == HomeAssistantSettings()
    assert s.text == TextSettings()
    assert s.credits == CreditSettings()
    assert s.bridge == BridgeSettings()
    assert s.log_level == Settings.__dataclass_fields__["log_level"].default
    assert (s.names.lookup, s.names.rest_url) == (NamesSettings().lookup, NamesSettings().rest_url)
    assert s.stream.max_connections == StreamSettings(DEFAULT_URL, Secret("x"), ()).max_connections
    clock = parse_settings({**MINIMAL, "awtrix": [{"prefix": "a"}]}, environ={}).awtrix[0]
    assert clock == AwtrixSettings(prefix="a")


def test_the_example_config_shows_every_option_with_its_default() -> None:
    text = (ROOT / "config.example.toml").read_text()
    for section in sections().values():
        for option in section.options:
            assert re.search(rf"^#? ?{option} =", text, re.MULTILINE), (section.name, option)
    example = load_settings(ROOT / "config.example.toml", environ={"CMC_API_KEY": "x"})
    defaults = parse_settings(
        with_section("cmc", crypto_ids=list(example.stream.crypto_ids)), environ={}
    )
    for part in ("homeassistant", "text", "credits", "bridge", "log_level", "awtrix", "fx"):
        assert getattr(example, part) == getattr(defaults, part), part
    assert example.mqtt == dataclasses.replace(defaults.mqtt, client_id=example.mqtt.client_id)


def test_modes_are_typed_by_their_literal() -> None:
    assert get_args(PublishMode) == PUBLISH_MODES == ("all", "changed")
    assert get_args(DiscoveryMode) == DISCOVERY_MODES == ("entity", "device")
    assert get_args(BudgetAction) == BUDGET_ACTIONS == ("warn", "stop")
    assert problems(with_section("cmc", on_budget="halt")) == [
        "cmc.on_budget: must be one of warn, stop, got 'halt'"
    ]
    assert problems(with_section("homeassistant", discovery_mode="dev")) == [
        "homeassistant.discovery_mode: must be one of entity, device, got 'dev'"
    ]


def test_the_simulators_placeholder_key_is_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "simulator.toml"
    path.write_text((ROOT / "examples" / "simulator.toml").read_text())
    path.chmod(0o644)
    assert load_settings(path, environ={}).warnings == ()
    path.write_text(path.read_text().replace('"simulator"', f'"{TEST_API_KEY}"'))
    assert any("chmod 600" in w for w in load_settings(path, environ={}).warnings)


def test_check_config_lists_every_problem_in_one_run(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[cmc]\ncrypto_id = [1]\n[homeassistent]\ndiscovery = true\n[text]\ntemplate = "{x}"\n'
    )
    result = run_cli("check-config", "--config", str(path), env={"CMC_API_KEY": ""})
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert "cmc.crypto_id: unknown option (did you mean 'crypto_ids'?)" in lines
    assert "homeassistent: unknown section (did you mean 'homeassistant'?)" in lines
    assert any(line.startswith("cmc.api_key: required") for line in lines)
    assert any(line.startswith("text.template: unknown placeholder {x}") for line in lines)
    assert len(lines) == 5, lines


def test_currency_rate_holdings_and_alerts_are_read_exactly() -> None:
    from decimal import Decimal  # noqa: PLC0415

    raw = {
        "cmc": {**MINIMAL["cmc"], "currency": "eur", "fx_source": "fixed", "fx_rate": 0.92},
        "coins": {"1": {"holdings": 0.1}, "1027": {"holdings": "0.123456789012345678"}},
        "alerts": [{"price": 100000, "coin": 1}, {"change": 5, "direction": "down"}],
        "awtrix": [{"prefix": "c", "chart_points": 8, "notify_alerts": True, "indicator": 2}],
    }
    s = parse_settings(raw, environ={})
    assert (s.fx.currency, s.fx.source, s.fx.rate, s.fx.max_age) == (
        "EUR",
        "fixed",
        Decimal("0.92"),
        None,
    )
    assert s.holdings == {1: Decimal("0.1"), 1027: Decimal("0.123456789012345678")}
    assert s.names.overrides == {}  # a table with only holdings overrides no name
    assert [(r.kind, r.level, r.coin) for r in s.alerts] == [
        ("price", Decimal(100000), 1),
        ("change", Decimal(5), None),
    ]
    extras = s.awtrix[0].extras
    assert (extras.chart_points, extras.notify_alerts, extras.indicator) == (8, True, 2)
    cmc = parse_settings(with_section("cmc", currency="JPY"), environ={}).fx
    assert (cmc.source, cmc.interval, cmc.max_age) == ("coinmarketcap", 900.0, 2760.0)


def test_money_options_that_cannot_work_are_one_line_each() -> None:
    raw = {
        "cmc": {
            **MINIMAL["cmc"],
            "currency": "EURO",
            "fx_source": "ecb",
            "fx_interval": 10,
            "fx_rate": -1,
        },
        "coins": {"1": {"holdings": -2}, "2": {"holdings": "lots"}},
        "alerts": [{"price": 1, "change": 2}, {"price": 0, "direction": "sideways"}],
        "awtrix": [{"prefix": "c", "chart_points": 40, "indicator": 4}],
    }
    assert problems(raw) == [
        "alerts[1].direction: must be one of up, down, both, got 'sideways'",
        "cmc.currency: expected an ISO 4217 code such as \"EUR\", got 'EURO'",
        "cmc.fx_interval: value must be at least 60, got 10",
        "cmc.fx_source: must be one of coinmarketcap, mqtt, fixed, got 'ecb'",
        "cmc.fx_rate: expected units of the currency per US dollar, from 0.000001 up to 10^9, "
        "at most 12 significant digits, got -1",
        "coins.1.holdings: expected a number of coins from 0 up to 10^18, at most 18 decimals, "
        "got -2",
        "coins.2.holdings: expected a number of coins from 0 up to 10^18, at most 18 decimals, "
        "got 'lots'",
        "alerts[1].price: expected a price above 0 up to 10^15, at most 12 decimals, got 0",
        "alerts[0]: give exactly one of price (a level) or change (a percent)",
        "awtrix[0].chart_points: expected 0 or 2..16, got 40",
        "awtrix[0].indicator: expected 1, 2 or 3, got 4",
    ]
    assert problems(with_section("cmc", currency="EUR", fx_source="mqtt")) == [
        'cmc.fx_topic: required with fx_source = "mqtt"'
    ]
    assert problems(with_section("cmc", currency="EUR", fx_source="fixed")) == [
        'cmc.fx_rate: required with fx_source = "fixed"'
    ]
    assert problems(with_section("cmc", currency="EUR", fx_max_age=600)) == [
        "cmc.fx_max_age: must be more than fx_interval (900 s), or every rate would go stale "
        "before the next one comes"
    ]
