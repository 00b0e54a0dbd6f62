"""Unique ids and device identifiers, scoped to the bridge's topic prefix.

An entity's unique id is its state topic (`cmc/1/p`): unique per bridge and field, and the same
when the entry is removed and added again, so Home Assistant hands back the entity it had
(entity id, name, area, history). The bridge device's entities take `bridge` where a coin's id
would be (`cmc/bridge/stream`), the portfolio device's `portfolio` (`cmc/portfolio/value_eur`).
Version 1 entries scoped them to the entry id instead; those are rewritten once by the
migration in `migration.py`.
"""

from __future__ import annotations

import re
from typing import Final

_V1: Final = re.compile(r"(?P<coin>\d+)(?:_(?P<key>[a-z0-9]+))?")
BRIDGE: Final = "bridge"
PORTFOLIO: Final = "portfolio"

#: A coin id, or BRIDGE or PORTFOLIO for those devices.
Owner = int | str


def unique_id(prefix: str, owner: Owner, key: str) -> str:
    return f"{prefix}/{owner}/{key}"


def device_identifier(prefix: str, owner: Owner) -> str:
    return f"{prefix}/{owner}"


def parse(prefix: str, value: str) -> tuple[Owner, str | None] | None:
    """(coin id, BRIDGE or PORTFOLIO; key or None for a device) of an id scoped to `prefix`."""
    rest = value.removeprefix(f"{prefix}/")
    if rest == value:
        return None
    owner, _, key = rest.partition("/")
    if not (owner.isdigit() or owner in (BRIDGE, PORTFOLIO)) or "/" in key:
        return None
    return (int(owner) if owner.isdigit() else owner), key or None


def parse_v1(entry_id: str, value: str) -> tuple[Owner, str | None] | None:
    """The same for version 1 ids: `<entry id>_<coin>_<key>` and `<entry id>_<coin>`."""
    rest = value.removeprefix(f"{entry_id}_")
    match = _V1.fullmatch(rest) if rest != value else None
    if match is None:
        return None
    return int(match["coin"]), match["key"]
