"""The frozen settings a configuration becomes, with every default written once, here.

Nothing after start-up reads a raw dict: every part of the bridge gets one of these classes. The
schema (`schema.py`) reads its defaults from these fields, and the literal types below are the
one list of each option's choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal, get_args

from ..displays.awtrix import AwtrixExtras
from ..displays.text import DEFAULT_TEMPLATE
from ..model.coins import CoinInfo
from ..model.fields import FIELD_KEYS, FIELDS
from ..money.alerts import AlertRule
from ..money.rate import FxSettings
from ..util.secret import Secret

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
