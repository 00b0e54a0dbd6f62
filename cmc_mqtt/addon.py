"""`python -m cmc_mqtt.addon`: start the bridge as a Home Assistant add-on (an "app").

The Supervisor hands an add-on two things: the options the user set (`/data/options.json`,
already checked against `config.yaml`'s schema) and, for `services: ["mqtt:need"]`, the MQTT
broker's address and a login made for add-ons (`GET http://supervisor/services/mqtt` with the
add-on's `SUPERVISOR_TOKEN`). This module turns both into the bridge's own TOML config, checks
it with the bridge's own validation (problems named by option, one line each, exit 2), writes it
readable by its owner only (it holds the API key and the broker password) and runs the bridge.
Neither the key nor the password is ever printed.

Most options set one bridge key; two are lists the Supervisor's schema can hold and TOML spells
otherwise: `holdings` ({coin, amount} entries) becomes `[coins.<id>] holdings`, and `alerts`
becomes one `[[alerts]]` table per entry. The bridge keeps its state (coins and holdings changed
over MQTT, the month's credits) in its configuration's folder under `cache_dir`, which is
`/data/cache` (`/data/cache/config-<hash>/state.json`, see `identity.py`): the add-on's
persistent folder, kept across restarts and updates.

`CMC_ADDON_DATA` (default `/data`) and `CMC_ADDON_SUPERVISOR_URL` (default `http://supervisor`)
let tests and the image check run it against a fake Supervisor.

options.json is checked as if anyone had written it (the Supervisor checks it against the
schema, but an older Supervisor, a restored backup or a hand edit may not have): any JSON
value in any option gives one line naming the option, exit 2, never a traceback.
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
from typing import Any, Final, Literal

from .config import parse_settings
from .config.files import TooLarge, read_bounded
from .config.problems import one_line
from .config.validators import MAX_COIN_ID, too_deep
from .errors import EXIT_CONFIG, ConfigError
from .model.bounds import shown

DATA_ENV: Final = "CMC_ADDON_DATA"
SUPERVISOR_URL_ENV: Final = "CMC_ADDON_SUPERVISOR_URL"
TOKEN_ENV: Final = "SUPERVISOR_TOKEN"  # noqa: S105 - the variable's name, not a token
DEFAULT_SUPERVISOR_URL: Final = "http://supervisor"
EXIT_NO_BROKER: Final = 1
HTTP_TIMEOUT_S: Final = 10.0
#: The largest options.json or Supervisor answer read: real ones are a few kilobytes.
MAX_JSON_BYTES: Final = 1 << 20
#: Where the rest of the options are checked when the broker options themselves are unusable.
_NO_BROKER: Final = ("localhost", 1883)


#: How an option becomes bridge config: "value" sets `[section] key`; "per_coin" turns a list of
#: {coin, amount} entries into `[section.<coin>] key = amount`; "tables" turns a list of dicts
#: into `[[section]]` tables, one per entry, with the same keys (`key` unused).
Shape = Literal["value", "per_coin", "tables"]


@dataclass(frozen=True, slots=True)
class Option:
    """One add-on option and the bridge option it sets."""

    name: str
    section: str
    key: str
    shape: Shape = "value"


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
    Option("currency", "cmc", "currency"),
    Option("fx_source", "cmc", "fx_source"),
    Option("fx_rate", "cmc", "fx_rate"),
    Option("fx_topic", "cmc", "fx_topic"),
    Option("fx_inverted", "cmc", "fx_inverted"),
    Option("fx_interval", "cmc", "fx_interval"),
    Option("holdings", "coins", "holdings", "per_coin"),
    Option("alerts", "alerts", "", "tables"),
    Option("monthly_credit_budget", "cmc", "monthly_credit_budget"),
    Option("on_budget", "cmc", "on_budget"),
    Option("allow_requests", "bridge", "allow_requests"),
    Option("log_level", "log", "level"),
    Option("mqtt_host", "mqtt", "host"),
    Option("mqtt_port", "mqtt", "port"),
    Option("mqtt_username", "mqtt", "username"),
    Option("mqtt_password", "mqtt", "password"),
)
#: The keys of a "per_coin" option's entries.
COIN: Final = "coin"
AMOUNT: Final = "amount"
_BY_DOTTED: Final = {f"{o.section}.{o.key}": o.name for o in OPTIONS if o.shape == "value"}
_BY_SECTION: Final = {o.section: o for o in OPTIONS if o.shape != "value"}
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
    """options.json as a dict, or one line saying why not (exit 2)."""

    def refuse(why: str) -> AddonError:
        return AddonError([f"{path}: {why}"], EXIT_CONFIG)

    try:
        data = read_bounded(path, MAX_JSON_BYTES)
    except FileNotFoundError:
        raise refuse("no add-on options (this runs inside a Home Assistant add-on)") from None
    except TooLarge:
        raise refuse(f"the add-on options are larger than {MAX_JSON_BYTES} bytes") from None
    except OSError as exc:
        raise refuse(f"cannot read the add-on options: {exc.strerror}") from None
    try:
        options = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise refuse("the add-on options are not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise refuse(f"the add-on options are not JSON: {exc}") from None
    except ValueError:  # NaN or Infinity, or an integer past Python's 4,300-digit limit
        raise refuse("the add-on options hold NaN, Infinity or a number too long") from None
    except RecursionError:
        raise refuse("the add-on options are nested too deeply") from None
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
        ) from None
    except (OSError, ValueError, RecursionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AddonError(
            [one_line(f"cannot ask the Supervisor ({base_url}) for the MQTT service: {reason}")],
            EXIT_NO_BROKER,
        ) from None
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
    if not _is_port(data["port"]):
        return f"port {shown(data['port'])}"
    for name in ("username", "password"):
        if data.get(name) is not None and not isinstance(data[name], str):
            return f"{name} is not text"
    return None


def _is_port(value: Any) -> bool:
    return type(value) is int and 1 <= value <= 65535


# --- the mapping ------------------------------------------------------------------------------


def broker_problems(options: Mapping[str, Any]) -> list[str]:
    """The `mqtt_*` options' types (they name a broker, so the bridge's schema never sees them
    as they are): one line each. Their text (spaces, length) the bridge checks as `mqtt.*`."""
    lines = []
    host, port = options.get("mqtt_host"), options.get("mqtt_port")
    if not _unset(host) and not isinstance(host, str):
        lines.append(f"mqtt_host: expected a host name, got {shown(host)}")
    if not _unset(port) and not _is_port(port):
        lines.append(f"mqtt_port: expected a port number from 1 to 65535, got {shown(port)}")
    for name in ("mqtt_username", "mqtt_password"):
        value = options.get(name)
        if not _unset(value) and not isinstance(value, str):
            got = "" if name in _SECRET_OPTIONS else f", got {shown(value)}"
            lines.append(f"{name}: expected text{got}")
    return lines


def broker_for(options: Mapping[str, Any], service: dict[str, Any] | None) -> Broker:
    """The broker the user named in the options, else the Supervisor's MQTT service. Options
    of the wrong type are left out (`broker_problems` names them)."""
    host = options.get("mqtt_host")
    if isinstance(host, str) and host:
        port: Any = options.get("mqtt_port")
        return Broker(
            host=host,
            port=port if _is_port(port) else 1883,
            username=_text_or_none(options.get("mqtt_username")),
            password=_text_or_none(options.get("mqtt_password")),
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
        username=_text_or_none(service.get("username")),
        password=_text_or_none(service.get("password")),
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
        if _unset(value):
            continue
        if option.shape == "per_coin":
            for entry in _entries(value):  # a coin named twice: the first one (and a problem)
                if _is_coin(entry.get(COIN)) and not _unset(entry.get(AMOUNT)):
                    coin = raw.setdefault(option.section, {}).setdefault(str(entry[COIN]), {})
                    coin.setdefault(option.key, entry[AMOUNT])
        elif option.shape == "tables":  # anything but a list of dicts: the bridge says why
            raw[option.section] = [
                {k: v for k, v in entry.items() if not _unset(v)} if isinstance(entry, dict)
                else entry
                for entry in value
            ] if isinstance(value, list) else value  # fmt: skip
        else:
            raw.setdefault(option.section, {})[option.key] = value
    mqtt = raw["mqtt"]
    mqtt.update(host=broker.host, port=broker.port, tls=broker.tls)
    if broker.username:
        mqtt["username"] = broker.username
        if broker.password:
            mqtt["password"] = broker.password
    return raw


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _unset(value: Any) -> bool:
    """An option left empty: the Supervisor's form may keep a cleared field as "" or null."""
    return value is None or value == ""


def _entries(value: Any) -> list[dict[str, Any]]:
    """The dicts of a list option (anything else in it is reported by `_entry_problems`)."""
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _is_coin(value: Any) -> bool:
    return type(value) is int and 1 <= value <= MAX_COIN_ID


def check(raw: dict[str, Any], options: Mapping[str, Any], found: list[str] | None = None) -> None:
    """The bridge's own validation, with each problem named by the add-on option behind it;
    `found`: problems already known (the broker options'), reported with the rest."""
    lines = list(found or ())
    if not str(options.get("api_key") or "").strip():
        lines.append(
            "api_key: required: your CoinMarketCap API key (Startup plan or above), "
            "in this add-on's Configuration tab"
        )
        raw = {**raw, "cmc": {**raw["cmc"], "api_key": "placeholder"}}  # report the rest too
    lines.extend(_entry_problems(options))
    try:
        parse_settings(raw, environ={})
    except ConfigError as exc:
        lines.extend(_by_option(problem, options) for problem in exc.problems)
    if lines:
        raise AddonError([one_line(line) for line in lines], EXIT_CONFIG)


def _entry_problems(options: Mapping[str, Any]) -> list[str]:
    """What the bridge cannot name in a "per_coin" option: entries it never sees as such (the
    Supervisor checks them too; this is for options.json written by other hands)."""
    lines: list[str] = []
    for option in OPTIONS:
        value = options.get(option.name)
        if option.shape != "per_coin" or _unset(value):
            continue
        if not isinstance(value, list):
            lines.append(f"{option.name}: expected a list of {{{COIN}, {AMOUNT}}} entries")
            continue
        first: dict[int, int] = {}  # coin -> the entry that named it first
        for index, entry in enumerate(value):
            where = f"{option.name}[{index}]"
            if not isinstance(entry, dict):
                lines.append(f"{where}: expected {{{COIN}, {AMOUNT}}}, got {shown(entry)}")
                continue
            coin: Any = entry.get(COIN)
            if not _is_coin(coin):
                lines.append(f"{where}.{COIN}: expected a CoinMarketCap id, got {shown(coin)}")
            elif coin in first:
                lines.append(f"{where}.{COIN}: coin {coin} is in {option.name}[{first[coin]}] too")
            else:
                first[coin] = index
            if _unset(entry.get(AMOUNT)):
                lines.append(f"{where}.{AMOUNT}: required: how many coins you hold")
    return lines


def _by_option(problem: str, options: Mapping[str, Any]) -> str:
    """The bridge's problem line with its key replaced by the add-on option it came from:
    `cmc.fx_rate: …` -> `fx_rate: …`, `coins.1.holdings: …` -> `holdings[0].amount: …`,
    `alerts[0].price: …` as it is (the option has the bridge's name and keys)."""
    key, sep, message = problem.partition(": ")
    if not sep:
        return problem
    base, bracket, index = key.partition("[")
    name = _BY_DOTTED.get(base)
    if name is not None:
        return f"{name}{bracket}{index}: {message}"
    section, _, rest = key.partition(".")
    option = _BY_SECTION.get(section) or _BY_SECTION.get(base)
    if option is None:
        return problem
    if option.shape == "per_coin":
        coin, _, _ = rest.partition(".")
        for i, entry in enumerate(options.get(option.name) or ()):
            if isinstance(entry, dict) and str(entry.get(COIN)) == coin:
                return f"{option.name}[{i}].{AMOUNT}: {message}"
        return f"{option.name}[coin {coin}]: {message}" if coin else f"{option.name}: {message}"
    return option.name + key[len(option.section) :] + f": {message}"


def to_toml(raw: Mapping[str, Any]) -> str:
    """TOML for the bridge's config: tables (nested ones as `[coins.1]`), arrays of tables
    (`[[alerts]]`), and strings, numbers, booleans and their lists as values."""
    out = ["# Written by the cmc-mqtt add-on at each start from its options; edits are lost."]
    for name, value in raw.items():
        if isinstance(value, dict):
            _toml_table(out, [name], value)
        elif _is_tables(value):
            for table in value:
                out.append(f"\n[[{_toml_key(name)}]]")
                out.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
        else:
            raise TypeError(f"{name}: the top level holds tables only")
    return "\n".join(out) + "\n"


def _toml_table(out: list[str], path: list[str], values: Mapping[str, Any]) -> None:
    """`[a.b]` with its values, then its subtables (a table's own keys must come first)."""
    plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
    nested = {k: v for k, v in values.items() if isinstance(v, dict)}
    if plain or not nested:
        out.append(f"\n[{'.'.join(_toml_key(p) for p in path)}]")
        out.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in plain.items())
    for key, table in nested.items():
        _toml_table(out, [*path, key], table)


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _toml_key(key: str) -> str:
    """A bare key where TOML allows one (`crypto_ids`, `1`), else a quoted one."""
    bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else _toml_string(key)


def _toml_string(text: str) -> str:
    """A TOML basic string. JSON's escapes are TOML's, but `\\uD83D\\uDE80` (how JSON spells a
    character beyond U+FFFF) is not: characters stay themselves, and DEL, which TOML wants
    escaped and JSON leaves, is escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
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
    found = broker_problems(options)
    if found:  # the rest is still checked, against a stand-in broker
        broker = Broker(*_NO_BROKER, None, None, tls=False, source="none")
    else:
        service = None
        if not options.get("mqtt_host"):
            url = environ.get(SUPERVISOR_URL_ENV) or DEFAULT_SUPERVISOR_URL
            service = supervisor_mqtt(url, environ.get(TOKEN_ENV))
        broker = broker_for(options, service)
    raw = bridge_config(options, broker, data_dir)
    check(raw, options, found)
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
