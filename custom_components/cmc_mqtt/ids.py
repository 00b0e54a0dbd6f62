"""Unique ids and device identifiers, scoped to the bridge's topic prefix.

An entity's unique id is its state topic (`cmc/1/p`): unique per bridge and field, and the same
when the entry is removed and added again, so Home Assistant hands back the entity it had
(entity id, name, area, history). Version 1 entries scoped them to the entry id instead; those
are rewritten once by the migration in `migration.py`.
"""

from __future__ import annotations

import re
from typing import Final

_V1: Final = re.compile(r"(?P<coin>\d+)(?:_(?P<key>[a-z0-9]+))?")


def unique_id(prefix: str, coin_id: int, key: str) -> str:
    return f"{prefix}/{coin_id}/{key}"


def device_identifier(prefix: str, coin_id: int) -> str:
    return f"{prefix}/{coin_id}"


def parse(prefix: str, value: str) -> tuple[int, str | None] | None:
    """(coin id, field key or None for a device) of an id scoped to `prefix`."""
    rest = value.removeprefix(f"{prefix}/")
    if rest == value:
        return None
    coin, _, key = rest.partition("/")
    if not coin.isdigit() or "/" in key:
        return None
    return int(coin), key or None


def parse_v1(entry_id: str, value: str) -> tuple[int, str | None] | None:
    """The same for version 1 ids: `<entry id>_<coin>_<key>` and `<entry id>_<coin>`."""
    rest = value.removeprefix(f"{entry_id}_")
    match = _V1.fullmatch(rest) if rest != value else None
    if match is None:
        return None
    return int(match["coin"]), match["key"]
