"""The Home Assistant add-on: its files against the Supervisor's rules, and its start-up mapping
against a fake Supervisor on loopback, a real mosquitto and the fake stream."""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import pytest
import voluptuous as vol
import yaml

from cmc_mqtt import addon
from cmc_mqtt.config import (
    BUDGET_ACTIONS,
    DEFAULT_ENABLED,
    DISCOVERY_MODES,
    LOG_LEVELS,
    PUBLISH_MODES,
    BridgeSettings,
    CreditSettings,
    addon_options,
    load_settings,
)
from cmc_mqtt.config import schema as bridge_schema
from cmc_mqtt.config.toml_text import to_toml
from cmc_mqtt.model.bounds import HOLDING_PLACES, MAX_HOLDING, parse_amount
from cmc_mqtt.model.fields import FIELD_KEYS
from cmc_mqtt.money.alerts import AlertRule, Directions
from cmc_mqtt.money.rate import SOURCES, FxSettings
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.version import VERSION
from harness.fake_supervisor import TOKEN, FakeSupervisor
from harness.helpers import TEST_API_KEY, Broker, Subscriber, free_port
from harness.pki import PASSWORD, password_broker
from harness.supervisor_options import (
    CONFIG_SCHEMA,
    TRANSLATION,
    parse_element,
    supervisor_options,
)

from .test_bridge_requests import ask

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "cmc-mqtt"
HOLDING = "expected a number of coins from 0 up to 10^18, at most 18 decimals, "
PORT = "mqtt_port: expected a port number from 1 to 65535, got "

# The Supervisor's rules for an add-on's config.yaml (its developer documentation); its option
# schema language is modelled in harness/supervisor_options.py.
REQUIRED_KEYS = ("name", "version", "slug", "description", "arch")
ARCHES = {"aarch64", "amd64"}  # ARCH_ALL; armhf, armv7 and i386 are deprecated
RE_SLUG = re.compile(r"^[-_.A-Za-z0-9]+$")
RE_SERVICE = re.compile(r"^(?P<service>mqtt|mysql):(?P<rights>provide|want|need)$")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def addon_config() -> dict[str, Any]:
    data = load_yaml(ADDON / "config.yaml")
    assert isinstance(data, dict)
    return data


def choices(typ: str) -> tuple[str, ...]:
    kind, args, _optional = parse_element(typ)
    assert kind == "list", typ
    assert args, typ
    return tuple(args.split("|"))


# --- the add-on's files -----------------------------------------------------------------------


def test_config_yaml_follows_the_supervisors_rules() -> None:
    cfg = addon_config()
    for key in REQUIRED_KEYS:
        assert cfg.get(key), f"config.yaml: {key} is required"
    assert set(cfg["arch"]) == ARCHES
    assert RE_SLUG.match(cfg["slug"])
    assert cfg["slug"] == ADDON.name, "the folder is named after the slug"
    assert cfg["services"] == ["mqtt:need"]
    assert all(RE_SERVICE.match(s) for s in cfg["services"])
    assert cfg["init"] is False, "the bridge is PID 1 and handles SIGTERM itself (no children)"
    assert cfg["version"] == VERSION
    # A prebuilt image per architecture (tests/test_release.py checks the workflow pushes it).
    assert re.fullmatch(r"ghcr\.io/[\w.-]+/\{arch\}-addon-[\w.-]+", cfg["image"])


def test_the_schema_and_its_defaults_pass_the_supervisors_checks_and_only_the_key_is_left() -> None:
    cfg = addon_config()
    schema, defaults = cfg["schema"], cfg["options"]
    CONFIG_SCHEMA(schema)
    assert set(defaults) <= set(schema)
    # What the Supervisor writes for a user who typed only the key: the defaults, as they are
    # (it refuses an option missing that has no default and no "?").
    assert supervisor_options(cfg, {"api_key": TEST_API_KEY}) == {
        **defaults, "api_key": TEST_API_KEY, "deadband": 0.0
    }  # fmt: skip
    with pytest.raises(vol.Invalid, match="Missing option 'api_key' in root"):
        supervisor_options(cfg, {})
    assert schema["api_key"] == "password", "the key is shown masked in the UI"


def test_the_options_are_the_mapping_table_and_every_one_is_translated() -> None:
    cfg = addon_config()
    schema = cfg["schema"]
    assert list(schema) == [o.name for o in addon_options.OPTIONS]
    sections = {
        "cmc": bridge_schema.CMC_SCHEMA,
        "mqtt": bridge_schema.MQTT_SCHEMA,
        "log": bridge_schema.LOG_SCHEMA,
        "homeassistant": bridge_schema.HOMEASSISTANT_SCHEMA,
        "text": bridge_schema.TEXT_SCHEMA,
        "bridge": bridge_schema.BRIDGE_SCHEMA,
        "coins": bridge_schema.COIN_SCHEMA,
    }  # fmt: skip
    for option in addon_options.OPTIONS:
        if option.shape == "tables":  # the entries' keys are the bridge's table's, all of them
            assert schema[option.name][0].keys() == {
                str(k) for k in bridge_schema.ALERT_SCHEMA.schema
            }
            assert option.section == "alerts"
        else:
            assert option.key in {str(k) for k in sections[option.section].schema}, option
        if option.shape == "per_coin":
            assert schema[option.name][0].keys() == {addon_options.COIN, addon_options.AMOUNT}
            assert option.section == "coins"
    translations = load_yaml(ADDON / "translations" / "en.yaml")["configuration"]
    assert set(translations) == set(schema)
    for name, text in translations.items():
        assert TRANSLATION(text) == text, name
        assert text.get("description"), name
        element = schema[name][0] if isinstance(schema[name], list) else schema[name]
        if isinstance(element, dict):  # the UI names each field of an entry too
            assert text["fields"].keys() == element.keys(), name
            assert all(f.get("name") and f.get("description") for f in text["fields"].values())
        else:
            assert "fields" not in text, name


def test_choices_are_the_bridges_own() -> None:
    schema = addon_config()["schema"]
    assert choices(schema["enabled_fields"][0]) == FIELD_KEYS
    assert choices(schema["publish_mode"]) == PUBLISH_MODES
    assert choices(schema["discovery_mode"]) == DISCOVERY_MODES
    assert choices(schema["log_level"]) == LOG_LEVELS
    assert choices(schema["fx_source"]) == SOURCES
    assert choices(schema["on_budget"]) == BUDGET_ACTIONS
    assert choices(schema["alerts"][0]["direction"]) == get_args(Directions)
    assert tuple(addon_config()["options"]["enabled_fields"]) == DEFAULT_ENABLED


@pytest.mark.parametrize(
    ("amount", "accepted"),
    [
        ("0.123456789012345678", "0.123456789012345678"), (0.25, "0.25"), (2, "2"),
        (1e-08, "1e-08"), (" 3.5 ", " 3.5 "), ("+1.", "+1."), (".5", ".5"),
        ("-1", None), ("0,25", None), ("abc", None), ("", None), ("1e", None), ("nan", None),
    ],
)  # fmt: skip
def test_a_holding_amount_is_text_the_supervisor_checks_and_the_bridge_reads(
    amount: Any, accepted: str | None
) -> None:
    """`match(…)` rather than `str`: YAML's unquoted `amount: 0.25` is a float, which `str`
    refuses and `match` takes as its text. What it takes, the bridge takes."""
    cfg = addon_config()
    holdings = [{"coin": 1, "amount": amount}]
    if accepted is None:
        with pytest.raises(vol.Invalid):
            supervisor_options(cfg, {"api_key": TEST_API_KEY, "holdings": holdings})
        return
    written = supervisor_options(cfg, {"api_key": TEST_API_KEY, "holdings": holdings})
    assert written["holdings"] == [{"coin": 1, "amount": accepted}]
    held = parse_amount(accepted, "x", maximum=MAX_HOLDING, places=HOLDING_PLACES)
    assert held == Decimal(accepted)


def test_build_files_and_repository() -> None:
    assert not (ADDON / "build.yaml").exists(), "deprecated: the Dockerfile names its base"
    dockerfile = (ADDON / "Dockerfile").read_text()
    assert re.search(r"^FROM debian:bookworm-slim$", dockerfile, re.MULTILINE)
    assert "cmc-mqtt==" not in dockerfile, "the image holds the release's wheel, not PyPI's"
    assert os.access(ADDON / "run.sh", os.X_OK)
    repository = load_yaml(ROOT / "repository.yaml")
    assert repository["name"]
    assert repository["maintainer"]
    assert repository["url"] == "https://github.com/cmc-mqtt/cmc-mqtt"
    assert (ADDON / "DOCS.md").read_text().startswith("# cmc-mqtt")


@pytest.mark.parametrize(("name", "size"), [("icon.png", (128, 128)), ("logo.png", (250, 100))])
def test_icon_and_logo_are_small_pngs(name: str, size: tuple[int, int]) -> None:
    data = (ADDON / name).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == size
    assert len(data) < 20_000


def test_the_store_finds_exactly_one_addon_in_the_repository() -> None:
    """The Supervisor's store reads every tracked `config.{yaml,yml,json}` outside dot folders
    and `rootfs` as an add-on (supervisor/store/data.py): there must be just ours."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()
    found = [
        f
        for f in files
        if re.fullmatch(r"(.*/)?config\.(yaml|yml|json)", f)
        and not any(p.startswith(".") or p == "rootfs" for p in f.split("/"))
    ]
    assert found == ["cmc-mqtt/config.yaml"]


# --- the mapping ------------------------------------------------------------------------------


def options(**changes: Any) -> dict[str, Any]:
    base = {**addon_config()["options"], "api_key": TEST_API_KEY, "lookup_names": False}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def environ(data: Path, supervisor: FakeSupervisor | None, **more: str) -> dict[str, str]:
    env = {addon.DATA_ENV: str(data), addon.TOKEN_ENV: TOKEN, **more}
    if supervisor is not None:
        env[addon.SUPERVISOR_URL_ENV] = supervisor.url
    return env


def write_options(data: Path, values: dict[str, Any]) -> None:
    data.mkdir(parents=True, exist_ok=True)
    (data / "options.json").write_text(json.dumps(values))


@pytest.fixture
def supervisor() -> Any:
    fake = FakeSupervisor(
        {"host": "core-mosquitto", "port": 1883, "username": "addons", "password": "s3cret-pw"}
    ).start()
    yield fake
    fake.stop()


def test_the_supervisors_mqtt_service_becomes_the_bridges_broker(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    write_options(tmp_path, options(coins=[1, 1027, 52], topic_prefix="prices"))
    path, line = addon.prepare(environ(tmp_path, supervisor))
    assert supervisor.requests == [("/services/mqtt", f"Bearer {TOKEN}")]
    assert path == tmp_path / "cmc-mqtt.toml"
    assert path.stat().st_mode & 0o777 == 0o600
    s = load_settings(path, environ={})
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.username) == ("core-mosquitto", 1883, "addons")
    assert s.mqtt.password is not None
    assert s.mqtt.password.reveal() == "s3cret-pw"
    assert s.stream.api_key.reveal() == TEST_API_KEY
    assert s.stream.crypto_ids == (1, 1027, 52)
    assert s.mqtt.topic_prefix == "prices"
    assert s.names.cache_dir == tmp_path / "cache"
    assert line == (
        "cmc-mqtt add-on: 3 coins, MQTT broker core-mosquitto:1883, user addons "
        "(Supervisor MQTT service)"
    )


def test_the_start_up_line_counts_one_coin_as_one(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    write_options(tmp_path, options(coins=[1]))
    _, line = addon.prepare(environ(tmp_path, supervisor))
    assert line.startswith("cmc-mqtt add-on: 1 coin, MQTT broker ")


def test_a_broker_in_the_options_is_used_without_asking_the_supervisor(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    write_options(tmp_path, options(mqtt_host="192.0.2.7", mqtt_username="me", mqtt_password="pw"))
    path, _ = addon.prepare(environ(tmp_path, supervisor))
    s = load_settings(path, environ={})
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.username) == ("192.0.2.7", 1883, "me")
    assert supervisor.requests == []


@pytest.mark.parametrize(
    ("mqtt_host", "mqtt_port", "expected"),
    [
        ("mqtt://192.0.2.7:18831", None, ("192.0.2.7", 18831, False)),
        ("mqtts://broker.lan", None, ("broker.lan", 8883, True)),
        ("mqtts://broker.lan", 9883, ("broker.lan", 9883, True)),
        ("192.0.2.7:1884", 1884, ("192.0.2.7", 1884, False)),
    ],
)
def test_a_broker_in_the_options_may_be_a_url(
    supervisor: FakeSupervisor,
    tmp_path: Path,
    mqtt_host: str,
    mqtt_port: int | None,
    expected: tuple[str, int, bool],
) -> None:
    write_options(tmp_path, options(mqtt_host=mqtt_host, mqtt_port=mqtt_port))
    path, line = addon.prepare(environ(tmp_path, supervisor))
    s = load_settings(path, environ={})
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.tls.enabled) == expected
    assert "://" not in path.read_text()
    assert line.endswith(
        f"MQTT broker {expected[0]}:{expected[1]}"
        + (" (TLS)" if expected[2] else "")
        + " (add-on options)"
    )
    assert supervisor.requests == []


def test_a_broker_url_the_addon_cannot_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write_options(tmp_path, options(mqtt_host="http://192.0.2.7:1883"))
    result = run_addon(environ(tmp_path, None))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "mqtt_host: http:// does not name an MQTT broker (got 'http://192.0.2.7:1883'); write "
        "the host alone, host:port, mqtt://host:port or mqtts://host:port (TLS)"
    ]
    write_options(tmp_path, options(mqtt_host="mqtt://192.0.2.7:1884", mqtt_port=1885))
    result = run_addon(environ(tmp_path, None))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "mqtt_host: names port 1884 and mqtt_port says 1885; give the port once"
    ]
    assert not (tmp_path / "cmc-mqtt.toml").exists()


def supervised(**changes: Any) -> dict[str, Any]:
    """What the Supervisor writes to options.json for these options: checked and converted."""
    return supervisor_options(addon_config(), options(**changes))


def test_currency_holdings_alerts_and_the_budget_become_the_bridges_tables(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    write_options(
        tmp_path,
        supervised(
            currency="EUR", fx_source="fixed", fx_rate=0.92,
            holdings=[{"coin": 1, "amount": "0.123456789012345678"}, {"coin": 1027, "amount": 2}],
            alerts=[
                {"price": 100000, "coin": 1, "direction": "up"}, {"change": 5, "hysteresis": 0.5}
            ],
            monthly_credit_budget=200000, on_budget="stop", allow_requests=False,
        ),
    )  # fmt: skip
    path, _ = addon.prepare(environ(tmp_path, supervisor))
    text = path.read_text()
    assert '[coins.1]\nholdings = "0.123456789012345678"' in text
    assert text.count("[[alerts]]") == 2
    raw = tomllib.loads(text)
    assert raw["coins"] == {"1": {"holdings": "0.123456789012345678"}, "1027": {"holdings": "2"}}
    assert raw["alerts"] == [
        {"price": 100000.0, "coin": 1, "direction": "up"}, {"change": 5.0, "hysteresis": 0.5}
    ]  # fmt: skip
    s = load_settings(path, environ={})
    assert (s.fx.currency, s.fx.source, s.fx.rate) == ("EUR", "fixed", Decimal("0.92"))
    assert s.holdings == {1: Decimal("0.123456789012345678"), 1027: Decimal(2)}
    assert s.alerts == (
        AlertRule("price", Decimal(100000), "up", None, 1),
        AlertRule("change", Decimal(5), "both", Decimal("0.5"), None),
    )
    assert (s.credits.monthly_budget, s.credits.on_budget) == (200000.0, "stop")
    assert s.bridge.allow_requests is False
    # Holdings and coins changed over MQTT go to state.json there: the add-on's persistent /data.
    assert s.names.cache_dir == tmp_path / "cache"


def test_a_rate_from_an_mqtt_topic(supervisor: FakeSupervisor, tmp_path: Path) -> None:
    write_options(
        tmp_path,
        supervised(currency="chf", fx_source="mqtt", fx_topic="home/fx/usd_chf", fx_inverted=True),
    )
    path, _ = addon.prepare(environ(tmp_path, supervisor))
    fx = load_settings(path, environ={}).fx
    assert (fx.currency, fx.source, fx.inverted) == ("CHF", "mqtt", True)
    assert fx.topic == "home/fx/usd_chf"
    write_options(tmp_path, supervised(currency="EUR", fx_interval=3600))
    path, _ = addon.prepare(environ(tmp_path, supervisor))
    fx = load_settings(path, environ={}).fx
    assert (fx.source, fx.interval) == ("coinmarketcap", 3600.0)


def test_options_left_unset_keep_the_bridges_defaults(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    write_options(tmp_path, supervised())
    path, _ = addon.prepare(environ(tmp_path, supervisor))
    text = path.read_text()
    for key in ("currency", "fx_", "holdings", "alerts", "budget", "allow_requests"):
        assert key not in text
    s = load_settings(path, environ={})
    assert s.fx == FxSettings()
    assert s.credits == CreditSettings()
    assert s.bridge == BridgeSettings()
    assert (s.holdings, s.alerts) == ({}, ())


def test_to_toml_writes_nested_tables_arrays_of_tables_and_any_text() -> None:
    raw = {
        "cmc": {"api_key": 'k"\\\n\t\x7f\x01 é 🚀', "crypto_ids": [1, 2], "fx_rate": 0.92},
        "coins": {"1": {"holdings": "0.25"}, "1027": {"holdings": "2", "name": "Ether"}},
        "text": {"template": "{symbol} 🚀 {price}", "enabled": False},
        "alerts": [{"price": 1.5, "coin": 1}, {"change": 5.0}],
        "odd keys": {"a.b": {"c d": 1}},
    }
    assert tomllib.loads(to_toml(raw, header="a test")) == raw


def run_addon(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CMC_", "SUPERVISOR"))}
    return subprocess.run(
        [sys.executable, "-m", "cmc_mqtt.addon"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_an_mqtt_service_one_line_and_exit_1(tmp_path: Path) -> None:
    fake = FakeSupervisor(None).start()
    try:
        write_options(tmp_path, options())
        result = run_addon(environ(tmp_path, fake))
    finally:
        fake.stop()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "no MQTT broker: the Supervisor offers no MQTT service; install and start the "
        "Mosquitto broker app, or set mqtt_host in this add-on's options"
    ]
    assert not (tmp_path / "cmc-mqtt.toml").exists()


def test_a_refused_token_and_an_absent_supervisor_are_one_line_each(tmp_path: Path) -> None:
    fake = FakeSupervisor({"host": "h", "port": 1883}, token="another").start()
    try:
        write_options(tmp_path, options())
        refused = run_addon(environ(tmp_path, fake))
    finally:
        fake.stop()
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "the Supervisor refused the MQTT service request: HTTP 401 Unauthorized"
    )
    gone = run_addon(
        {**environ(tmp_path, None), addon.SUPERVISOR_URL_ENV: f"http://127.0.0.1:{free_port()}"}
    )
    assert gone.returncode == 1
    assert len(gone.stderr.strip().splitlines()) == 1
    assert "cannot ask the Supervisor" in gone.stderr


def test_bad_options_are_one_line_each_named_by_option_and_exit_2(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    write_options(
        tmp_path, options(api_key=" ", coins=[], topic_prefix="a/+", mqtt_password="s3cret-pw")
    )
    result = run_addon(environ(tmp_path, supervisor))
    assert result.returncode == 2
    assert sorted(result.stderr.strip().splitlines()) == [
        "api_key: required: your CoinMarketCap API key (Startup plan or above), "
        "in this add-on's Configuration tab",
        "coins: must name at least one coin, got []",
        "topic_prefix: topic prefix must not contain '+', got 'a/+'",
    ]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cmc-mqtt.toml").exists()


def test_bad_holdings_alerts_and_money_options_are_named_by_option(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    """Written past the Supervisor (it refuses most of these itself): the add-on and the bridge
    still name each by the add-on's option and the entry, one line each."""
    holdings = [
        {"coin": 1, "amount": "abc"}, {"coin": 1, "amount": "2"}, {"coin": 0, "amount": "1"},
        {"coin": 52}, {"coin": 74, "amount": "-3"}, 7,
    ]  # fmt: skip
    alerts = [{"price": 0}, {"change": 5, "direction": "sideways"}, {"price": 5, "change": 1}]
    write_options(
        tmp_path,
        options(
            holdings=holdings, alerts=alerts, currency="EURO", fx_interval=10,
            monthly_credit_budget=0, on_budget="never", allow_requests="no",
        ),
    )  # fmt: skip
    result = run_addon(environ(tmp_path, supervisor))
    assert result.returncode == 2
    assert sorted(result.stderr.strip().splitlines()) == [
        "alerts[0].price: expected a price above 0 up to 10^15, at most 12 decimals, got 0",
        "alerts[1].direction: must be one of up, down, both, got 'sideways'",
        "alerts[2]: give exactly one of price (a level) or change (a percent)",
        "allow_requests: expected bool, got 'no'",
        "currency: expected an ISO 4217 code such as \"EUR\", got 'EURO'",
        "fx_interval: value must be at least 60, got 10",
        "holdings[0].amount: " + HOLDING + "got 'abc'",
        "holdings[1].coin: coin 1 is in holdings[0] too",
        "holdings[2].coin: expected a CoinMarketCap id, got 0",
        "holdings[3].amount: required: how many coins you hold",
        "holdings[4].amount: " + HOLDING + "got '-3'",
        "holdings[5]: expected {coin, amount}, got 7",
        "monthly_credit_budget: value must be at least 1, got 0",
        "on_budget: must be one of warn, stop, got 'never'",
    ]
    assert not (tmp_path / "cmc-mqtt.toml").exists()


def test_a_fixed_rate_without_the_rate_is_named_by_the_options_to_set(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    write_options(tmp_path, supervised(currency="EUR", fx_source="fixed"))
    with pytest.raises(addon.AddonError) as caught:
        addon.prepare(environ(tmp_path, supervisor))
    assert caught.value.lines == ['fx_rate: required with fx_source = "fixed"']
    assert caught.value.code == 2


def test_unreadable_options_are_one_line(tmp_path: Path) -> None:
    result = run_addon(environ(tmp_path / "absent", None))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{tmp_path / 'absent' / 'options.json'}: no add-on options "
        "(this runs inside a Home Assistant add-on)"
    )


def start_addon(data: Path, supervisor: FakeSupervisor, stream: FakeStreamServer) -> Any:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CMC_", "SUPERVISOR"))}
    # The stream's address is not an add-on option: the bridge's own variables set it.
    env = {**base, **environ(data, supervisor), "CMC_MQTT_CMC_URL": stream.url}
    return subprocess.Popen(
        [sys.executable, "-m", "cmc_mqtt.addon"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_addon(process: Any) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return str(output)


def test_the_addon_runs_the_bridge_with_the_supervisors_login_until_prices_arrive(
    stream: FakeStreamServer, tmp_path: Path
) -> None:
    broker, login_port = password_broker()
    fake = FakeSupervisor(
        {"host": "127.0.0.1", "port": login_port, "username": "cmc", "password": PASSWORD}
    ).start()
    subscriber = Subscriber(broker, "cmc/#")
    write_options(tmp_path, options(coins=[1, 1027]))
    process = start_addon(tmp_path, fake, stream)
    try:
        subscriber.wait_for(lambda last: "cmc/1/p" in last and "cmc/1027/p" in last, timeout=30)
        assert float(subscriber.last["cmc/1/p"]) > 0
    finally:
        output = stop_addon(process)
        subscriber.close()
        fake.stop()
        broker.cleanup()
    assert process.returncode == 0, output
    assert f"MQTT broker 127.0.0.1:{login_port}, user cmc (Supervisor MQTT service)" in output
    assert TEST_API_KEY not in output
    assert PASSWORD not in output
    assert (tmp_path / "cmc-mqtt.toml").stat().st_mode & 0o777 == 0o600


def test_the_addon_converts_to_the_currency_and_keeps_holdings_set_over_mqtt_in_data(
    broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    fake = FakeSupervisor({"host": broker.host, "port": broker.port}).start()
    subscriber = Subscriber(broker, "cmc/#")
    write_options(
        tmp_path,
        supervised(
            currency="EUR", fx_source="fixed", fx_rate=0.92,
            holdings=[{"coin": 1, "amount": "0.5"}],
        ),
    )  # fmt: skip
    process = start_addon(tmp_path, fake, stream)
    wanted = {"cmc/1/p_eur", "cmc/1027/p_eur", "cmc/1/value_eur", "cmc/portfolio/value_eur"}
    try:
        subscriber.wait_for(lambda last: wanted <= last.keys(), timeout=30)
        assert Decimal(subscriber.last["cmc/fx/eur/rate"]) == Decimal("0.92")
        assert Decimal(subscriber.last["cmc/1/p_eur"]) > 0
        # A holding set at run time is kept in state.json under the add-on's /data.
        request = {"holdings": {"1027": "2"}, "transaction": "addon-1"}
        answer = ask(broker, "cmc/bridge/request/holdings/set", json.dumps(request))
        assert answer["status"] == "ok", answer
        assert answer["data"]["holdings"] == {"1": "0.5", "1027": "2"}
        subscriber.wait_for(lambda last: "cmc/1027/value_eur" in last, timeout=15)
        [state] = (tmp_path / "cache").glob("config-*/state.json")  # the configuration's own
        saved = json.loads(state.read_text())
        assert saved["holdings"]["1027"]["amount"] == "2"
    finally:
        output = stop_addon(process)
        subscriber.close()
        fake.stop()
    assert process.returncode == 0, output


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"mqtt_port": 19001.9}, [PORT + "19001.9"]),
        ({"mqtt_port": True}, [PORT + "True"]),
        ({"mqtt_port": "abc"}, [PORT + "'abc'"]),
        ({"mqtt_host": {"a": 1}}, ["mqtt_host: expected a host name, got {'a': 1}"]),
        ({"mqtt_host": "my host"}, ["mqtt_host: must not contain spaces, control or invisible "
                                    "characters, got 'my host'"]),
        ({"mqtt_password": ["s3cret-pw"]}, ["mqtt_password: expected text"]),
        ({"api_key": "k\ud800"}, ["api_key: not UTF-8 text (a lone surrogate, U+D800)"]),
        ({"api_key": "secret-part\r\nX: 1"}, ["api_key: contains a control character or line "
                                              "break (U+000D); the key is not shown"]),
        ({"text_template": "{price} \udfff"}, ["text_template: not UTF-8 text (a lone "
                                               "surrogate, U+DFFF), got '{price} \\udfff'"]),
        ({"coins": "1,2", "deadband": {"x": 1}, "holdings": {"1": 2}}, [
            "coins: expected a list of coin ids or symbols, e.g. [1, 1027] or [\"BTC\"], got '1,2'",
            "deadband: expected number",
            "holdings: expected a list of {coin, amount} entries",
        ]),
        ({"holdings": [{"coin": 2**31, "amount": "1"}, {"coin": 1, "amount": "1e2000000"}]}, [
            "holdings[0].coin: expected a CoinMarketCap id, got 2147483648",
            "holdings[1].amount: " + HOLDING + "got '1e2000000'",
        ]),
    ],
)  # fmt: skip
def test_options_of_any_type_are_one_line_each_and_exit_2(
    changes: dict[str, Any], expected: list[str], tmp_path: Path
) -> None:
    """Written past the Supervisor: whatever JSON an option holds, one line names it."""
    values = {**options(mqtt_host="127.0.0.1"), **changes}
    (tmp_path / "options.json").write_text(json.dumps(values))
    result = run_addon(environ(tmp_path, None))
    assert result.returncode == 2, result.stderr
    assert sorted(result.stderr.strip().splitlines()) == sorted(expected)
    assert "Traceback" not in result.stderr
    assert "secret-part" not in result.stderr
    assert not (tmp_path / "cmc-mqtt.toml").exists()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"{nope", "the add-on options are not JSON: "),
        (b"[1, 2]", "the add-on options are not a JSON object"),
        (b'{"api_key": "\xff"}', "the add-on options are not UTF-8 text"),
        (b'{"deadband": NaN}', "the add-on options hold NaN, Infinity or a number too long"),
        (b'{"coins": [' + b"1" * 5000 + b"]}", "the add-on options hold NaN, Infinity or a number"),
        (b'{"alerts": ' + b"[" * 100000 + b"]" * 100000 + b"}", "the add-on options are nested"),
    ],
)
def test_an_options_file_that_is_no_json_object_is_one_line_and_exit_2(
    data: bytes, why: str, tmp_path: Path
) -> None:
    (tmp_path / "options.json").write_bytes(data)
    result = run_addon(environ(tmp_path, None))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"{tmp_path / 'options.json'}: {why}"), line
