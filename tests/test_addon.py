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
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmc_mqtt import addon, config
from cmc_mqtt.config import load_settings
from cmc_mqtt.fields import FIELD_KEYS
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.version import VERSION
from harness.fake_supervisor import TOKEN, FakeSupervisor
from harness.helpers import TEST_API_KEY, Subscriber, free_port
from harness.pki import PASSWORD, password_broker

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "cmc-mqtt"

# The Supervisor's own rules (supervisor/apps/validate.py, apps/options.py, const.py).
REQUIRED_KEYS = ("name", "version", "slug", "description", "arch")
ARCHES = {"aarch64", "amd64"}  # ARCH_ALL; armhf, armv7 and i386 are deprecated
RE_SLUG = re.compile(r"^[-_.A-Za-z0-9]+$")
RE_SERVICE = re.compile(r"^(?P<service>mqtt|mysql):(?P<rights>provide|want|need)$")
RE_SCHEMA_ELEMENT = re.compile(
    r"^(?:|bool|email|url|port|device(?:\((?P<filter>subsystem=[a-z]+)\))?"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|password(?:\((?P<p_min>\d+)?,(?P<p_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?\d*\.?\d+)?,(?P<f_max>-?\d*\.?\d+)?\))?"
    r"|match\((?P<match>.*)\)|list\((?P<list>.+)\))\??$"
)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def addon_config() -> dict[str, Any]:
    data = load_yaml(ADDON / "config.yaml")
    assert isinstance(data, dict)
    return data


def accepts(typ: str, value: Any) -> bool:
    """What the Supervisor's option validation accepts for one element."""
    match = RE_SCHEMA_ELEMENT.match(typ)
    assert match, typ
    bounds = {
        name[2:]: float(match.group(name))
        for name in ("i_min", "i_max", "f_min", "f_max")
        if match.group(name)
    }
    if typ.startswith(("str", "password")):
        return isinstance(value, str)
    if typ.startswith(("int", "float")):
        kind = int if typ.startswith("int") else (int, float)
        return (
            isinstance(value, kind)
            and not isinstance(value, bool)
            and bounds.get("min", value) <= value <= bounds.get("max", value)
        )
    if typ.startswith("bool"):
        return isinstance(value, bool)
    if typ.startswith("port"):
        return isinstance(value, int) and 1 <= value <= 65535
    if typ.startswith("list"):
        return str(value) in match.group("list").split("|")
    raise AssertionError(f"type {typ} not used by this add-on")


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
    assert cfg["init"] is False, "the base image's s6-overlay is the init"
    assert cfg["version"] == VERSION
    assert "image" not in cfg, "without `image` the Supervisor builds the Dockerfile locally"


def test_every_option_default_is_valid_under_its_schema_and_only_the_key_is_left_to_fill() -> None:
    cfg = addon_config()
    schema, options = cfg["schema"], cfg["options"]
    for name, typ in schema.items():
        element = typ[0] if isinstance(typ, list) else typ
        assert isinstance(element, str), name
        assert RE_SCHEMA_ELEMENT.match(element), name
        if name in options:
            values = options[name] if isinstance(typ, list) else [options[name]]
            assert all(accepts(element, v) for v in values), (name, options[name])
        elif not element.endswith("?"):
            assert name == "api_key", f"{name}: required but without a default"
    assert set(options) <= set(schema)
    assert schema["api_key"] == "password", "the key is shown masked in the UI"


def test_the_options_are_the_mapping_table_and_every_one_is_translated() -> None:
    cfg = addon_config()
    assert list(cfg["schema"]) == [o.name for o in addon.OPTIONS]
    sections = {s: set(getattr(config, f"{s.upper()}_SCHEMA").schema) for s in ("cmc", "mqtt")}
    sections |= {"homeassistant": set(config.HOMEASSISTANT_SCHEMA.schema)}
    sections |= {"text": set(config.TEXT_SCHEMA.schema), "log": set(config.LOG_SCHEMA.schema)}
    for option in addon.OPTIONS:
        assert option.key in sections[option.section], option
    translations = load_yaml(ADDON / "translations" / "en.yaml")["configuration"]
    assert set(translations) == set(cfg["schema"])
    for name, text in translations.items():
        assert text.get("name"), name
        assert text.get("description"), name


def test_choices_are_the_bridges_own() -> None:
    schema = addon_config()["schema"]

    def choices(typ: str) -> tuple[str, ...]:
        match = RE_SCHEMA_ELEMENT.match(typ)
        assert match
        return tuple(match.group("list").split("|"))

    assert choices(schema["enabled_fields"][0]) == FIELD_KEYS
    assert choices(schema["publish_mode"]) == config.PUBLISH_MODES
    assert choices(schema["discovery_mode"]) == config.DISCOVERY_MODES
    assert choices(schema["log_level"]) == config.LOG_LEVELS
    assert tuple(addon_config()["options"]["enabled_fields"]) == config.DEFAULT_ENABLED


def test_build_files_and_repository() -> None:
    build = load_yaml(ADDON / "build.yaml")
    assert set(build["build_from"]) == set(addon_config()["arch"])
    dockerfile = (ADDON / "Dockerfile").read_text()
    assert re.search(r"^FROM \$\{?BUILD_FROM\}?$", dockerfile, re.MULTILINE)
    assert '"cmc-mqtt==${BUILD_VERSION}"' in dockerfile
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


def test_a_broker_in_the_options_is_used_without_asking_the_supervisor(
    supervisor: FakeSupervisor, tmp_path: Path
) -> None:
    write_options(tmp_path, options(mqtt_host="192.0.2.7", mqtt_username="me", mqtt_password="pw"))
    path, _ = addon.prepare(environ(tmp_path, supervisor))
    s = load_settings(path, environ={})
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.username) == ("192.0.2.7", 1883, "me")
    assert supervisor.requests == []


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
        "coins: must name at least one coin id, got []",
        "topic_prefix: topic prefix must not contain '+', got 'a/+'",
    ]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cmc-mqtt.toml").exists()


def test_unreadable_options_are_one_line(tmp_path: Path) -> None:
    result = run_addon(environ(tmp_path / "absent", None))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{tmp_path / 'absent' / 'options.json'}: no add-on options "
        "(this runs inside a Home Assistant add-on)"
    )


def test_the_addon_runs_the_bridge_with_the_supervisors_login_until_prices_arrive(
    stream: FakeStreamServer, tmp_path: Path
) -> None:
    broker, login_port = password_broker()
    fake = FakeSupervisor(
        {"host": "127.0.0.1", "port": login_port, "username": "cmc", "password": PASSWORD}
    ).start()
    subscriber = Subscriber(broker, "cmc/#")
    write_options(tmp_path, options(coins=[1, 1027]))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CMC_", "SUPERVISOR"))}
    # The stream's address is not an add-on option: the bridge's own variables set it.
    env = {**base, **environ(tmp_path, fake), "CMC_MQTT_CMC_URL": stream.url}
    process = subprocess.Popen(
        [sys.executable, "-m", "cmc_mqtt.addon"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        subscriber.wait_for(lambda last: "cmc/1/p" in last and "cmc/1027/p" in last, timeout=30)
        assert float(subscriber.last["cmc/1/p"]) > 0
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        subscriber.close()
        fake.stop()
        broker.cleanup()
    assert process.returncode == 0, output
    assert f"MQTT broker 127.0.0.1:{login_port}, user cmc (Supervisor MQTT service)" in output
    assert TEST_API_KEY not in output
    assert PASSWORD not in output
    assert (tmp_path / "cmc-mqtt.toml").stat().st_mode & 0o777 == 0o600
