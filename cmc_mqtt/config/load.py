"""Configuration: TOML in, frozen typed settings out, or one readable line per problem.

Config is parsed once; nothing after start-up reads raw dicts. Problems are collected (not
raised one by one) so a user fixes a config in one round trip.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import re
import socket
import stat
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, get_args

import voluptuous as vol

from ..displays.awtrix import AwtrixExtras, parse_extras
from ..displays.text import DEFAULT_TEMPLATE, check_template
from ..errors import ConfigError
from ..model import bounds
from ..model.coins import CoinInfo, coin_info
from ..model.fields import FIELD_KEYS, FIELDS
from ..money.alerts import AlertRule, Directions, parse_rules
from ..money.rate import RATE_DIGITS, FxSettings, Source, default_max_age, parse_rate
from ..util.secret import PLACEHOLDER_KEYS, Secret

DEFAULT_URL: Final = "wss://pro-stream.coinmarketcap.com/v1"
DEFAULT_REST_URL: Final = "https://pro-api.coinmarketcap.com"
DEFAULT_ENABLED: Final = tuple(f.key for f in FIELDS if f.enabled_by_default)
#: "entity": one discovery config per sensor; "device": one per coin (Home Assistant >= 2024.12).
DiscoveryMode = Literal["entity", "device"]
#: "all": every field of every quote; "changed": only fields whose value changed.
PublishMode = Literal["all", "changed"]
#: "warn": say so once; "stop": stop streaming until the month turns.
BudgetAction = Literal["warn", "stop"]
LogLevel = Literal["debug", "info", "warning", "error"]
DISCOVERY_MODES: Final = get_args(DiscoveryMode)
PUBLISH_MODES: Final = get_args(PublishMode)
BUDGET_ACTIONS: Final = get_args(BudgetAction)
LOG_LEVELS: Final = get_args(LogLevel)
AWTRIX_TEMPLATE: Final = "{symbol} {price} {change_signed}"  # the clock's font has no arrows
API_KEY_ENV: Final = "CMC_API_KEY"
#: CoinMarketCap's guide to the stream bills each data message; its overview says 0.1 credit per
#: subscription instead. Both are settings; /v1/key/info tells which one the key really pays.
CREDITS_PER_MESSAGE: Final = 0.025


@dataclass(frozen=True, slots=True)
class StreamSettings:
    url: str
    api_key: Secret
    crypto_ids: tuple[int, ...]
    max_connections: int = 10  # CoinMarketCap's limit per key; Enterprise keys may have more


@dataclass(frozen=True, slots=True)
class CreditSettings:
    """What the stream costs and how much of the month's credits it may use."""

    per_message: float = CREDITS_PER_MESSAGE
    per_subscription: float = 0.0
    monthly_budget: float | None = None
    on_budget: BudgetAction = "warn"
    key_info_interval: float = 900.0  # /v1/key/info is polled at most this often


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    allow_requests: bool = True  # <prefix>/bridge/request/… topics change coins at run time


@dataclass(frozen=True, slots=True)
class TlsSettings:
    enabled: bool = False
    ca_certs: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    insecure: bool = False


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: Secret | None = None
    client_id: str = ""
    topic_prefix: str = "cmc"
    qos: int = 0
    retain: bool = True
    keepalive: int = 60
    tls: TlsSettings = field(default_factory=TlsSettings)
    embedded: bool = False  # run an MQTT broker inside the bridge (optional extra "demo")
    #: With publish_mode "changed" and `deadband` > 0, only moves of at least that many percent
    #: (percentage points for % fields) are published.
    publish_mode: PublishMode = "all"
    deadband: float = 0.0


@dataclass(frozen=True, slots=True)
class HomeAssistantSettings:
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    status_topic: str = "homeassistant/status"
    node_id: str = "cmc_mqtt"
    discovery_mode: DiscoveryMode = "entity"
    stale_after: float = 45.0  # seconds without data before a coin is `offline`
    fields: tuple[str, ...] = FIELD_KEYS
    enabled_fields: tuple[str, ...] = DEFAULT_ENABLED


@dataclass(frozen=True, slots=True)
class Throttle:
    """How often a display output may change: at most every `min_interval` seconds per coin,
    and only when the price moved by at least `deadband` percent since the last update."""

    min_interval: float = 0.0
    deadband: float = 0.0


@dataclass(frozen=True, slots=True)
class TextSettings:
    enabled: bool = True
    template: str = DEFAULT_TEMPLATE
    throttle: Throttle = field(default_factory=Throttle)


@dataclass(frozen=True, slots=True)
class AwtrixSettings:
    prefix: str
    template: str = AWTRIX_TEMPLATE
    lifetime: int = 120
    icons: dict[int, str] = field(default_factory=dict)
    throttle: Throttle = field(default_factory=lambda: Throttle(10.0, 0.0))
    #: Coloured text, a chart app, alerts as notifications and indicators (all off by default).
    extras: AwtrixExtras = field(default_factory=AwtrixExtras)


@dataclass(frozen=True, slots=True)
class NamesSettings:
    """Where coin names come from besides the bundled table."""

    lookup: bool = True  # ask CoinMarketCap's REST API at start-up
    rest_url: str = DEFAULT_REST_URL
    cache_dir: Path | None = None
    overrides: dict[int, CoinInfo] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Settings:
    stream: StreamSettings
    mqtt: MqttSettings
    homeassistant: HomeAssistantSettings = field(default_factory=HomeAssistantSettings)
    names: NamesSettings = field(default_factory=NamesSettings)
    text: TextSettings = field(default_factory=TextSettings)
    awtrix: tuple[AwtrixSettings, ...] = ()
    credits: CreditSettings = field(default_factory=CreditSettings)
    bridge: BridgeSettings = field(default_factory=BridgeSettings)
    #: `[cmc] currency` and `fx_*`: the currency amounts are shown in, and its rate's source.
    fx: FxSettings = field(default_factory=FxSettings)
    #: `[coins.<id>] holdings`: coins held, by id (exact decimals).
    holdings: dict[int, Decimal] = field(default_factory=dict)
    #: `[[alerts]]`: price levels and 24 h changes to announce when crossed.
    alerts: tuple[AlertRule, ...] = ()
    log_level: LogLevel = "info"
    #: Things worth telling the user that do not stop the bridge (e.g. a world-readable key file).
    warnings: tuple[str, ...] = ()


# --- bounds of text and whole numbers ---------------------------------------------------------
#
# Every option from outside has a documented bound (config.example.toml states each one where
# the option is): a prefix or topic goes out with every message, a template is rendered for
# every quote, a key is sent in a request header. Amounts (holdings, rates, alert levels,
# credits) are bounded by `bounds`; what is here bounds text, whole numbers and nesting.

#: The largest config file read at all: a real one is a few kilobytes.
MAX_CONFIG_BYTES: Final = 1 << 20
#: How deep lists and tables may nest (a real config nests 4 deep: [[awtrix]] icons): deeper
#: input would cost recursion in every later step (copying, validating, showing it refused).
MAX_DEPTH: Final = 16
#: Whole-number options: a 64-bit integer at most (each has a far smaller range of its own).
MAX_INT: Final = 2**63 - 1
MAX_COIN_ID: Final = 2**31 - 1
#: Topic prefixes (`mqtt.topic_prefix`, `homeassistant.discovery_prefix`, an AWTRIX `prefix`)
#: and whole topics (`status_topic`, `fx_topic`), in bytes of UTF-8 as the broker counts them.
MAX_PREFIX_BYTES: Final = 64
MAX_TOPIC_BYTES: Final = 128
MAX_TEMPLATE_CHARS: Final = 256
MAX_NODE_ID_CHARS: Final = 64
MAX_CLIENT_ID_BYTES: Final = 128
MAX_HOST_CHARS: Final = 253  # the longest DNS name
MAX_USERNAME_BYTES: Final = 256
MAX_PASSWORD_BYTES: Final = 1024
MAX_URL_CHARS: Final = 2048
MAX_PATH_BYTES: Final = 4096  # PATH_MAX
#: `fx_topic_key`, an AWTRIX icon, a coin's name or slug; a symbol is shorter.
MAX_NAME_CHARS: Final = 64
MAX_SYMBOL_CHARS: Final = 16
#: A CoinMarketCap key has 36 characters; `api_key_file` holds the key and a line break.
MAX_KEY_CHARS: Final = 256
MAX_KEY_FILE_BYTES: Final = 4096
#: The longest problem line: a refused value is cut short to stay readable in a log.
MAX_LINE_CHARS: Final = 300
#: Characters that end a line or a protocol field (C0/C1 controls, DEL, U+2028, U+2029), and
#: invisible ones that reorder or hide text (U+202E, U+200D, a BOM): neither belongs in a
#: topic, a host, a login, a coin's name or a key.
_CONTROL: Final = frozenset({"Cc", "Zl", "Zp"})
_INVISIBLE: Final = frozenset({"Cf"})


def one_line(problem: str) -> str:
    """`problem` as one line of at most `MAX_LINE_CHARS`: what would break the line (a key or
    value with a line break in it, from any module's message) is written as an escape."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in problem)
    return text if len(text) <= MAX_LINE_CHARS else text[: MAX_LINE_CHARS - 3] + "..."


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """True when lists and tables nest more than `limit` levels below `value` (iterative: the
    check itself must not recurse)."""
    level = [value]
    for _ in range(limit + 1):
        below: list[object] = []
        for item in level:
            if isinstance(item, Mapping):
                below.extend(item.values())
            elif isinstance(item, list | tuple):
                below.extend(item)
        if not below:
            return False
        level = below
    return True


def _bad_character(value: str, categories: frozenset[str]) -> str | None:
    """The first character of `value` in `categories` (or a noncharacter), as `U+XXXX`."""
    for char in value:
        code = ord(char)
        if unicodedata.category(char) in categories or _noncharacter(code):
            return f"U+{code:04X}"
    return None


def _noncharacter(code: int) -> bool:
    """U+FDD0..U+FDEF and U+xFFFE/U+xFFFF: valid code points MQTT brokers refuse in topics."""
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


# --- validators -------------------------------------------------------------------------------


def _strict(kind: Any, label: str) -> Callable[[Any], Any]:
    """Type check that refuses bool where int is wanted (TOML `true` is not a port number),
    text that cannot be written as UTF-8 (a lone surrogate: no topic or file can carry it) and
    integers beyond 64 bits."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise vol.Invalid(f"expected {label}")
        if not isinstance(value, kind):
            raise vol.Invalid(f"expected {label}")
        if isinstance(value, str):
            _utf8(value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise vol.Invalid("integer out of range")
        return value

    return check


def _utf8(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = f"U+{ord(value[exc.start]):04X}"
        raise vol.Invalid(f"not UTF-8 text (a lone surrogate, {char})") from None


_int = _strict(int, "int")
_str = _strict(str, "string")
_bool = _strict(bool, "bool")


def _non_empty(value: str) -> str:
    if not value.strip():
        raise vol.Invalid("must not be empty")
    return value


def _text(
    *,
    chars: int | None = None,
    utf8_bytes: int | None = None,
    refuse: frozenset[str] = _CONTROL | _INVISIBLE,
) -> Callable[[str], str]:
    """A bounded text option: at most `chars` characters or `utf8_bytes` bytes, and none of
    the characters in `refuse` (categories). Runs after `_str`."""

    def check(value: str) -> str:
        if chars is not None and len(value) > chars:
            raise vol.Invalid(f"longer than {chars} characters")
        if utf8_bytes is not None and len(value.encode("utf-8")) > utf8_bytes:
            raise vol.Invalid(f"longer than {utf8_bytes} bytes (UTF-8)")
        bad = _bad_character(value, refuse) if refuse else None
        if bad is not None:
            raise vol.Invalid(f"must not contain control or invisible characters ({bad})")
        return value

    return check


def _line(chars: int) -> Any:
    """A one-line text option of at most `chars` characters (a coin's name, an icon)."""
    return vol.All(_str, _non_empty, _text(chars=chars))


#: A file name: any text a path can hold but NUL and line breaks, at most PATH_MAX bytes.
_PATH = vol.All(_str, _non_empty, _text(utf8_bytes=MAX_PATH_BYTES, refuse=_CONTROL))
#: A template may hold any text (an emoji joined by U+200D, a line break for a display).
_TEMPLATE = vol.All(_str, _non_empty, _text(chars=MAX_TEMPLATE_CHARS, refuse=frozenset()))


def topic_level_checker(
    what: str, *, allow_slash: bool, max_bytes: int = MAX_PREFIX_BYTES
) -> Callable[[str], str]:
    """MQTT topic parts we build from config must not contain wildcards or empty levels, nor
    characters a broker refuses in a topic, and stay within `max_bytes` of UTF-8."""
    bounded = _text(utf8_bytes=max_bytes)

    def check(value: str) -> str:
        if not value:
            raise vol.Invalid(f"{what} must not be empty")
        for bad in ("+", "#", "\x00"):
            if bad in value:
                raise vol.Invalid(f"{what} must not contain {bad!r}")
        if not allow_slash and "/" in value:
            raise vol.Invalid(f"{what} must not contain '/'")
        if value.startswith("$"):
            raise vol.Invalid(f"{what} must not start with '$' (reserved by brokers)")
        if any(level == "" for level in value.split("/")):
            raise vol.Invalid(f"{what} must not have empty levels (leading, trailing or '//')")
        try:
            return bounded(value)
        except vol.Invalid as exc:
            raise vol.Invalid(f"{what} {exc.error_message}") from None

    return check


def _crypto_ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        raise vol.Invalid("expected a list of coin ids, e.g. [1, 1027]")
    if not value:
        raise vol.Invalid("must name at least one coin id")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise vol.Invalid("must start with http:// or https://")
    return _url_text(value).rstrip("/")


def _url(value: str) -> str:
    if not value.startswith(("ws://", "wss://")):
        raise vol.Invalid("must start with ws:// or wss://")
    return _url_text(value)


def _url_text(value: str) -> str:
    """A URL goes into a request line: no spaces, no line breaks, nothing invisible."""
    if len(value) > MAX_URL_CHARS:
        raise vol.Invalid(f"longer than {MAX_URL_CHARS} characters")
    if any(c.isspace() for c in value) or _bad_character(value, _CONTROL | _INVISIBLE):
        raise vol.Invalid("must not contain spaces, control or invisible characters")
    return value


def _host(value: str) -> str:
    """A broker's host name or address: one word of at most 253 characters."""
    if len(value) > MAX_HOST_CHARS:
        raise vol.Invalid(f"longer than {MAX_HOST_CHARS} characters")
    if any(c.isspace() for c in value) or _bad_character(value, _CONTROL | _INVISIBLE):
        raise vol.Invalid("must not contain spaces, control or invisible characters")
    return value


def _node_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise vol.Invalid("may only contain letters, digits, '_' and '-'")
    return value


def _field_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise vol.Invalid('expected a list of field keys, e.g. ["p", "p24h"]')
    unknown = [v for v in value if not isinstance(v, str) or v not in FIELD_KEYS]
    if unknown:
        shown = bounds.shown(unknown[0])
        raise vol.Invalid(f"unknown field {shown}; fields are {', '.join(FIELD_KEYS)}")
    return value


def coin_id_of(key: object) -> int | None:
    """A table key naming a coin (`[coins.1027]`) as its id: ASCII digits without a leading
    zero (int() would also read "١٠٢٧" and choke on "²"; "01" would be a second table for 1),
    within 1..2^31-1; None otherwise."""
    text = str(key)
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_COIN_ID else None


def _coin_overrides(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise vol.Invalid("expected a table of coin ids")
    for key in value:
        if coin_id_of(key) is None:
            raise vol.Invalid(
                f"must be a CoinMarketCap id (a number from 1 to {MAX_COIN_ID})", path=[key]
            )
    return value


def _default(owner: type, name: str) -> Any:
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
    return vol.Optional(key, default=_default(owner, name or key))


def _choice(kind: Any, *, lower: bool = False) -> Any:
    """A string among a Literal type's values: the type is the one list of the choices."""
    choices = get_args(kind)
    check = vol.In(choices, msg=f"must be one of {', '.join(choices)}")
    return vol.All(_str, vol.Lower, check) if lower else vol.All(_str, check)


def _currency_code(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value.strip()):
        raise vol.Invalid('expected an ISO 4217 code such as "EUR"')
    return value.strip().upper()


_PORT = vol.All(_int, vol.Range(min=1, max=65535))
_NUMBER = _strict(int | float, "number")
_CREDITS = vol.All(_strict(int | float, "number"), vol.Range(min=0, max=1000))
_SECONDS = vol.All(_strict(int | float, "number"), vol.Range(min=1, max=86400))
_THROTTLE_TEXT: Final = _default(TextSettings, "throttle")
_THROTTLE_AWTRIX: Final = _default(AwtrixSettings, "throttle")


CMC_SCHEMA = vol.Schema(
    {
        # The key's own checks (length, characters) run where every source of it meets.
        vol.Optional("api_key"): vol.All(_str, _non_empty),
        vol.Optional("api_key_file"): _PATH,
        vol.Optional("url", default=DEFAULT_URL): vol.All(_str, _url),
        _opt("rest_url", NamesSettings): vol.All(_str, _http_url),
        vol.Optional("cache_dir"): _PATH,
        _opt("lookup_names", NamesSettings, "lookup"): _bool,
        vol.Required("crypto_ids"): vol.All(
            _crypto_ids, [vol.All(_int, vol.Range(min=1, max=MAX_COIN_ID))]
        ),
        _opt("max_connections", StreamSettings): vol.All(_int, vol.Range(min=1, max=100)),
        # Amounts: types and ranges here, precision in `_credits` (bounds.parse_amount).
        _opt("credits_per_message", CreditSettings, "per_message"): _CREDITS,
        _opt("credits_per_subscription", CreditSettings, "per_subscription"): _CREDITS,
        vol.Optional("monthly_credit_budget"): vol.All(
            _strict(int | float, "number"), vol.Range(min=1)
        ),
        _opt("on_budget", CreditSettings): _choice(BudgetAction),
        _opt("key_info_interval", CreditSettings): vol.All(
            _strict(int | float, "number"), vol.Range(min=900, max=86400)
        ),
        _opt("currency", FxSettings): vol.All(_str, _currency_code),
        _opt("fx_source", FxSettings, "source"): _choice(Source),
        _opt("fx_interval", FxSettings, "interval"): vol.All(_NUMBER, vol.Range(min=60, max=86400)),
        vol.Optional("fx_max_age"): vol.All(_NUMBER, vol.Range(min=1, max=30 * 86400)),
        vol.Optional("fx_topic"): vol.All(
            _str, topic_level_checker("fx topic", allow_slash=True, max_bytes=MAX_TOPIC_BYTES)
        ),
        _opt("fx_topic_key", FxSettings, "topic_key"): _line(MAX_NAME_CHARS),
        _opt("fx_inverted", FxSettings, "inverted"): _bool,
        vol.Optional("fx_rate"): _NUMBER,  # its range and precision: `_fx_rate`
    }
)

BRIDGE_SCHEMA = vol.Schema({_opt("allow_requests", BridgeSettings): _bool})

_DEADBAND = vol.All(_strict(int | float, "number"), vol.Range(min=0, max=100))
_INTERVAL = vol.All(_strict(int | float, "number"), vol.Range(min=0, max=86400))

MQTT_SCHEMA = vol.Schema(
    {
        _opt("host", MqttSettings): vol.All(_str, _non_empty, _host),
        _opt("port", MqttSettings): _PORT,
        vol.Optional("username"): vol.All(_str, _text(utf8_bytes=MAX_USERNAME_BYTES)),
        # Any text: a password is never shown, so only its length is checked.
        vol.Optional("password"): vol.All(
            _str, _text(utf8_bytes=MAX_PASSWORD_BYTES, refuse=frozenset())
        ),
        vol.Optional("client_id"): vol.All(_str, _non_empty, _text(utf8_bytes=MAX_CLIENT_ID_BYTES)),
        _opt("topic_prefix", MqttSettings): vol.All(
            _str, topic_level_checker("topic prefix", allow_slash=True)
        ),
        _opt("qos", MqttSettings): vol.All(_int, vol.In((0, 1, 2), msg="must be 0, 1 or 2")),
        _opt("retain", MqttSettings): _bool,
        _opt("keepalive", MqttSettings): vol.All(_int, vol.Range(min=5, max=65535)),
        _opt("tls", TlsSettings, "enabled"): _bool,
        vol.Optional("ca_certs"): _PATH,
        vol.Optional("certfile"): _PATH,
        vol.Optional("keyfile"): _PATH,
        _opt("insecure", TlsSettings): _bool,
        _opt("embedded", MqttSettings): _bool,
        _opt("publish_mode", MqttSettings): _choice(PublishMode),
        _opt("deadband", MqttSettings): _DEADBAND,
    }
)

LOG_SCHEMA = vol.Schema({_opt("level", Settings, "log_level"): _choice(LogLevel, lower=True)})

HOMEASSISTANT_SCHEMA = vol.Schema(
    {
        _opt("discovery", HomeAssistantSettings): _bool,
        _opt("discovery_prefix", HomeAssistantSettings): vol.All(
            _str, topic_level_checker("discovery prefix", allow_slash=True)
        ),
        _opt("status_topic", HomeAssistantSettings): vol.All(
            _str,
            topic_level_checker("status topic", allow_slash=True, max_bytes=MAX_TOPIC_BYTES),
        ),
        _opt("node_id", HomeAssistantSettings): vol.All(
            _str,
            topic_level_checker("node id", allow_slash=False, max_bytes=MAX_NODE_ID_CHARS),
            _node_id,
        ),
        _opt("discovery_mode", HomeAssistantSettings): _choice(DiscoveryMode),
        _opt("stale_after", HomeAssistantSettings): _SECONDS,
        _opt("fields", HomeAssistantSettings): _field_list,
        _opt("enabled_fields", HomeAssistantSettings): _field_list,
    }
)


TEXT_SCHEMA = vol.Schema(
    {
        _opt("enabled", TextSettings): _bool,
        _opt("template", TextSettings): _TEMPLATE,
        vol.Optional("min_interval", default=_THROTTLE_TEXT.min_interval): _INTERVAL,
        vol.Optional("deadband", default=_THROTTLE_TEXT.deadband): _DEADBAND,
    }
)

#: Seconds an AWTRIX extra may last (a chart point, an indicator); their lower bounds and the
#: other extras' ranges are `awtrix.parse_extras`'s.
_AWTRIX_SECONDS = vol.All(_NUMBER, vol.Range(max=86400))

AWTRIX_SCHEMA = vol.Schema(
    {
        vol.Required("prefix"): vol.All(_str, topic_level_checker("prefix", allow_slash=True)),
        _opt("template", AwtrixSettings): _TEMPLATE,
        _opt("lifetime", AwtrixSettings): vol.All(_int, vol.Range(min=10, max=86400)),
        _opt("icons", AwtrixSettings): vol.All(_coin_overrides, {str: _line(MAX_NAME_CHARS)}),
        vol.Optional("min_interval", default=_THROTTLE_AWTRIX.min_interval): _INTERVAL,
        vol.Optional("deadband", default=_THROTTLE_AWTRIX.deadband): _DEADBAND,
        # The richer options: types here, ranges and defaults in `awtrix.parse_extras`.
        vol.Optional("colored_text"): _bool,
        vol.Optional("symbol_color"): _str,
        vol.Optional("chart_points"): _int,
        vol.Optional("chart_interval"): _AWTRIX_SECONDS,
        vol.Optional("notify_alerts"): _bool,
        vol.Optional("notify_hold"): _bool,
        vol.Optional("notify_sound"): _str,
        vol.Optional("notify_rtttl"): _str,
        vol.Optional("indicator"): _int,
        vol.Optional("indicator_blink_ms"): _int,
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
        vol.Optional("name"): _line(MAX_NAME_CHARS),
        vol.Optional("symbol"): _line(MAX_SYMBOL_CHARS),
        vol.Optional("slug"): _line(MAX_NAME_CHARS),
        # A number, or its text for more digits than a float keeps ("0.123456789012345678");
        # its range and precision: `_holdings`.
        vol.Optional("holdings"): _strict(int | float | str, "a number"),
    }
)
#: The keys that name a coin (a table with only `holdings` overrides no name).
_NAME_KEYS: Final = ("name", "symbol", "slug")

ALERT_SCHEMA = vol.Schema(
    {
        # Levels and hysteresis: types here, range and precision in `_alert_amounts`.
        vol.Optional("price"): _NUMBER,
        vol.Optional("change"): _NUMBER,
        vol.Optional("coin"): vol.All(_int, vol.Range(min=1, max=MAX_COIN_ID)),
        vol.Optional("direction"): _choice(Directions),
        vol.Optional("hysteresis"): _NUMBER,
    }
)

ROOT_SCHEMA = vol.Schema(
    {
        vol.Required("cmc"): CMC_SCHEMA,
        vol.Optional("mqtt", default={}): MQTT_SCHEMA,
        vol.Optional("homeassistant", default={}): HOMEASSISTANT_SCHEMA,
        vol.Optional("coins", default={}): vol.All(_coin_overrides, {str: COIN_SCHEMA}),
        vol.Optional("text", default={}): TEXT_SCHEMA,
        vol.Optional("awtrix", default=[]): vol.All(_awtrix_list, [AWTRIX_SCHEMA]),
        vol.Optional("alerts", default=[]): vol.All(_alerts_list, [ALERT_SCHEMA]),
        vol.Optional("log", default={}): LOG_SCHEMA,
        vol.Optional("bridge", default={}): BRIDGE_SCHEMA,
    }
)
#: Options whose value no problem line repeats, whatever is wrong with it.
SECRET_KEYS: Final = frozenset({("cmc", "api_key"), ("mqtt", "password")})

_MESSAGES: Final = {
    "extra keys not allowed": "unknown option",
    "required key not provided": "required",
    "expected a dictionary": "expected a table",
}


# --- loading ----------------------------------------------------------------------------------


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a config file; raise `ConfigError` listing every problem found.

    `CMC_MQTT_<SECTION>_<KEY>` variables override the file's options or replace a missing file."""
    from .env import EnvOverlay  # noqa: PLC0415 - envconfig reads this module's schemas

    env = os.environ if environ is None else environ
    overlay = EnvOverlay(env)
    try:
        raw_text = read_bounded(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        if overlay:
            return overlay.parse(None, lambda merged: parse_settings(merged, environ=env))
        raise ConfigError([f"{path}: no such config file (see config.example.toml)"]) from None
    except TooLarge:
        raise ConfigError([f"{path}: larger than {MAX_CONFIG_BYTES} bytes"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    raw = _toml(path, raw_text)
    settings = overlay.parse(raw, lambda merged: parse_settings(merged, environ=env))
    if _real_key_in(raw) and _readable_by_others(path):
        warning = f"{path} holds the API key and is readable by other users; run: chmod 600 {path}"
        settings = _with_warning(settings, warning)
    return settings


def _toml(path: Path, data: bytes) -> dict[str, Any]:
    """The file's TOML, or one line saying why it cannot be read (tomllib lets an integer
    past Python's 4,300-digit limit through as ValueError and deep nesting as RecursionError)."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([one_line(f"{path}: invalid TOML: {exc}")]) from None
    except ValueError:
        raise ConfigError([f"{path}: a number too long to read (no option takes one)"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: lists or tables nested too deeply"]) from None


class TooLarge(OSError):
    """A file larger than its bound (read no further)."""


def read_bounded(path: Path, limit: int, *, regular: bool = False) -> bytes:
    """At most `limit` bytes of `path`, `TooLarge` beyond: `/dev/zero` or a huge file costs no
    more than that. With `regular`, only a regular file is read (`NotRegular` otherwise): a FIFO
    with no writer would hang the start. Opening never blocks (O_NONBLOCK)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except ValueError:  # a NUL in the name
        raise FileNotFoundError(2, "No such file or directory") from None
    try:
        info = os.fstat(fd)
        if regular and not stat.S_ISREG(info.st_mode):
            raise NotRegular(info.st_mode)
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise TooLarge(f"more than {limit} bytes")
        os.set_blocking(fd, True)  # a pipe with a writer (`--config <(...)`) is waited for
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise TooLarge(f"more than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


class NotRegular(OSError):
    """Not a regular file; `kind` says what it is."""

    def __init__(self, mode: int) -> None:
        kinds = [
            (stat.S_ISDIR, "a directory"),
            (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a FIFO"),
            (stat.S_ISSOCK, "a socket"),
        ]
        self.kind = next((name for test, name in kinds if test(mode)), "not a regular file")
        super().__init__(self.kind)


# --- one pass over a config ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checked:
    """What the checks after the schema made of the validated values."""

    api_key: Secret
    tls: TlsSettings
    fx: FxSettings
    credits: CreditSettings
    holdings: dict[int, Decimal]
    alerts: tuple[AlertRule, ...]
    extras: tuple[AwtrixExtras, ...]


def parse_settings(raw: Mapping[str, Any], *, environ: Mapping[str, str]) -> Settings:
    """Validate an already-parsed config mapping (tests and the demo build these directly).

    Every problem in one pass: when the schema finds some, the checks that need validated
    values (the key, files, templates, amounts, options that go together) still run, on what
    of the config is valid, and only add what the schema has not already said about the same
    key. Every problem is one line naming its key; a secret is never repeated."""
    data, reported = _validate(raw)
    problems: list[str] = []
    checked = _check(data, environ, problems)
    said = {_key_of(line) for line in reported}
    problems = reported + [line for line in problems if not _said_before(_key_of(line), said)]
    if problems:
        raise ConfigError([one_line(line) for line in problems])
    assert checked is not None  # every check that gives None reported a problem
    return _settings(data, checked, environ)


def _validate(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The schema's result (salvaged when it found problems) and its problems. A section
    nested too deeply is refused whole, before anything else looks into it."""
    deep = sorted(str(key) for key, value in raw.items() if too_deep(value, MAX_DEPTH - 1))
    reported = [f"{_dotted([key])}: lists or tables nested too deeply" for key in deep]
    given = {key: value for key, value in raw.items() if str(key) not in deep}
    try:
        return ROOT_SCHEMA(given), reported
    except vol.MultipleInvalid as exc:
        found = sorted({_describe(err, given) for err in exc.errors})
        said = {_key_of(line) for line in reported}
        reported += [line for line in found if not _said_before(_key_of(line), said)]
        return _salvage(ROOT_SCHEMA, given), reported


def _check(
    data: dict[str, Any], environ: Mapping[str, str], problems: list[str]
) -> _Checked | None:
    """The checks that need validated values; their problems go to `problems`."""
    cmc, mqtt, text = data.get("cmc", {}), data["mqtt"], data["text"]
    api_key = _api_key(cmc, environ, problems)
    tls = TlsSettings(
        enabled=mqtt["tls"],
        ca_certs=_existing_file(mqtt, "ca_certs", problems),
        certfile=_existing_file(mqtt, "certfile", problems),
        keyfile=_existing_file(mqtt, "keyfile", problems),
        insecure=mqtt["insecure"],
    )
    if (tls.certfile is None) != (tls.keyfile is None):
        problems.append("mqtt.certfile: certfile and keyfile must be given together")
    if mqtt["deadband"] and mqtt["publish_mode"] != "changed":
        problems.append('mqtt.deadband: needs mqtt.publish_mode = "changed"')
    if "password" in mqtt and "username" not in mqtt:
        problems.append("mqtt.password: a password needs mqtt.username too")
    for key, template in [("text.template", text["template"])] + [
        (f"awtrix[{i}].template", clock["template"]) for i, clock in enumerate(data["awtrix"])
    ]:
        _collect(functools.partial(check_template, template, key), problems, None)
    fx = _fx(cmc, problems)
    credits = _credits(cmc, problems)
    holdings = _holdings(data["coins"], problems)
    alerts = _alerts(data["alerts"], problems)
    extras = tuple(
        _collect(functools.partial(parse_extras, clock, f"awtrix[{i}]"), problems, AwtrixExtras())
        for i, clock in enumerate(data["awtrix"])
    )
    if api_key is None:
        return None
    return _Checked(api_key, tls, fx, credits, holdings, alerts, extras)


def _settings(data: dict[str, Any], checked: _Checked, environ: Mapping[str, str]) -> Settings:
    """Frozen settings from values every check has passed."""
    cmc, mqtt, ha, text = data["cmc"], data["mqtt"], data["homeassistant"], data["text"]
    password = mqtt.get("password")
    return Settings(
        stream=StreamSettings(
            url=cmc["url"],
            api_key=checked.api_key,
            crypto_ids=tuple(dict.fromkeys(cmc["crypto_ids"])),
            max_connections=cmc["max_connections"],
        ),
        mqtt=MqttSettings(
            host=mqtt["host"],
            port=mqtt["port"],
            username=mqtt.get("username"),
            password=Secret(password) if password is not None else None,
            client_id=mqtt.get("client_id") or f"cmc-mqtt-{socket.gethostname()}",
            topic_prefix=mqtt["topic_prefix"],
            qos=mqtt["qos"],
            retain=mqtt["retain"],
            keepalive=mqtt["keepalive"],
            tls=checked.tls,
            embedded=mqtt["embedded"],
            publish_mode=mqtt["publish_mode"],
            deadband=float(mqtt["deadband"]),
        ),
        homeassistant=HomeAssistantSettings(
            discovery=ha["discovery"],
            discovery_prefix=ha["discovery_prefix"],
            status_topic=ha["status_topic"],
            node_id=ha["node_id"],
            discovery_mode=ha["discovery_mode"],
            stale_after=float(ha["stale_after"]),
            fields=tuple(k for k in FIELD_KEYS if k in ha["fields"]),
            enabled_fields=tuple(k for k in FIELD_KEYS if k in ha["enabled_fields"]),
        ),
        names=NamesSettings(
            lookup=cmc["lookup_names"],
            rest_url=cmc["rest_url"],
            cache_dir=_cache_dir(cmc.get("cache_dir"), environ),
            overrides=_overrides(data["coins"]),
        ),
        text=TextSettings(
            enabled=text["enabled"],
            template=text["template"],
            throttle=Throttle(float(text["min_interval"]), float(text["deadband"])),
        ),
        awtrix=_clocks(data["awtrix"], checked.extras),
        credits=checked.credits,
        bridge=BridgeSettings(allow_requests=data["bridge"]["allow_requests"]),
        fx=checked.fx,
        holdings=checked.holdings,
        alerts=checked.alerts,
        log_level=data["log"]["level"],
    )


def _clocks(
    clocks: list[dict[str, Any]], extras: tuple[AwtrixExtras, ...]
) -> tuple[AwtrixSettings, ...]:
    return tuple(
        AwtrixSettings(
            prefix=clock["prefix"],
            template=clock["template"],
            lifetime=clock["lifetime"],
            icons={int(k): v for k, v in clock["icons"].items()},
            throttle=Throttle(float(clock["min_interval"]), float(clock["deadband"])),
            extras=extra,
        )
        for clock, extra in zip(clocks, extras, strict=True)
    )


def _collect(parse: Callable[[], Any], problems: list[str], fallback: Any) -> Any:
    """`parse()`, or its ConfigError's lines added to `problems` and `fallback`."""
    try:
        return parse()
    except ConfigError as exc:
        problems.extend(exc.problems)
        return fallback


# --- amounts (bounds.py holds every range and precision) ----------------------------------------


def _fx(cmc: Mapping[str, Any], problems: list[str]) -> FxSettings:
    """`currency` and the `fx_*` keys, with what only makes sense together checked."""
    defaults = FxSettings()
    source = cmc.get("fx_source", defaults.source)
    currency = cmc.get("currency", defaults.currency)
    interval = float(cmc.get("fx_interval", defaults.interval))
    rate = None
    if "fx_rate" in cmc:
        rate = _collect(lambda: _fx_rate(cmc["fx_rate"], "cmc.fx_rate"), problems, None)
    converts = currency != "USD"
    if converts and source == "mqtt" and "fx_topic" not in cmc:
        problems.append('cmc.fx_topic: required with fx_source = "mqtt"')
    if converts and source == "fixed" and "fx_rate" not in cmc:
        problems.append('cmc.fx_rate: required with fx_source = "fixed"')
    max_age = float(cmc["fx_max_age"]) if "fx_max_age" in cmc else None
    if converts and source == "coinmarketcap" and max_age is not None and max_age <= interval:
        problems.append(
            f"cmc.fx_max_age: must be more than fx_interval ({interval:g} s), or every rate "
            "would go stale before the next one comes"
        )
    if converts and source == "fixed" and max_age is not None:
        problems.append("cmc.fx_max_age: a fixed rate never goes stale; remove it")
    if max_age is None and converts:
        max_age = default_max_age(source, interval)
    return FxSettings(
        currency=currency,
        source=source,
        interval=interval,
        max_age=max_age,
        topic=cmc.get("fx_topic"),
        topic_key=cmc.get("fx_topic_key", defaults.topic_key),
        inverted=cmc.get("fx_inverted", defaults.inverted),
        rate=rate,
    )


def _fx_rate(value: object, key: str) -> Decimal:
    """A fixed rate within `bounds.MIN_RATE`..`MAX_RATE` with at most `RATE_DIGITS`
    significant digits: refused beyond that, not rounded (the user wrote more than is used)."""
    problem = (
        f"{key}: expected units of the currency per US dollar, from "
        f"{bounds.MIN_RATE:f} up to {bounds.written(bounds.MAX_RATE)}, "
        f"at most {RATE_DIGITS} significant digits, got {bounds.shown(value)}"
    )
    places = RATE_DIGITS - bounds.MIN_RATE.adjusted() - 1
    try:
        number = bounds.parse_amount(value, key, maximum=bounds.MAX_RATE, places=places)
    except ConfigError:
        raise ConfigError([problem]) from None
    if number < bounds.MIN_RATE or len(number.normalize().as_tuple().digits) > RATE_DIGITS:
        raise ConfigError([problem])
    return parse_rate(number)


def _credits(cmc: Mapping[str, Any], problems: list[str]) -> CreditSettings:
    """What the stream costs and the month's budget, each within `bounds`' range and places."""
    defaults = CreditSettings()

    def amount(name: str, maximum: Decimal, fallback: float, *, positive: bool = False) -> float:
        if name not in cmc:
            return fallback
        parse = functools.partial(
            bounds.parse_amount,
            cmc[name],
            f"cmc.{name}",
            maximum=maximum,
            places=bounds.CREDIT_PLACES,
            positive=positive,
            what="a number of credits",
        )
        return float(_collect(parse, problems, Decimal(0)))

    budget = amount("monthly_credit_budget", bounds.MAX_CREDIT_BUDGET, 0.0, positive=True)
    return CreditSettings(
        per_message=amount("credits_per_message", bounds.MAX_CREDIT_COST, defaults.per_message),
        per_subscription=amount(
            "credits_per_subscription", bounds.MAX_CREDIT_COST, defaults.per_subscription
        ),
        monthly_budget=budget if "monthly_credit_budget" in cmc else None,
        on_budget=cmc.get("on_budget", defaults.on_budget),
        key_info_interval=float(cmc.get("key_info_interval", defaults.key_info_interval)),
    )


def _holdings(coins: Mapping[str, Mapping[str, Any]], problems: list[str]) -> dict[int, Decimal]:
    held: dict[int, Decimal] = {}
    for key, values in coins.items():
        if "holdings" in values:
            parse = functools.partial(
                bounds.parse_amount,
                values["holdings"],
                f"coins.{key}.holdings",
                maximum=bounds.MAX_HOLDING,
                places=bounds.HOLDING_PLACES,
                what="a number of coins",
            )
            amount = _collect(parse, problems, None)
            if amount:
                held[int(key)] = amount
    return held


def _alerts(tables: list[dict[str, Any]], problems: list[str]) -> tuple[AlertRule, ...]:
    """`[[alerts]]` as rules: each level and hysteresis within its bounds first (a price level
    and its hysteresis in currency units, a change level and its hysteresis in percent), then
    `alerts.parse_rules` for what makes a rule; a key refused here is not refused twice."""
    mine: list[str] = []
    for index, table in enumerate(tables):
        kind = "change" if "change" in table and "price" not in table else "price"
        maximum = bounds.MAX_PRICE_LEVEL if kind == "price" else bounds.MAX_CHANGE_LEVEL
        for name, positive in (("price", True), ("change", False), ("hysteresis", False)):
            if name not in table:
                continue
            top = bounds.MAX_CHANGE_LEVEL if name == "change" else maximum
            parse = functools.partial(
                bounds.parse_amount,
                table[name],
                f"alerts[{index}].{name}",
                maximum=top,
                places=bounds.LEVEL_PLACES,
                positive=positive,
                what="a percent" if name == "change" or kind == "change" else "a price",
            )
            _collect(parse, mine, None)
    theirs: list[str] = []
    rules = _collect(lambda: parse_rules(tables), theirs, ())
    said = {_key_of(line) for line in mine}
    problems.extend([*mine, *(line for line in theirs if _key_of(line) not in said)])
    return rules if not mine else ()


def _cache_dir(configured: str | None, environ: Mapping[str, str]) -> Path:
    if configured:
        return Path(configured).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "cmc-mqtt"


def _overrides(coins: dict[str, dict[str, str]]) -> dict[int, CoinInfo]:
    """Config wins over every other name source; missing parts fall back to the bundled ones."""
    result: dict[int, CoinInfo] = {}
    for key, values in coins.items():
        if not any(name in values for name in _NAME_KEYS):
            continue
        base = coin_info(int(key))
        result[int(key)] = CoinInfo(
            int(key),
            values.get("name", base.name),
            values.get("symbol", base.symbol),
            values.get("slug", base.slug),
        )
    return result


# --- the API key ------------------------------------------------------------------------------


def _api_key(cmc: dict[str, Any], environ: Mapping[str, str], problems: list[str]) -> Secret | None:
    """The key from `CMC_API_KEY`, `api_key` or `api_key_file`, checked wherever it came from;
    no problem line ever shows it."""
    from_env = environ.get(API_KEY_ENV, "").strip()
    if from_env:
        return _checked_key(from_env, API_KEY_ENV, problems)
    if "api_key" in cmc and "api_key_file" in cmc:
        problems.append("cmc.api_key: give api_key or api_key_file, not both")
        return None
    if "api_key" in cmc:
        return _checked_key(cmc["api_key"].strip(), "cmc.api_key", problems)
    if "api_key_file" in cmc:
        return _key_from_file(Path(cmc["api_key_file"]).expanduser(), problems)
    problems.append(
        f"cmc.api_key: required (or set cmc.api_key_file, "
        f"or the {API_KEY_ENV} environment variable)"
    )
    return None


def _key_from_file(path: Path, problems: list[str]) -> Secret | None:
    """`api_key_file`: a regular file of at most `MAX_KEY_FILE_BYTES`, read no further (a FIFO,
    a device or a huge file is refused without waiting or reading it all)."""
    where, shown = "cmc.api_key_file", _shown_path(path)
    try:
        data = read_bounded(path, MAX_KEY_FILE_BYTES, regular=True)
    except NotRegular as exc:
        problems.append(f"{where}: {shown} is {exc.kind}, not a file holding the key")
        return None
    except TooLarge:
        problems.append(
            f"{where}: {shown} is larger than {MAX_KEY_FILE_BYTES} bytes; it should hold only "
            "the key"
        )
        return None
    except OSError as exc:
        problems.append(f"{where}: cannot read {shown}: {exc.strerror}")
        return None
    try:
        key = data.decode("utf-8-sig").strip()  # an editor's byte-order mark is no part of it
    except UnicodeDecodeError:
        problems.append(f"{where}: {shown} is not UTF-8 text")
        return None
    if not key:
        problems.append(f"{where}: {shown} is empty")
        return None
    return _checked_key(key, where, problems)


def _checked_key(key: str, where: str, problems: list[str]) -> Secret | None:
    """`key` as a Secret, or a problem that says what is wrong without showing the key. The key
    is sent in a request header: a line break would end the header and start another one."""
    problem = key_problem(key)
    if problem is not None:
        problems.append(f"{where}: {problem}; the key is not shown")
        return None
    return Secret(key)


def key_problem(key: str) -> str | None:
    """What makes `key` unusable as an API key, or None: printable ASCII without spaces, at
    most `MAX_KEY_CHARS` (a CoinMarketCap key is 36 letters, digits and dashes). Only
    characters that cannot be part of a key are named, by code point."""
    if len(key) > MAX_KEY_CHARS:
        return f"longer than {MAX_KEY_CHARS} characters (a CoinMarketCap key has 36)"
    for char in key:
        if "!" <= char <= "~":
            continue
        category = unicodedata.category(char)
        if category in _CONTROL:
            return f"contains a control character or line break (U+{ord(char):04X})"
        if category in _INVISIBLE:
            return f"contains an invisible format character (U+{ord(char):04X})"
        if category == "Cs":
            return f"is not UTF-8 text (a lone surrogate, U+{ord(char):04X})"
        if char.isspace():
            return f"contains a space (U+{ord(char):04X})"
        return "contains a character that is not ASCII; a key is letters, digits and dashes"
    return None


def _shown_path(path: Path) -> str:
    text = str(path)
    return repr(text) if len(text) <= 120 else bounds.shown(text)


def _existing_file(section: dict[str, Any], key: str, problems: list[str]) -> Path | None:
    value = section.get(key)
    if value is None:
        return None
    path = Path(value).expanduser()
    try:
        regular = stat.S_ISREG(path.stat().st_mode)
    except (OSError, ValueError):  # Path.is_file() lets "File name too long" through
        regular = False
    if not regular:
        problems.append(f"mqtt.{key}: no such file {_shown_path(path)}")
    return path


# --- problems, one line each ------------------------------------------------------------------


def _salvage(schema: Any, raw: Any) -> Any:
    """What of `raw` passes `schema` key by key, with the defaults for the rest (a required
    key that is missing or wrong stays out): the checks after the schema run on this."""
    if not isinstance(schema, vol.Schema) or not isinstance(schema.schema, dict):
        return None
    given = raw if isinstance(raw, Mapping) else {}
    result: dict[str, Any] = {}
    for marker, validator in schema.schema.items():
        key = str(marker)
        if key in given:
            try:
                result[key] = vol.Schema(validator)(given[key])
                continue
            except vol.Invalid:
                salvaged = _salvage_part(validator, given[key])
                if salvaged is not None:
                    result[key] = salvaged
                    continue
        default: Any = getattr(marker, "default", vol.UNDEFINED)
        if default is not vol.UNDEFINED:
            result[key] = _salvage_part(validator, default()) or vol.Schema(validator)(default())
    return result


def _salvage_part(validator: Any, raw: Any) -> Any:
    """`_salvage` for a section ([mqtt]) or a list of tables ([[awtrix]])."""
    if isinstance(validator, vol.Schema):
        return _salvage(validator, raw)
    table = _list_item_schema(validator)
    if table is not None and isinstance(raw, list):
        return [_salvage(table, item) for item in raw]
    return None


def _list_item_schema(validator: Any) -> vol.Schema | None:
    for part in getattr(validator, "validators", ()):
        if isinstance(part, list) and part and isinstance(part[0], vol.Schema):
            return part[0]
    return None


def _key_of(problem: str) -> str:
    return problem.partition(": ")[0]


def _said_before(key: str, said: set[str]) -> bool:
    """True when the schema already reported `key` or a table holding it (`cmc: required`
    says all there is to say about `cmc.api_key`)."""
    return any(key == old or key.startswith((old + ".", old + "[")) for old in said)


def _describe(err: vol.Invalid, raw: Mapping[str, Any]) -> str:
    key = _dotted(err.path)
    message = _MESSAGES.get(err.error_message, err.error_message)
    if message == "unknown option":
        known = _known_keys(err.path[:-1])
        if len(err.path) == 1:
            message = "unknown section"
        close = difflib.get_close_matches(str(err.path[-1]), known, n=1)
        return f"{key}: {message}" + (f" (did you mean {close[0]!r}?)" if close else "")
    found, value = _lookup(raw, err.path)
    secret = tuple(str(part) for part in err.path[:2]) in SECRET_KEYS
    if found and message != "required" and not isinstance(value, dict) and not secret:
        return f"{key}: {message}, got {bounds.shown(value)}"
    return f"{key}: {message}"


def _known_keys(path: list[Any]) -> list[str]:
    """The options the schema allows at `path` (a section, a coin's table, a clock's table)."""
    node: Any = ROOT_SCHEMA
    for part in path:
        node = _child(node, part)
        if node is None:
            return []
    if isinstance(node, vol.Schema) and isinstance(node.schema, dict):
        return [str(marker) for marker in node.schema]
    return []


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, vol.Schema) and isinstance(node.schema, dict):
        return next((v for k, v in node.schema.items() if str(k) == str(part)), None)
    for piece in getattr(node, "validators", ()):
        if isinstance(piece, list) and piece and isinstance(part, int):
            return piece[0]
        if isinstance(piece, dict) and piece and not isinstance(part, int):
            return next(iter(piece.values()))
    return None


def _dotted(path: list[Any]) -> str:
    """`mqtt.port`, `awtrix[0].prefix`; a key that is no plain word (a line break in it, or
    as long as a paragraph) is shown as its repr, cut short."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = str(part)
        if not name.isprintable() or len(name) > MAX_NAME_CHARS or ": " in name:
            name = bounds.shown(name)
        text += f".{name}" if text else name
    return text or "<config>"


def _lookup(raw: Any, path: list[Any]) -> tuple[bool, Any]:
    node = raw
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def _real_key_in(raw: Mapping[str, Any]) -> bool:
    """The file holds an API key that is a secret (not the simulator's placeholder)."""
    cmc = raw.get("cmc")
    key = cmc.get("api_key") if isinstance(cmc, dict) else None
    return isinstance(key, str) and bool(key.strip()) and key.strip() not in PLACEHOLDER_KEYS


def _readable_by_others(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def _with_warning(settings: Settings, warning: str) -> Settings:
    return dataclasses.replace(settings, warnings=(*settings.warnings, warning))
