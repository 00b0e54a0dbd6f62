"""What a bridge says about itself in its retained `<prefix>/bridge/info`, as far as finding it,
following its coins and noticing its own MQTT discovery need.

The payload comes over MQTT from anyone allowed to publish there, and the topics this
integration is offered by Home Assistant's MQTT discovery (`+/bridge/info` and deeper) are
also written by other software (zigbee2mqtt's `zigbee2mqtt/bridge/info`): only a JSON object
with a list of coin ids is taken for a cmc-mqtt bridge, and every part is checked and bounded
before it is used. A bridge that says its `topic_prefix` must say the one it publishes under.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

INFO_LEVELS: Final = ("bridge", "info")
#: Coin ids are CoinMarketCap's: positive, below 2^31 (as the bridge checks them).
MAX_ID: Final = 2**31
#: At most this many coins are taken from one payload: a bridge streams a few thousand at the
#: very most, and each followed coin is a device in Home Assistant.
MAX_COINS: Final = 10_000
TEXT_LIMIT: Final = 64
_PREFIX: Final = re.compile(r"[^+#\x00/$][^+#\x00]*")
_UNSAFE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def valid_prefix(prefix: str) -> bool:
    """A topic prefix the bridge accepts: no wildcards, NUL, leading `$`, empty levels or
    trailing `/`."""
    return bool(_PREFIX.fullmatch(prefix)) and "//" not in prefix and not prefix.endswith("/")


def parse_report(payload: Any) -> dict[str, Any] | None:
    """A retained JSON report (`bridge/info`, `bridge/credits`) as an object; None when it is
    not one (then it says nothing)."""
    try:
        report = json.loads(payload)
    except (TypeError, ValueError, RecursionError):
        return None
    return report if isinstance(report, dict) else None


def coins_of(info: Mapping[str, Any]) -> tuple[int, ...] | None:
    """The coins the bridge streams (`crypto_ids`), in its order; None unless it says so as a
    list. Entries that are not coin ids are left out; at most MAX_COINS are taken."""
    ids = info.get("crypto_ids")
    if not isinstance(ids, list):
        return None
    coins = (i for i in ids if type(i) is int and 0 < i < MAX_ID)
    return tuple(dict.fromkeys(coins))[:MAX_COINS]


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return _UNSAFE.sub("", value).strip()[:TEXT_LIMIT] or None


def version_of(info: Mapping[str, Any]) -> str | None:
    return _text(info.get("version"))


@dataclass(frozen=True, slots=True)
class BridgeDiscovery:
    """The bridge's own MQTT discovery, as it reports it: whether it announces entities, and
    under which Home Assistant discovery prefix."""

    enabled: bool
    prefix: str


def discovery_of(info: Mapping[str, Any]) -> BridgeDiscovery | None:
    """None from a bridge that does not say (older than the `discovery` section)."""
    section = info.get("discovery")
    if not isinstance(section, Mapping) or not isinstance(section.get("enabled"), bool):
        return None
    return BridgeDiscovery(section["enabled"], _text(section.get("prefix")) or "homeassistant")


@dataclass(frozen=True, slots=True)
class FoundBridge:
    """A bridge offered by Home Assistant's MQTT discovery."""

    prefix: str
    version: str | None
    coins: tuple[int, ...]


def found_bridge(topic: str, payload: Any) -> FoundBridge | None:
    """The bridge whose `bridge/info` this is; None when the message is not one."""
    levels = topic.split("/")
    prefix = "/".join(levels[:-2])
    if tuple(levels[-2:]) != INFO_LEVELS or not valid_prefix(prefix):
        return None
    info = parse_report(payload)
    coins = coins_of(info) if info is not None else None
    if info is None or coins is None:
        return None
    said = info.get("topic_prefix")
    if said is not None and said != prefix:
        return None
    return FoundBridge(prefix, version_of(info), coins)
