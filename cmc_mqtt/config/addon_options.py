"""The Home Assistant add-on's options: their table, and how they become the bridge's config.

The Supervisor hands the add-on its options as JSON (`/data/options.json`, checked against
`config.yaml`'s schema). Most options set one bridge key; two are lists the Supervisor's schema
can hold and TOML spells otherwise: `holdings` ({coin, amount} entries) becomes
`[coins.<id>] holdings`, and `alerts` becomes one `[[alerts]]` table per entry. The broker comes
from the `mqtt_*` options or the Supervisor's MQTT service (`cmc_mqtt.addon` asks for it).

options.json is checked as if anyone had written it (the Supervisor checks it against the
schema, but an older Supervisor, a restored backup or a hand edit may not have): any JSON value
in any option gives one line naming the option, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from ..errors import ConfigError
from ..model.bounds import shown
from ..model.coins import is_coin_id
from .broker import PLAIN_PORT, AddressError, BrokerAddress, parse_address
from .parse import parse_settings
from .problems import one_line

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


#: Where the rest of the options are checked when the broker options themselves are unusable.
STAND_IN_BROKER: Final = Broker("localhost", PLAIN_PORT, None, None, tls=False, source="none")


def broker_problems(options: Mapping[str, Any]) -> list[str]:
    """The `mqtt_*` options' types and the address in `mqtt_host` (they name a broker, so the
    bridge's schema never sees them as they are): one line each. Their text (spaces, length)
    the bridge checks as `mqtt.*`."""
    lines = []
    host, port = options.get("mqtt_host"), options.get("mqtt_port")
    if not unset(host) and not isinstance(host, str):
        lines.append(f"mqtt_host: expected a host name, got {shown(host)}")
    if not unset(port) and not is_port(port):
        lines.append(f"mqtt_port: expected a port number from 1 to 65535, got {shown(port)}")
    if isinstance(host, str) and host:
        try:
            address = parse_address(host)
        except AddressError as exc:
            lines.append(exc.line("mqtt_host", host))
        else:
            if address.port is not None and is_port(port) and port != address.port:
                lines.append(
                    f"mqtt_host: names port {address.port} and mqtt_port says {port}; "
                    "give the port once"
                )
    for name in ("mqtt_username", "mqtt_password"):
        value = options.get(name)
        if not unset(value) and not isinstance(value, str):
            got = "" if name in _SECRET_OPTIONS else f", got {shown(value)}"
            lines.append(f"{name}: expected text{got}")
    return lines


def options_broker(options: Mapping[str, Any]) -> Broker | None:
    """The broker the user named in the options (None: they named none): `mqtt_host` may be
    `host:port` or an mqtt:// or mqtts:// URL. What `broker_problems` refuses is left out."""
    host = options.get("mqtt_host")
    if not isinstance(host, str) or not host:
        return None
    try:
        address = parse_address(host)
    except AddressError:
        address = BrokerAddress(host)
    port: Any = options.get("mqtt_port")
    return Broker(
        host=address.host,
        port=address.port or (port if is_port(port) else address.default_port()),
        username=text_or_none(options.get("mqtt_username")),
        password=text_or_none(options.get("mqtt_password")),
        tls=bool(address.tls),
        source="add-on options",
    )


def bridge_config(options: Mapping[str, Any], broker: Broker, data_dir: Path) -> dict[str, Any]:
    """The bridge's config as a TOML-shaped mapping; unset options keep the bridge's defaults."""
    raw: dict[str, Any] = {"cmc": {"cache_dir": str(data_dir / "cache")}, "mqtt": {}}
    for option in OPTIONS:
        if option.section == "mqtt" and option.name.startswith("mqtt_"):
            continue  # the broker comes from `broker`, whichever source it had
        value = options.get(option.name)
        if unset(value):
            continue
        if option.shape == "per_coin":
            for entry in _entries(value):  # a coin named twice: the first one (and a problem)
                if is_coin_id(entry.get(COIN)) and not unset(entry.get(AMOUNT)):
                    coin = raw.setdefault(option.section, {}).setdefault(str(entry[COIN]), {})
                    coin.setdefault(option.key, entry[AMOUNT])
        elif option.shape == "tables":  # anything but a list of dicts: the bridge says why
            raw[option.section] = [
                {k: v for k, v in entry.items() if not unset(v)} if isinstance(entry, dict)
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


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def unset(value: Any) -> bool:
    """An option left empty: the Supervisor's form may keep a cleared field as "" or null."""
    return value is None or value == ""


def is_port(value: Any) -> bool:
    return type(value) is int and 1 <= value <= 65535


def _entries(value: Any) -> list[dict[str, Any]]:
    """The dicts of a list option (anything else in it is reported by `_entry_problems`)."""
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def check_options(
    raw: dict[str, Any], options: Mapping[str, Any], found: list[str] | None = None
) -> None:
    """The bridge's own validation, with each problem named by the add-on option behind it;
    `found`: problems already known (the broker options'), reported with the rest. Raises
    `ConfigError` with every problem, one line each."""
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
        raise ConfigError([one_line(line) for line in lines])


def _entry_problems(options: Mapping[str, Any]) -> list[str]:
    """What the bridge cannot name in a "per_coin" option: entries it never sees as such (the
    Supervisor checks them too; this is for options.json written by other hands)."""
    lines: list[str] = []
    for option in OPTIONS:
        value = options.get(option.name)
        if option.shape != "per_coin" or unset(value):
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
            if not is_coin_id(coin):
                lines.append(f"{where}.{COIN}: expected a CoinMarketCap id, got {shown(coin)}")
            elif coin in first:
                lines.append(f"{where}.{COIN}: coin {coin} is in {option.name}[{first[coin]}] too")
            else:
                first[coin] = index
            if unset(entry.get(AMOUNT)):
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
