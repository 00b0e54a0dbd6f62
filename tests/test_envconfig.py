"""Configuration by environment variables: every option as CMC_MQTT_<SECTION>_<KEY>."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmc_mqtt.config import load_settings, schema
from cmc_mqtt.config.env import EnvOverlay, sections
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.model import fields
from harness.helpers import TEST_API_KEY

MISSING = Path("/nonexistent/cmc-mqtt.toml")
MINIMAL_ENV = {"CMC_MQTT_CMC_API_KEY": TEST_API_KEY, "CMC_MQTT_CMC_CRYPTO_IDS": "1,1027"}


def problems(env: dict[str, str], path: Path = MISSING) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_settings(path, environ=env)
    return exc.value.problems


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_every_section_and_option_of_the_schema_is_reachable() -> None:
    found = sections()
    assert set(found) == {str(k) for k in schema.ROOT_SCHEMA.schema}
    for section in found.values():
        assert section.options, section.name
    assert found["coins"].shape == "keyed"
    assert found["awtrix"].shape == "list"
    kinds = {(s, k): kind for s, sec in found.items() for k, kind in sec.options.items()}
    assert kinds[("mqtt", "port")] == "int"
    assert kinds[("mqtt", "retain")] == "bool"
    assert kinds[("mqtt", "deadband")] == "number"
    assert kinds[("mqtt", "host")] == "str"
    assert kinds[("cmc", "crypto_ids")] == "coin_list"
    assert kinds[("homeassistant", "enabled_fields")] == "str_list"
    assert kinds[("awtrix", "icons")] == "table"


@pytest.mark.parametrize(
    ("section", "option", "kind"),
    [
        (s.name, option, kind)
        for s in sections().values()
        if s.shape == "flat"
        for option, kind in s.options.items()
        if kind != "str"
    ],
)
def test_every_typed_option_is_typed_and_named_by_its_variable(
    section: str, option: str, kind: str
) -> None:
    var = f"CMC_MQTT_{section.upper()}_{option.upper()}"
    found = problems({**MINIMAL_ENV, var: "not-a-value"})
    assert [p for p in found if p.startswith((f"{var}: ", f"{var} ("))], found


def test_environment_alone_is_a_complete_configuration() -> None:
    env = {
        **MINIMAL_ENV,
        "CMC_MQTT_CMC_LOOKUP_NAMES": "false",
        "CMC_MQTT_MQTT_HOST": "mosquitto",
        "CMC_MQTT_MQTT_PORT": "1884",
        "CMC_MQTT_MQTT_RETAIN": "yes",
        "CMC_MQTT_MQTT_PUBLISH_MODE": "changed",
        "CMC_MQTT_MQTT_DEADBAND": "0.5",
        "CMC_MQTT_HOMEASSISTANT_ENABLED_FIELDS": '["p", "p24h"]',
        "CMC_MQTT_HOMEASSISTANT_STALE_AFTER": "90",
        "CMC_MQTT_LOG_LEVEL": "debug",
    }
    s = load_settings(MISSING, environ=env)
    assert s.stream.api_key.reveal() == TEST_API_KEY
    assert s.stream.crypto_ids == (1, 1027)
    assert not s.names.lookup
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.retain) == ("mosquitto", 1884, True)
    assert (s.mqtt.publish_mode, s.mqtt.deadband) == ("changed", 0.5)
    assert s.homeassistant.enabled_fields == ("p", "p24h")
    assert s.homeassistant.stale_after == 90.0
    assert s.log_level == "debug"


def test_variables_override_the_file_and_the_rest_of_the_file_stays(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'[cmc]\napi_key = "{TEST_API_KEY}"\ncrypto_ids = [1]\n'
        '[mqtt]\nhost = "file-host"\nport = 1883\ntopic_prefix = "file"\n',
    )
    s = load_settings(path, environ={"CMC_MQTT_MQTT_HOST": "env-host"})
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.topic_prefix) == ("env-host", 1883, "file")
    assert s.stream.crypto_ids == (1,)


def test_lists_as_commas_or_json_and_empty_variables_count_as_unset() -> None:
    for text in ("1, 1027,52", "[1, 1027, 52]"):
        env = {**MINIMAL_ENV, "CMC_MQTT_CMC_CRYPTO_IDS": text, "CMC_MQTT_MQTT_HOST": ""}
        s = load_settings(MISSING, environ=env)
        assert s.stream.crypto_ids == (1, 1027, 52)
        assert s.mqtt.host == "localhost"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("On", True), ("1", True), ("false", False), ("no", False), ("0", False)],
)
def test_booleans_in_the_usual_spellings(text: str, expected: bool) -> None:
    s = load_settings(MISSING, environ={**MINIMAL_ENV, "CMC_MQTT_HOMEASSISTANT_DISCOVERY": text})
    assert s.homeassistant.discovery is expected


def test_every_problem_in_one_pass_each_naming_its_variable() -> None:
    found = problems(
        {
            "CMC_MQTT_CMC_API_KEY": TEST_API_KEY,
            "CMC_MQTT_CMC_CRYPTO_IDS": "1,0",
            "CMC_MQTT_MQTT_PORT": "abc",
            "CMC_MQTT_MQTT_QOS": "5",
            "CMC_MQTT_MQTT_HSOT": "x",
            "CMC_MQTT_MQQT_HOST": "x",
            "CMC_MQTT_MQTT_RETAIN": "maybe",
            "CMC_MQTT_HOMEASSISTANT_ENABLED_FIELDS": "p,price",
        }
    )
    assert sorted(found) == sorted(
        [
            "CMC_MQTT_CMC_CRYPTO_IDS (cmc.crypto_ids[1]): a coin id is a number from 1 to "
            "2147483647, got 0",
            "CMC_MQTT_MQTT_PORT: expected an integer, got 'abc'",
            "CMC_MQTT_MQTT_QOS: must be 0, 1 or 2, got 5",
            "CMC_MQTT_MQTT_HSOT: unknown option 'hsot' in [mqtt] (did you mean 'host'?)",
            "CMC_MQTT_MQQT_HOST: unknown section 'mqqt' (did you mean 'mqtt'?); sections are "
            "cmc, mqtt, homeassistant, coins, text, awtrix, alerts, log, bridge",
            "CMC_MQTT_MQTT_RETAIN: expected true or false, got 'maybe'",
            "CMC_MQTT_HOMEASSISTANT_ENABLED_FIELDS: unknown field 'price'; fields are "
            + ", ".join(fields.FIELD_KEYS)
            + ", got ['p', 'price']",
        ]
    )


def test_a_missing_option_names_the_variable_or_offers_it(tmp_path: Path) -> None:
    assert problems({"CMC_MQTT_CMC_API_KEY": TEST_API_KEY}) == ["CMC_MQTT_CMC_CRYPTO_IDS: required"]
    path = write(tmp_path, f'[cmc]\napi_key = "{TEST_API_KEY}"\n')
    assert problems({"CMC_MQTT_MQTT_PORT": "1884"}, path) == [
        "cmc.crypto_ids: required (or set CMC_MQTT_CMC_CRYPTO_IDS)"
    ]


def test_problems_in_file_values_still_name_the_file_key(tmp_path: Path) -> None:
    text = f'[cmc]\napi_key = "{TEST_API_KEY}"\ncrypto_ids = [1]\n[mqtt]\nqos = 7\n'
    path = write(tmp_path, text)
    assert problems({"CMC_MQTT_MQTT_PORT": "1884"}, path) == ["mqtt.qos: must be 0, 1 or 2, got 7"]


def test_coin_names_and_clocks_by_numbered_variables() -> None:
    env = {
        **MINIMAL_ENV,
        "CMC_MQTT_COINS_1027_NAME": "Ether",
        "CMC_MQTT_AWTRIX_0_PREFIX": "awtrix_kitchen",
        "CMC_MQTT_AWTRIX_1_PREFIX": "awtrix_office",
        "CMC_MQTT_AWTRIX_1_LIFETIME": "300",
        "CMC_MQTT_AWTRIX_1_ICONS": '{"1": "bitcoin"}',
    }
    s = load_settings(MISSING, environ=env)
    assert s.names.overrides[1027].name == "Ether"
    assert [c.prefix for c in s.awtrix] == ["awtrix_kitchen", "awtrix_office"]
    assert (s.awtrix[1].lifetime, s.awtrix[1].icons) == (300, {1: "bitcoin"})


def test_numbered_tables_report_gaps_and_missing_options_by_variable() -> None:
    found = problems(
        {
            **MINIMAL_ENV,
            "CMC_MQTT_AWTRIX_0_TEMPLATE": "{symbol}",
            "CMC_MQTT_AWTRIX_2_PREFIX": "far",
            "CMC_MQTT_COINS_X_NAME": "x",
        }
    )
    assert sorted(found) == [
        "CMC_MQTT_AWTRIX_0_PREFIX: required",
        "CMC_MQTT_AWTRIX_2_PREFIX: [[awtrix]] tables are numbered from 0 without gaps; "
        "set CMC_MQTT_AWTRIX_1_... first",
        "CMC_MQTT_COINS_X_NAME: expected CMC_MQTT_COINS_<ID>_<OPTION>, "
        "e.g. CMC_MQTT_COINS_1027_NAME",
    ]


def test_a_whole_section_as_json() -> None:
    env = {**MINIMAL_ENV, "CMC_MQTT_AWTRIX": '[{"prefix": "a"}, {"prefix": "b/+"}]'}
    assert problems(env) == [
        "CMC_MQTT_AWTRIX (awtrix[1].prefix): prefix must not contain '+', got 'b/+'"
    ]
    assert problems({**MINIMAL_ENV, "CMC_MQTT_COINS": "[1]"}) == [
        "CMC_MQTT_COINS: expected a JSON object"
    ]


def test_a_key_variable_replaces_the_files_key_file_and_is_never_shown(tmp_path: Path) -> None:
    path = write(tmp_path, '[cmc]\napi_key_file = "/nonexistent/key"\ncrypto_ids = [1]\n')
    s = load_settings(path, environ={"CMC_MQTT_CMC_API_KEY": TEST_API_KEY})
    assert s.stream.api_key.reveal() == TEST_API_KEY
    found = problems({**MINIMAL_ENV, "CMC_MQTT_MQTT_PORT": "0"})
    assert not [p for p in found if TEST_API_KEY in p]


def test_without_variables_the_overlay_changes_nothing() -> None:
    assert not EnvOverlay({"PATH": "/bin", "CMC_API_KEY": "x", "CMC_MQTT_EMPTY": ""})


def test_check_config_from_the_environment_alone_and_exit_2_on_problems(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMC_")}
    command = [sys.executable, "-m", "cmc_mqtt", "check-config", "--config", str(MISSING)]
    good = subprocess.run(
        command,
        env={**env, **MINIMAL_ENV},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert "2 coins" in good.stdout
    bad = subprocess.run(
        command,
        env={**env, **MINIMAL_ENV, "CMC_MQTT_MQTT_PORT": "x", "CMC_MQTT_LOG_LEVEL": "loud"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert sorted(lines) == [
        "CMC_MQTT_LOG_LEVEL: must be one of debug, info, warning, error, got 'loud'",
        "CMC_MQTT_MQTT_PORT: expected an integer, got 'x'",
    ]
    assert "Traceback" not in bad.stderr
