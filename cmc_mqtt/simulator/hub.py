"""What the fake's parts may ask of the server that holds them: the one interface between them.

The protocol handler, the REST API, the thread serving each connection and the pushes are given
a `Hub`, never the server itself, so they depend on this file and the server on them, one way.
`FakeStreamServer` is the implementation. What a connection asks (to be forgotten once closed)
is smaller still: `connection.ConnectionOwner`.
"""

from __future__ import annotations

import ssl
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .accounts import KeyAccounts
from .behaviour import Behaviour
from .billing import Clock, CreditLedger
from .connection import ServerConnection
from .limits import Limits
from .market import Market


class Hub(Protocol):
    """Read-only properties: a part asks for them at each use, because tests change the server's
    behaviour, limits, coins and rates while it runs."""

    @property
    def api_key(self) -> str | None:
        """The only key accepted; None: any non-empty key."""

    @property
    def behaviour(self) -> Behaviour: ...

    @property
    def limits(self) -> Limits: ...

    @property
    def coins(self) -> frozenset[int] | None:
        """The ids quoted and listed; None: every id."""

    @property
    def market(self) -> Market: ...

    @property
    def fiat_rates(self) -> dict[str, float]:
        """Units of each currency one US dollar buys."""

    @property
    def tls(self) -> ssl.SSLContext | None: ...

    @property
    def keys(self) -> KeyAccounts: ...

    @property
    def clock(self) -> Clock: ...

    def ledger(self, key: str) -> CreditLedger:
        """The credits of one API key."""

    def price_usd(self, cid: int) -> float:
        """The coin's current price in the simulated market."""

    # --- connections --------------------------------------------------------------------------

    def changing(self) -> AbstractContextManager[None]:
        """Hold while changing a connection's subscriptions: the push loop reads them under the
        same lock, and tests waiting on the server are woken after."""

    def count_stream_connection(self) -> None:
        """A WebSocket upgrade was asked for (REST calls are counted apart)."""

    def answer_rest(self, request_line: str, headers: dict[str, str]) -> tuple[int, Any]:
        """(HTTP status, JSON body) for a plain HTTP request on the stream's port."""

    # --- pushes -------------------------------------------------------------------------------

    def schedule(self, cid: int) -> None:
        """A connection subscribed to `cid`: push it at its cadence from now on."""

    def start_flood(self, conn: ServerConnection, ids: list[int]) -> None:
        """Send `behaviour.flood_frames` frames of these coins to `conn`, as fast as allowed."""

    def record(self, data: dict[str, Any]) -> None:
        """A quote with this `data` was delivered: remember its price for tests."""

    def count_sent(self, frames: int) -> None:
        """Data frames delivered by the cadence or a flood."""
