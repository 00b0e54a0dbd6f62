"""`python -m cmc_mqtt.addon`: start the bridge as a Home Assistant add-on (an "app").

The Supervisor hands an add-on two things: the options the user set (`/data/options.json`,
already checked against `config.yaml`'s schema) and, for `services: ["mqtt:need"]`, the MQTT
broker's address and a login made for add-ons (`GET http://supervisor/services/mqtt` with the
add-on's `SUPERVISOR_TOKEN`). This module reads both; `config.addon_options` turns them into the
bridge's own TOML config and checks it with the bridge's own validation (problems named by
option, one line each, exit 2). The file is written readable by its owner only (it holds the API
key and the broker password) and the bridge runs on it. Neither the key nor the password is
ever printed.

The bridge keeps its state (coins and holdings changed over MQTT, the month's credits) in its
configuration's folder under `cache_dir`, which is `/data/cache`
(`/data/cache/config-<hash>/state.json`, see `state/identity.py`): the add-on's persistent
folder, kept across restarts and updates.

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
from pathlib import Path
from typing import Any, Final

from .config.addon_options import (
    STAND_IN_BROKER,
    Broker,
    bridge_config,
    broker_problems,
    check_options,
    is_port,
    options_broker,
    text_or_none,
)
from .config.files import TooLarge, read_bounded, write_private
from .config.problems import one_line
from .config.toml_text import to_toml
from .config.validators import too_deep
from .errors import EXIT_CONFIG, CmcMqttError, ConfigError
from .model.bounds import shown
from .util.wording import counted

DATA_ENV: Final = "CMC_ADDON_DATA"
SUPERVISOR_URL_ENV: Final = "CMC_ADDON_SUPERVISOR_URL"
TOKEN_ENV: Final = "SUPERVISOR_TOKEN"  # noqa: S105 - the variable's name, not a token
DEFAULT_SUPERVISOR_URL: Final = "http://supervisor"
EXIT_NO_BROKER: Final = 1
HTTP_TIMEOUT_S: Final = 10.0
#: The largest options.json or Supervisor answer read: real ones are a few kilobytes.
MAX_JSON_BYTES: Final = 1 << 20
CONFIG_HEADER: Final = (
    "Written by the cmc-mqtt add-on at each start from its options; edits are lost."
)


class AddonError(CmcMqttError):
    """The add-on cannot start; `lines` say why, one problem each, and `code` is the exit code."""

    def __init__(self, lines: list[str], code: int) -> None:
        self.lines = lines
        self.code = code
        super().__init__("\n".join(lines))


def read_options(path: Path) -> dict[str, Any]:
    """options.json as a dict, or one line saying why not (exit 2)."""

    def refuse(why: str) -> AddonError:
        return AddonError([f"{path}: {why}"], EXIT_CONFIG)

    try:
        data = read_bounded(path, MAX_JSON_BYTES)
    except FileNotFoundError as exc:
        raise refuse("no add-on options (this runs inside a Home Assistant add-on)") from exc
    except TooLarge as exc:
        raise refuse(f"the add-on options are larger than {MAX_JSON_BYTES} bytes") from exc
    except OSError as exc:
        raise refuse(f"cannot read the add-on options: {exc.strerror}") from exc
    try:
        options = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise refuse("the add-on options are not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise refuse(f"the add-on options are not JSON: {exc}") from exc
    except ValueError as exc:  # NaN or Infinity, or an integer past Python's 4,300-digit limit
        raise refuse("the add-on options hold NaN, Infinity or a number too long") from exc
    except RecursionError as exc:
        raise refuse("the add-on options are nested too deeply") from exc
    if not isinstance(options, dict):
        raise refuse("the add-on options are not a JSON object")
    if too_deep(options):
        raise refuse("the add-on options are nested too deeply")
    return options


def _no_constant(name: str) -> Any:
    raise ValueError(name)


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
            body = json.loads(response.read(MAX_JSON_BYTES), parse_constant=_no_constant)
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            return None  # {"result": "error", "message": "Service not enabled"}
        raise AddonError(
            [f"the Supervisor refused the MQTT service request: HTTP {exc.code} {exc.reason}"],
            EXIT_NO_BROKER,
        ) from exc
    except (OSError, ValueError, RecursionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AddonError(
            [one_line(f"cannot ask the Supervisor ({base_url}) for the MQTT service: {reason}")],
            EXIT_NO_BROKER,
        ) from exc
    data = body.get("data") if isinstance(body, dict) and body.get("result") == "ok" else None
    if not isinstance(data, dict) or not data.get("host") or data.get("port") is None:
        return None
    odd = _service_problem(data)
    if odd is not None:
        raise AddonError([f"the Supervisor's MQTT service is unusable: {odd}"], EXIT_NO_BROKER)
    return data


def _service_problem(data: Mapping[str, Any]) -> str | None:
    """What of the Supervisor's MQTT service cannot be a broker's address and login."""
    if not isinstance(data["host"], str):
        return f"host {shown(data['host'])}"
    if not is_port(data["port"]):
        return f"port {shown(data['port'])}"
    for name in ("username", "password"):
        if data.get(name) is not None and not isinstance(data[name], str):
            return f"{name} is not text"
    return None


def broker_for(options: Mapping[str, Any], service: dict[str, Any] | None) -> Broker:
    """The broker the user named in the options, else the Supervisor's MQTT service."""
    named = options_broker(options)
    if named is not None:
        return named
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
        username=text_or_none(service.get("username")),
        password=text_or_none(service.get("password")),
        tls=bool(service.get("ssl")),
        source="Supervisor MQTT service",
    )


def prepare(environ: Mapping[str, str]) -> tuple[Path, str]:
    """Options + MQTT service -> a checked config file; returns its path and a start-up line."""
    data_dir = Path(environ.get(DATA_ENV) or "/data")
    options = read_options(data_dir / "options.json")
    found = broker_problems(options)
    if found:  # the rest is still checked, against a stand-in broker
        broker = STAND_IN_BROKER
    else:
        service = None
        if not options.get("mqtt_host"):
            url = environ.get(SUPERVISOR_URL_ENV) or DEFAULT_SUPERVISOR_URL
            service = supervisor_mqtt(url, environ.get(TOKEN_ENV))
        broker = broker_for(options, service)
    raw = bridge_config(options, broker, data_dir)
    try:
        check_options(raw, options, found)
    except ConfigError as exc:
        raise AddonError(exc.problems, EXIT_CONFIG) from exc
    path = data_dir / "cmc-mqtt.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, to_toml(raw, header=CONFIG_HEADER), replace=True)
    coins = counted(len(raw["cmc"].get("crypto_ids", [])), "coin")
    return path, f"cmc-mqtt add-on: {coins}, MQTT broker {broker.describe()}"


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
