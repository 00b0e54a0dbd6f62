"""Each API key's account at the fake: its credits, its open stream connections (at most
`max_connections`), and what happens to them when the credits are spent."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .billing import MONTHLY, REFUSAL_MESSAGES, Clock, CreditLedger
from .connection import CREDITS_CLOSE_CODE, ServerConnection, error_frame
from .limits import Limits


class KeyAccounts:
    """Thread-safe: handshakes, the push loop, subscribes and REST calls all use it."""

    def __init__(self, limits: Callable[[], Limits], clock: Clock) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._ledgers: dict[str, CreditLedger] = {}
        self._open: dict[CreditLedger, set[ServerConnection]] = {}

    def ledger(self, key: str) -> CreditLedger:
        with self._lock:
            ledger = self._ledgers.get(key)
            if ledger is None:
                ledger = self._ledgers[key] = CreditLedger(self._limits, self._clock)
            return ledger

    def admit(self, conn: ServerConnection, ledger: CreditLedger) -> bool:
        """Count the connection against its key's limit, unless that is reached."""
        limit = self._limits().max_connections
        with self._lock:
            # Closed ones are released by the server; pruning here too means a connection
            # dropped mid-handshake (closed before it was added) can never count for ever.
            open_ = {c for c in self._open.get(ledger, ()) if not c.closed}
            if conn.closed or (limit is not None and len(open_) >= limit):
                self._open[ledger] = open_
                return False
            open_.add(conn)
            self._open[ledger] = open_
            conn.admitted = True
        return True

    def release(self, conn: ServerConnection) -> None:
        """The connection closed: it no longer counts against its key."""
        if conn.ledger is not None:
            with self._lock:
                self._open.get(conn.ledger, set()).discard(conn)

    def deliver(self, conn: ServerConnection, data: bytes, messages: int) -> bool:
        """Send data frames and bill them, at the price per message, to the connection's key."""
        if not conn.send_raw(data):
            return False
        self.bill(conn, messages, self._limits().credits_per_message * messages)
        return True

    def bill(self, conn: ServerConnection, messages: int, credits: float) -> None:
        """Charge what the connection was sent; spending the last credit ends the key's
        connections."""
        ledger = conn.ledger
        if ledger is None:
            return
        conn.bill(messages, credits)
        refusal = ledger.charge(credits, messages)
        if refusal is not None:
            self.refuse_key(ledger, refusal)

    def refuse_key(self, ledger: CreditLedger, code: str) -> None:
        """The key's credits are spent: each of its connections gets the error, then a close."""
        with self._lock:
            conns = list(self._open.get(ledger, ()))
        for conn in conns:
            self.refuse(conn, code)

    def refuse(self, conn: ServerConnection, code: str) -> None:
        with self._lock:
            if conn.refused or conn.closed:
                return
            conn.refused = True
        limits = self._limits()
        name, value = (
            ("credit_limit_monthly", limits.monthly_credits)
            if code == MONTHLY
            else ("credit_limit_daily", limits.daily_credits)
        )
        detail = f"{name}={'none' if value is None else format(value, 'g')}"
        conn.send(error_frame(code, "AUTH", REFUSAL_MESSAGES[code], detail))
        conn.close(CREDITS_CLOSE_CODE, "credits exhausted")
