"""One pass over a configuration: the schema, the checks that need validated values, and the
frozen settings, or every problem at once.
"""

from __future__ import annotations

import dataclasses
import functools
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..displays.awtrix import AwtrixExtras, parse_extras
from ..displays.text import check_template
from ..errors import ConfigError
from ..model.coins import CoinInfo, coin_info
from ..model.fields import FIELD_KEYS
from ..money.alerts import AlertRule
from ..money.rate import FxSettings
from ..util.secret import Secret
from .amounts import alert_rules, credit_settings, fx_settings, holdings_of
from .broker import PLAIN_PORT, AddressError, BrokerAddress, parse_address
from .coin_ids import BUNDLED_SYMBOLS, SymbolSource, resolve, symbol_table
from .files import shown_path
from .keys import read_api_key
from .problems import collect, key_of, one_line, said_before, validate
from .schema import NAME_KEYS
from .settings import (
    AwtrixSettings,
    BridgeSettings,
    CreditSettings,
    HomeAssistantSettings,
    MqttSettings,
    NamesSettings,
    Settings,
    StreamSettings,
    TextSettings,
    Throttle,
    TlsSettings,
)


@dataclass(frozen=True, slots=True)
class _Checked:
    """What the checks after the schema made of the validated values."""

    api_key: Secret
    broker: BrokerAddress  # the host, its port and whether it speaks TLS, all decided
    tls: TlsSettings
    fx: FxSettings
    credits: CreditSettings
    holdings: dict[int, Decimal]
    alerts: tuple[AlertRule, ...]
    extras: tuple[AwtrixExtras, ...]


def parse_settings(
    raw: Mapping[str, Any],
    *,
    environ: Mapping[str, str],
    coin_symbols: SymbolSource | None = None,
) -> Settings:
    """Validate an already-parsed config mapping (tests and the demo build these directly).

    Every problem in one pass: when the schema finds some, the checks that need validated
    values (the key, files, templates, amounts, options that go together) still run, on what
    of the config is valid, and only add what the schema has not already said about the same
    key. Every problem is one line naming its key; a secret is never repeated. A symbol in
    `crypto_ids` that neither the config's `[coins.<id>]` names nor the bundled table know is
    looked up in `coin_symbols` (the cached CoinMarketCap map), once everything else is valid:
    finding the cache takes the settings."""
    data, reported = validate(raw)
    given = data.get("cmc", {}).get("crypto_ids", [])
    tables = [symbol_table(_overrides(data["coins"]).values()), BUNDLED_SYMBOLS]
    coins = resolve(given, tables)
    problems: list[str] = []
    checked = _check(data, environ, problems)
    said = {key_of(line) for line in reported}
    problems = reported + [line for line in problems if not said_before(key_of(line), said)]
    if problems or checked is None:
        raise ConfigError([one_line(line) for line in [*problems, *coins.problems]])
    settings = _settings(data, checked, environ)
    if coins.unknown and coin_symbols is not None:
        coins = resolve(given, [*tables, coin_symbols(_with_ids(settings, coins.ids))])
    if coins.problems:
        raise ConfigError([one_line(line) for line in coins.problems])
    return _with_ids(settings, coins.ids)


def _with_ids(settings: Settings, ids: tuple[int, ...]) -> Settings:
    return dataclasses.replace(
        settings, stream=dataclasses.replace(settings.stream, crypto_ids=ids)
    )


def _check(
    data: dict[str, Any], environ: Mapping[str, str], problems: list[str]
) -> _Checked | None:
    """The checks that need validated values; their problems go to `problems`."""
    cmc, mqtt, text = data.get("cmc", {}), data["mqtt"], data["text"]
    api_key = read_api_key(cmc, environ, problems)
    address = _broker_address(mqtt, problems)
    tls = TlsSettings(
        enabled=address.tls is True,
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
        collect(functools.partial(check_template, template, key), problems, None)
    fx = fx_settings(cmc, problems)
    credits = credit_settings(cmc, problems)
    holdings = holdings_of(data["coins"], problems)
    alerts = alert_rules(data["alerts"], problems)
    extras = tuple(
        collect(functools.partial(parse_extras, clock, f"awtrix[{i}]"), problems, AwtrixExtras())
        for i, clock in enumerate(data["awtrix"])
    )
    if api_key is None:
        return None
    return _Checked(api_key, address, tls, fx, credits, holdings, alerts, extras)


def _settings(data: dict[str, Any], checked: _Checked, environ: Mapping[str, str]) -> Settings:
    """Frozen settings from values every check has passed."""
    cmc, mqtt, ha, text = data["cmc"], data["mqtt"], data["homeassistant"], data["text"]
    password = mqtt.get("password")
    return Settings(
        stream=StreamSettings(
            url=cmc["url"],
            api_key=checked.api_key,
            crypto_ids=(),  # `parse_settings` gives them, symbols read
            max_connections=cmc["max_connections"],
        ),
        mqtt=MqttSettings(
            host=checked.broker.host,
            port=checked.broker.port or PLAIN_PORT,
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


def _cache_dir(configured: str | None, environ: Mapping[str, str]) -> Path:
    if configured:
        return Path(configured).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "cmc-mqtt"


def _overrides(coins: dict[str, dict[str, str]]) -> dict[int, CoinInfo]:
    """Config wins over every other name source; missing parts fall back to the bundled ones."""
    result: dict[int, CoinInfo] = {}
    for key, values in coins.items():
        if not any(name in values for name in NAME_KEYS):
            continue
        base = coin_info(int(key))
        result[int(key)] = CoinInfo(
            int(key),
            values.get("name", base.name),
            values.get("symbol", base.symbol),
            values.get("slug", base.slug),
        )
    return result


def _broker_address(mqtt: Mapping[str, Any], problems: list[str]) -> BrokerAddress:
    """`host` read as an address (`host:port`, `mqtt://`, `mqtts://`) with `port` and `tls`:
    what the address says and what the options say must agree. The port is the address's, else
    `port`, else 8883 for mqtts:// and 1883 otherwise (`tls = true` alone keeps the documented
    1883)."""
    text = mqtt["host"]
    try:
        address = parse_address(text)
    except AddressError as exc:
        problems.append(exc.line("mqtt.host", text))
        address = BrokerAddress(text)
    port, tls = mqtt.get("port"), mqtt.get("tls")
    if address.port is not None and port is not None and port != address.port:
        problems.append(
            f"mqtt.host: names port {address.port} and mqtt.port says {port}; give the port once"
        )
    if address.tls is not None and tls is not None and tls != address.tls:
        scheme, says = ("mqtts", "true") if address.tls else ("mqtt", "false")
        problems.append(
            f"mqtt.host: {scheme}:// means mqtt.tls = {says}, and mqtt.tls says otherwise; "
            "remove mqtt.tls or change the scheme"
        )
    if address.port is None:
        address = dataclasses.replace(address, port=port or address.default_port())
    return dataclasses.replace(address, tls=address.tls or bool(tls))


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
        problems.append(f"mqtt.{key}: no such file {shown_path(path)}")
    return path
