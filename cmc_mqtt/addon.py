"""`python -m cmc_mqtt.addon`: start the bridge as a Home Assistant add-on (an "app").

The Supervisor hands an add-on two things: the options the user set (`/data/options.json`,
already checked against `config.yaml`'s schema) and, for `services: ["mqtt:need"]`, the MQTT
broker's address and a login made for add-ons (`GET http://supervisor/services/mqtt` with the
add-on's `SUPERVISOR_TOKEN`). This module turns both into the bridge's own TOML config, checks
it with the bridge's own validation (problems named by option, one line each, exit 2), writes it
readable by its owner only (it holds the API key and the broker password) and runs the bridge.
Neither the key nor the password is ever printed.

`CMC_ADDON_DATA` (default `/data`) and `CMC_ADDON_SUPERVISOR_URL` (default `http://supervisor`)
let tests and the image check run it against a fake Supervisor.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .config import parse_settings
from .errors import EXIT_CONFIG, ConfigError

DATA_ENV: Final = "CMC_ADDON_DATA"
SUPERVISOR_URL_ENV: Final = "CMC_ADDON_SUPERVISOR_URL"
TOKEN_ENV: Final = "SUPERVISOR_TOKEN"  # noqa: S105 - the variable's name, not a token
DEFAULT_SUPERVISOR_URL: Final = "http://supervisor"
EXIT_NO_BROKER: Final = 1
HTTP_TIMEOUT_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class Option:
    """One add-on option and the bridge option it sets."""

    name: str
    section: str
    key: str


#: Every option of the add-on's `config.yaml`, in its order; a test checks the two agree.
OPTIONS: Final = (
    Option("api_key", "cmc", "api_key"),
    Option("coins", "cmc", "crypto_ids"),
    Option("enabled_fields", "homeassistant", "enabled_fields"),
    Option("topic_prefix", "mqtt", "topic_prefix"),
    Option("discovery", "homeassistant", "discovery"),
    Option("discovery_mode", "homeassistant", "discovery_mode"),
    Option("publish_mode", "mqtt", "publish_mode"),
    Option("deadband", "mqtt", "deadband"),
    Option("text_template", "text", "template"),
    Option("lookup_names", "cmc", "lookup_names"),
    Option("log_level", "log", "level"),
    Option("mqtt_host", "mqtt", "host"),
    Option("mqtt_port", "mqtt", "port"),
    Option("mqtt_username", "mqtt", "username"),
    Option("mqtt_password", "mqtt", "password"),
)
_BY_DOTTED: Final = {f"{o.section}.{o.key}": o.name for o in OPTIONS}
_SECRET_OPTIONS: Final = frozenset({"api_key", "mqtt_password"})


class AddonError(Exception):
    """The add-on cannot start; `lines` say why, one problem each, and `code` is the exit code."""

    def __init__(self, lines: list[str], code: int) -> None:
        self.lines = lines
        self.code = code
        super().__init__("\n".join(lines))


@dataclass(frozen=True, slots=True)
class Broker:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    source: str  # where it came from, for the start-up line

    def describe(self) -> str:
        login = f", user {self.username}" if self.username else ""
        return f"{self.host}:{self.port}{' (TLS)' if self.tls else ''}{login} ({self.source})"


# --- the two inputs ---------------------------------------------------------------------------


def read_options(path: Path) -> dict[str, Any]:
    try:
        options = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AddonError(
            [f"{path}: no add-on options (this runs inside a Home Assistant add-on)"], EXIT_CONFIG
        ) from None
    except (OSError, ValueError) as exc:
        raise AddonError([f"{path}: cannot read the add-on options: {exc}"], EXIT_CONFIG) from None
    if not isinstance(options, dict):
        raise AddonError([f"{path}: the add-on options are not a JSON object"], EXIT_CONFIG)
    return options


def supervisor_mqtt(base_url: str, token: str | None) -> dict[str, Any] | None:
    """The Supervisor's MQTT service (`data` of its answer), or None when none is set up."""
    if not token:
        raise AddonError(
            [f"{TOKEN_ENV} is not set: the Supervisor gives it to add-ons; set mqtt_host instead"],
            EXIT_NO_BROKER,
        )
    request = urllib.request.Request(  # noqa: S310 - a fixed http(s) URL, not user input
        f"{base_url.rstrip('/')}/services/mqtt",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            return None  # {"result": "error", "message": "Service not enabled"}
        raise AddonError(
            [f"the Supervisor refused the MQTT service request: HTTP {exc.code} {exc.reason}"],
            EXIT_NO_BROKER,
        ) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AddonError(
            [f"cannot ask the Supervisor ({base_url}) for the MQTT service: {reason}"],
            EXIT_NO_BROKER,
        ) from None
    data = body.get("data") if isinstance(body, dict) and body.get("result") == "ok" else None
    if not isinstance(data, dict) or not data.get("host") or not isinstance(data.get("port"), int):
        return None
    return data


# --- the mapping ------------------------------------------------------------------------------


def broker_for(options: Mapping[str, Any], service: dict[str, Any] | None) -> Broker:
    """The broker the user named in the options, else the Supervisor's MQTT service."""
    if options.get("mqtt_host"):
        return Broker(
            host=str(options["mqtt_host"]),
            port=int(options.get("mqtt_port") or 1883),
            username=options.get("mqtt_username") or None,
            password=options.get("mqtt_password") or None,
            tls=False,
            source="add-on options",
        )
    if service is None:
        raise AddonError(
            [
                "no MQTT broker: the Supervisor offers no MQTT service; install and start the "
                "Mosquitto broker app, or set mqtt_host in this add-on's options"
            ],
            EXIT_NO_BROKER,
        )
    return Broker(
        host=str(service["host"]),
        port=int(service["port"]),
        username=service.get("username") or None,
        password=service.get("password") or None,
        tls=bool(service.get("ssl")),
        source="Supervisor MQTT service",
    )


def bridge_config(options: Mapping[str, Any], broker: Broker, data_dir: Path) -> dict[str, Any]:
    """The bridge's config as a TOML-shaped mapping; unset options keep the bridge's defaults."""
    raw: dict[str, Any] = {"cmc": {"cache_dir": str(data_dir / "cache")}, "mqtt": {}}
    for option in OPTIONS:
        if option.section == "mqtt" and option.name.startswith("mqtt_"):
            continue  # the broker comes from `broker`, whichever source it had
        value = options.get(option.name)
        if value is None or value == "":
            continue
        raw.setdefault(option.section, {})[option.key] = value
    mqtt = raw["mqtt"]
    mqtt.update(host=broker.host, port=broker.port, tls=broker.tls)
    if broker.username:
        mqtt["username"] = broker.username
        if broker.password:
            mqtt["password"] = broker.password
    return raw


def check(raw: dict[str, Any], options: Mapping[str, Any]) -> None:
    """The bridge's own validation, with each problem named by the add-on option behind it."""
    lines = []
    if not str(options.get("api_key") or "").strip():
        lines.append(
            "api_key: required: your CoinMarketCap API key (Startup plan or above), "
            "in this add-on's Configuration tab"
        )
        raw = {**raw, "cmc": {**raw["cmc"], "api_key": "placeholder"}}  # report the rest too
    try:
        parse_settings(raw, environ={})
    except ConfigError as exc:
        lines.extend(_by_option(problem) for problem in exc.problems)
    if lines:
        raise AddonError(lines, EXIT_CONFIG)


def _by_option(problem: str) -> str:
    key, sep, message = problem.partition(": ")
    base, bracket, index = key.partition("[")
    name = _BY_DOTTED.get(base)
    if not sep or name is None:
        return problem
    return f"{name}{bracket}{index}: {message}"


def to_toml(raw: Mapping[str, Any]) -> str:
    """TOML for the bridge's config: tables of strings, numbers, booleans and their lists.

    JSON's string escapes are a subset of TOML's basic strings, so `json.dumps` quotes safely."""
    out = ["# Written by the cmc-mqtt add-on at each start from its options; edits are lost."]
    for section, values in raw.items():
        out.append(f"\n[{section}]")
        out.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
    return "\n".join(out) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by its owner only, replacing any older file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    partial.replace(path)


def prepare(environ: Mapping[str, str]) -> tuple[Path, str]:
    """Options + MQTT service -> a checked config file; returns its path and a start-up line."""
    data_dir = Path(environ.get(DATA_ENV) or "/data")
    options = read_options(data_dir / "options.json")
    service = None
    if not options.get("mqtt_host"):
        url = environ.get(SUPERVISOR_URL_ENV) or DEFAULT_SUPERVISOR_URL
        service = supervisor_mqtt(url, environ.get(TOKEN_ENV))
    broker = broker_for(options, service)
    raw = bridge_config(options, broker, data_dir)
    check(raw, options)
    path = data_dir / "cmc-mqtt.toml"
    write_private(path, to_toml(raw))
    coins = len(raw["cmc"].get("crypto_ids", []))
    return path, f"cmc-mqtt add-on: {coins} coins, MQTT broker {broker.describe()}"


def main() -> int:
    """The add-on takes its settings from the Supervisor, not from arguments."""
    try:
        path, line = prepare(os.environ)
    except AddonError as exc:
        for problem in exc.lines:
            print(problem, file=sys.stderr)
        return exc.code
    print(line, file=sys.stderr, flush=True)
    from .cli import main as cli_main  # noqa: PLC0415 - the bridge, only once the config is good

    return cli_main(["run", "--config", str(path)])


if __name__ == "__main__":
    sys.exit(main())
