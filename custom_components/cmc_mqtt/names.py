"""The coins' names as the bridge knows them: its retained `<prefix>/bridge/names`,
`{"52": {"name": "XRP", "symbol": "XRP", "slug": "xrp"}, ...}`, from CoinMarketCap or the
user's overrides, so they beat this integration's small bundled table. Older bridges never
publish it; then the bundled table and "CMC #<id>" are all there is.

The payload comes over MQTT from anyone allowed to publish there: it is checked as any text
from the network is (the bridge's own limits, control characters dropped), and a payload that
is not a JSON object of such entries changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

_UNSAFE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SLUG: Final = re.compile(r"[a-z0-9][a-z0-9-]*")
NAME_LIMIT: Final = 64  # as the bridge bounds what CoinMarketCap says
SYMBOL_LIMIT: Final = 16
SLUG_LIMIT: Final = 64
MAX_ID: Final = 2**31


@dataclass(frozen=True, slots=True)
class CoinName:
    name: str
    symbol: str
    slug: str | None = None  # its page's address on coinmarketcap.com


def clean_text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = _UNSAFE.sub("", value).strip()[:limit].strip()
    return text or None


def parse_names(payload: Any) -> dict[int, CoinName] | None:
    """The names in a `bridge/names` payload; entries that are not a coin's name are left out.
    None when the payload is not a JSON object at all (then the last good one stays)."""
    try:
        report = json.loads(payload)
    except (TypeError, ValueError):
        return None
    if not isinstance(report, dict):
        return None
    names: dict[int, CoinName] = {}
    for key, entry in report.items():
        if not (key.isascii() and key.isdigit() and 0 < int(key) < MAX_ID):
            continue
        if not isinstance(entry, dict):
            continue
        name = clean_text(entry.get("name"), NAME_LIMIT)
        symbol = clean_text(entry.get("symbol"), SYMBOL_LIMIT)
        if name is None or symbol is None:
            continue
        slug = entry.get("slug")
        ok = isinstance(slug, str) and len(slug) <= SLUG_LIMIT and _SLUG.fullmatch(slug)
        names[int(key)] = CoinName(name, symbol, slug if ok else None)
    return names
