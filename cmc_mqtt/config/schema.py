"""The voluptuous schemas every configuration is checked against, section by section.

A TOML file, the `CMC_MQTT_*` variables (`env.py` reads the option names and kinds from these
schemas) and the add-on's options all meet here. Types and ranges are checked here; what needs
several options at once, files or exact amounts is checked afterwards (`parse.py`, `amounts.py`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final, get_args

import voluptuous as vol

from ..model.coins import MAX_COIN_ID
from ..money.alerts import Directions
from ..money.rate import FxSettings, Source
from .settings import (
    DEFAULT_URL,
    AwtrixSettings,
    BridgeSettings,
    BudgetAction,
    CreditSettings,
    DiscoveryMode,
    HomeAssistantSettings,
    LogLevel,
    MqttSettings,
    NamesSettings,
    PublishMode,
    Settings,
    StreamSettings,
    TextSettings,
    TlsSettings,
)
from .validators import (
    BOOLEAN,
    INTEGER,
    MAX_CLIENT_ID_BYTES,
    MAX_NAME_CHARS,
    MAX_NODE_ID_CHARS,
    MAX_PASSWORD_BYTES,
    MAX_SYMBOL_CHARS,
    MAX_TOPIC_BYTES,
    MAX_USERNAME_BYTES,
    PATH,
    STRING,
    TEMPLATE,
    bounded_text,
    coin_id_or_symbol,
    coin_tables,
    crypto_ids,
    currency_code,
    field_list,
    host_name,
    http_url,
    name_text,
    node_id,
    non_empty,
    strict,
    topic_level_checker,
    ws_url,
)


def default_of(owner: type, name: str) -> Any:
    """The settings dataclass's default for `name`: each default is written once, there, and
    the schema below reads it (a list where the dataclass holds a tuple, as TOML gives)."""
    for item in dataclasses.fields(owner):
        if item.name == name:
            if item.default is not dataclasses.MISSING:
                value = item.default
            elif item.default_factory is not dataclasses.MISSING:
                value = item.default_factory()
            else:
                break
            return list(value) if isinstance(value, tuple) else value
    raise LookupError(f"{owner.__name__}.{name} has no default")


def _opt(key: str, owner: type, name: str | None = None) -> vol.Optional:
    """An optional key defaulting to `owner`'s field `name` (default: the same as `key`)."""
    return vol.Optional(key, default=default_of(owner, name or key))


def _choice(kind: Any, *, lower: bool = False) -> Any:
    """A string among a Literal type's values: the type is the one list of the choices."""
    choices = get_args(kind)
    check = vol.In(choices, msg=f"must be one of {', '.join(choices)}")
    return vol.All(STRING, vol.Lower, check) if lower else vol.All(STRING, check)


_PORT = vol.All(INTEGER, vol.Range(min=1, max=65535))
_NUMBER = strict(int | float, "number")
_CREDITS = vol.All(strict(int | float, "number"), vol.Range(min=0, max=1000))
_SECONDS = vol.All(strict(int | float, "number"), vol.Range(min=1, max=86400))
_THROTTLE_TEXT: Final = default_of(TextSettings, "throttle")
_THROTTLE_AWTRIX: Final = default_of(AwtrixSettings, "throttle")


CMC_SCHEMA = vol.Schema(
    {
        # The key's own checks (length, characters) run where every source of it meets.
        vol.Optional("api_key"): vol.All(STRING, non_empty),
        vol.Optional("api_key_file"): PATH,
        vol.Optional("url", default=DEFAULT_URL): vol.All(STRING, ws_url),
        _opt("rest_url", NamesSettings): vol.All(STRING, http_url),
        vol.Optional("cache_dir"): PATH,
        _opt("lookup_names", NamesSettings, "lookup"): BOOLEAN,
        # Ids or symbols; a symbol becomes its coin's id in `coin_ids.resolve`.
        vol.Required("crypto_ids"): vol.All(crypto_ids, [coin_id_or_symbol]),
        _opt("max_connections", StreamSettings): vol.All(INTEGER, vol.Range(min=1, max=100)),
        # Amounts: types and ranges here, precision in `amounts.credit_settings`.
        _opt("credits_per_message", CreditSettings, "per_message"): _CREDITS,
        _opt("credits_per_subscription", CreditSettings, "per_subscription"): _CREDITS,
        vol.Optional("monthly_credit_budget"): vol.All(
            strict(int | float, "number"), vol.Range(min=1)
        ),
        _opt("on_budget", CreditSettings): _choice(BudgetAction),
        _opt("key_info_interval", CreditSettings): vol.All(
            strict(int | float, "number"), vol.Range(min=900, max=86400)
        ),
        _opt("currency", FxSettings): vol.All(STRING, currency_code),
        _opt("fx_source", FxSettings, "source"): _choice(Source),
        _opt("fx_interval", FxSettings, "interval"): vol.All(_NUMBER, vol.Range(min=60, max=86400)),
        vol.Optional("fx_max_age"): vol.All(_NUMBER, vol.Range(min=1, max=30 * 86400)),
        vol.Optional("fx_topic"): vol.All(
            STRING, topic_level_checker("fx topic", allow_slash=True, max_bytes=MAX_TOPIC_BYTES)
        ),
        _opt("fx_topic_key", FxSettings, "topic_key"): name_text(MAX_NAME_CHARS),
        _opt("fx_inverted", FxSettings, "inverted"): BOOLEAN,
        vol.Optional("fx_rate"): _NUMBER,  # its range and precision: `amounts.fx_settings`
    }
)

BRIDGE_SCHEMA = vol.Schema({_opt("allow_requests", BridgeSettings): BOOLEAN})

_DEADBAND = vol.All(strict(int | float, "number"), vol.Range(min=0, max=100))
_INTERVAL = vol.All(strict(int | float, "number"), vol.Range(min=0, max=86400))

MQTT_SCHEMA = vol.Schema(
    {
        # A host, host:port or an mqtt(s):// URL: split by `broker.parse_address`, so a port
        # and TLS have no default here (the address may name them).
        _opt("host", MqttSettings): vol.All(STRING, non_empty, host_name),
        vol.Optional("port"): _PORT,
        vol.Optional("username"): vol.All(STRING, bounded_text(utf8_bytes=MAX_USERNAME_BYTES)),
        # Any text: a password is never shown, so only its length is checked.
        vol.Optional("password"): vol.All(
            STRING, bounded_text(utf8_bytes=MAX_PASSWORD_BYTES, refuse=frozenset())
        ),
        vol.Optional("client_id"): vol.All(
            STRING, non_empty, bounded_text(utf8_bytes=MAX_CLIENT_ID_BYTES)
        ),
        _opt("topic_prefix", MqttSettings): vol.All(
            STRING, topic_level_checker("topic prefix", allow_slash=True)
        ),
        _opt("qos", MqttSettings): vol.All(INTEGER, vol.In((0, 1, 2), msg="must be 0, 1 or 2")),
        _opt("retain", MqttSettings): BOOLEAN,
        _opt("keepalive", MqttSettings): vol.All(INTEGER, vol.Range(min=5, max=65535)),
        vol.Optional("tls"): BOOLEAN,
        vol.Optional("ca_certs"): PATH,
        vol.Optional("certfile"): PATH,
        vol.Optional("keyfile"): PATH,
        _opt("insecure", TlsSettings): BOOLEAN,
        _opt("embedded", MqttSettings): BOOLEAN,
        _opt("publish_mode", MqttSettings): _choice(PublishMode),
        _opt("deadband", MqttSettings): _DEADBAND,
    }
)

LOG_SCHEMA = vol.Schema({_opt("level", Settings, "log_level"): _choice(LogLevel, lower=True)})

HOMEASSISTANT_SCHEMA = vol.Schema(
    {
        _opt("discovery", HomeAssistantSettings): BOOLEAN,
        _opt("discovery_prefix", HomeAssistantSettings): vol.All(
            STRING, topic_level_checker("discovery prefix", allow_slash=True)
        ),
        _opt("status_topic", HomeAssistantSettings): vol.All(
            STRING,
            topic_level_checker("status topic", allow_slash=True, max_bytes=MAX_TOPIC_BYTES),
        ),
        _opt("node_id", HomeAssistantSettings): vol.All(
            STRING,
            topic_level_checker("node id", allow_slash=False, max_bytes=MAX_NODE_ID_CHARS),
            node_id,
        ),
        _opt("discovery_mode", HomeAssistantSettings): _choice(DiscoveryMode),
        _opt("stale_after", HomeAssistantSettings): _SECONDS,
        _opt("fields", HomeAssistantSettings): field_list,
        _opt("enabled_fields", HomeAssistantSettings): field_list,
    }
)


TEXT_SCHEMA = vol.Schema(
    {
        _opt("enabled", TextSettings): BOOLEAN,
        _opt("template", TextSettings): TEMPLATE,
        vol.Optional("min_interval", default=_THROTTLE_TEXT.min_interval): _INTERVAL,
        vol.Optional("deadband", default=_THROTTLE_TEXT.deadband): _DEADBAND,
    }
)

#: Seconds an AWTRIX extra may last (a chart point, an indicator); their lower bounds and the
#: other extras' ranges are `awtrix.parse_extras`'s.
_AWTRIX_SECONDS = vol.All(_NUMBER, vol.Range(max=86400))

AWTRIX_SCHEMA = vol.Schema(
    {
        vol.Required("prefix"): vol.All(STRING, topic_level_checker("prefix", allow_slash=True)),
        _opt("template", AwtrixSettings): TEMPLATE,
        _opt("lifetime", AwtrixSettings): vol.All(INTEGER, vol.Range(min=10, max=86400)),
        _opt("icons", AwtrixSettings): vol.All(coin_tables, {str: name_text(MAX_NAME_CHARS)}),
        vol.Optional("min_interval", default=_THROTTLE_AWTRIX.min_interval): _INTERVAL,
        vol.Optional("deadband", default=_THROTTLE_AWTRIX.deadband): _DEADBAND,
        # The richer options: types here, ranges and defaults in `awtrix.parse_extras`.
        vol.Optional("colored_text"): BOOLEAN,
        vol.Optional("symbol_color"): STRING,
        vol.Optional("chart_points"): INTEGER,
        vol.Optional("chart_interval"): _AWTRIX_SECONDS,
        vol.Optional("notify_alerts"): BOOLEAN,
        vol.Optional("notify_hold"): BOOLEAN,
        vol.Optional("notify_sound"): STRING,
        vol.Optional("notify_rtttl"): STRING,
        vol.Optional("indicator"): INTEGER,
        vol.Optional("indicator_blink_ms"): INTEGER,
        vol.Optional("indicator_seconds"): _AWTRIX_SECONDS,
    }
)


def _awtrix_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise vol.Invalid("expected [[awtrix]] tables, one per clock")
    return value


def _alerts_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise vol.Invalid("expected [[alerts]] tables, one per rule")
    return value


COIN_SCHEMA = vol.Schema(
    {
        vol.Optional("name"): name_text(MAX_NAME_CHARS),
        vol.Optional("symbol"): name_text(MAX_SYMBOL_CHARS),
        vol.Optional("slug"): name_text(MAX_NAME_CHARS),
        # A number, or its text for more digits than a float keeps ("0.123456789012345678");
        # its range and precision: `amounts.holdings_of`.
        vol.Optional("holdings"): strict(int | float | str, "a number"),
    }
)
#: The keys that name a coin (a table with only `holdings` overrides no name).
NAME_KEYS: Final = ("name", "symbol", "slug")

ALERT_SCHEMA = vol.Schema(
    {
        # Levels and hysteresis: types here, range and precision in `amounts.alert_rules`.
        vol.Optional("price"): _NUMBER,
        vol.Optional("change"): _NUMBER,
        vol.Optional("coin"): vol.All(INTEGER, vol.Range(min=1, max=MAX_COIN_ID)),
        vol.Optional("direction"): _choice(Directions),
        vol.Optional("hysteresis"): _NUMBER,
    }
)

ROOT_SCHEMA = vol.Schema(
    {
        vol.Required("cmc"): CMC_SCHEMA,
        vol.Optional("mqtt", default={}): MQTT_SCHEMA,
        vol.Optional("homeassistant", default={}): HOMEASSISTANT_SCHEMA,
        vol.Optional("coins", default={}): vol.All(coin_tables, {str: COIN_SCHEMA}),
        vol.Optional("text", default={}): TEXT_SCHEMA,
        vol.Optional("awtrix", default=[]): vol.All(_awtrix_list, [AWTRIX_SCHEMA]),
        vol.Optional("alerts", default=[]): vol.All(_alerts_list, [ALERT_SCHEMA]),
        vol.Optional("log", default={}): LOG_SCHEMA,
        vol.Optional("bridge", default={}): BRIDGE_SCHEMA,
    }
)
#: Options whose value no problem line repeats, whatever is wrong with it.
SECRET_KEYS: Final = frozenset({("cmc", "api_key"), ("mqtt", "password")})
