"""What the pool knows of the key's limits, without I/O: CoinMarketCap's documented ones until the
server's answers say otherwise.

CoinMarketCap allows up to 10 connections per key, each with up to 100 subscriptions; whether a
subscription is one id or one subscribe request is not documented, so the pool starts from the
careful reading (100 ids a connection) and learns the truth from the acks (`sub_count`,
`sub_limit`) and refusals (error 2303, close code 4004).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

LOG = logging.getLogger(__name__)
#: CoinMarketCap's documented limits, used until the server says otherwise.
DEFAULT_SUB_LIMIT: Final = 100
DEFAULT_MAX_CONNECTIONS: Final = 10
#: When subscriptions are counted per request, how many ids one connection may still carry.
PER_REQUEST_IDS: Final = 5000


@dataclass(frozen=True, slots=True)
class Limits:
    ids_per_connection: int = DEFAULT_SUB_LIMIT
    max_connections: int = DEFAULT_MAX_CONNECTIONS


class KeyLimits:
    """The limits as learnt so far; each method says whether the layout must be planned again."""

    def __init__(self, max_connections: int) -> None:
        self.current = Limits(DEFAULT_SUB_LIMIT, max_connections)
        #: Whether the server counts a subscribe request (True) or each id (False) as one.
        self.per_request: bool | None = None
        #: Whether an ack has told the real limits yet.
        self.heard = False
        #: Whether the server has answered a subscribe at all (with its limits or without).
        self.answered = False

    def acked(self, sub_limit: int | None, per_request: bool | None) -> bool:
        """An ack's `sub_limit`, and whether its `sub_count` counted requests or ids."""
        self.heard = self.heard or sub_limit is not None
        self.answered = True
        limits = self.current
        if per_request is not None and per_request != self.per_request:
            self.per_request = per_request
            LOG.info(
                "CoinMarketCap counts subscriptions per %s",
                "subscribe request" if per_request else "coin id",
            )
        if self.per_request:
            cap = PER_REQUEST_IDS
        elif sub_limit is not None and sub_limit > 0:
            cap = sub_limit
        else:
            cap = limits.ids_per_connection
        if cap == limits.ids_per_connection:
            return False
        self.current = Limits(cap, limits.max_connections)
        return True

    def subscribe_refused(self, held: int, refused: int, limit: int | None) -> None:
        """A subscribe was refused with 2303: this connection holds fewer than we thought. The
        limit the error names, else what the connection holds now, else half of what was
        asked is its capacity."""
        self.answered = True
        cap = limit or held or max(1, refused // 2)
        if cap < self.current.ids_per_connection:
            self.current = Limits(cap, self.current.max_connections)
            LOG.info("subscription limit is %d coins per connection; placing the rest", cap)
        self.per_request = False if held else self.per_request

    def fewer_connections(self, most: int) -> None:
        """The server refused one connection more than `most` (4004)."""
        LOG.warning(
            "CoinMarketCap allows this key %d connections here (4004 for one more); using %d",
            most,
            most,
        )
        self.current = Limits(self.current.ids_per_connection, most)

    def describe(self) -> str:
        """For the line naming the coins left out: the limits, and how sure they are."""
        return (
            f"{self.current.max_connections} connections x "
            f"{self.current.ids_per_connection} subscriptions"
            + ("" if self.heard else " as documented, until the server's acks say more")
        )
