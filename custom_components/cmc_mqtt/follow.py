"""What an entry remembers of its bridge, worked out from the bridge's `bridge/info`: which
currency it converts to and what it holds (always: `money.py`, kept in the entry's data), and
which coins it streams (when the entry follows the bridge's coins: its options).

The entry keeps this so that its entities exist at start-up before the bridge has spoken; a
change is saved and the entry reloads with the entities that apply now.

Following the coins: a coin the bridge starts streaming gets a device with the entry's fields,
a coin it stops streaming loses its device; a coin the user left out of the entry stays out.
The options remember the bridge's coins as the entry last saw them (`bridge_coins`) to tell
the one from the other. Without following, the coins are the user's and stay as chosen.

Pure: no Home Assistant here, so the rules are tested as a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .const import CONF_BRIDGE_COINS, CONF_COINS, CONF_FOLLOW
from .info import coins_of
from .money import Money


def followed_coins(
    coins: Sequence[int], known: Iterable[int] | None, bridge: Sequence[int]
) -> list[int]:
    """The entry's coins once the bridge streams `bridge`: those it still streams, in their
    order, then those it streams that it did not when last seen (`known`; None when never
    seen, so nothing counts as new)."""
    on_bridge = set(bridge)
    before = on_bridge if known is None else set(known)
    kept = [cid for cid in coins if cid in on_bridge]
    added = [cid for cid in bridge if cid not in before and cid not in kept]
    return kept + added


def _known(options: Mapping[str, Any]) -> list[int] | None:
    known = options.get(CONF_BRIDGE_COINS)
    if not isinstance(known, list):
        return None
    return [cid for cid in known if type(cid) is int]


def remembered(
    data: Mapping[str, Any], options: Mapping[str, Any], info: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The entry's data and options after `info`: equal to the ones given when nothing the
    entities depend on changed."""
    new_options = dict(options)
    bridge = coins_of(info)
    if options.get(CONF_FOLLOW) and bridge is not None:
        coins = [int(cid) for cid in options.get(CONF_COINS, [])]
        new_options[CONF_COINS] = followed_coins(coins, _known(options), bridge)
        new_options[CONF_BRIDGE_COINS] = list(bridge)
    return Money.from_info(info).to_entry(data), new_options
