"""The coins the user holds: the configuration's `[coins.<id>] holdings`, with the amounts set at
run time over MQTT on top (remembered across restarts), valued only while the coin is streamed.

An amount set over MQTT wins over the configuration's until the configuration itself changes for
that coin: it remembers the configured amount it replaced, and a different one in the file is the
user's newer word, so the file's amount applies again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from ..money.currency import amount_text
from ..money.portfolio import Holdings
from .memory import StateFile

LOG = logging.getLogger(__name__)

#: `callback(changed ids)` after every change.
Listener = Callable[[tuple[int, ...]], None]


def _same_amount(text: str | None, amount: Decimal | None) -> bool:
    if text is None or amount is None:
        return text is None and amount is None
    try:
        return Decimal(text) == amount
    except InvalidOperation:
        return False


class HoldingSet:
    """Changes the holdings at run time; every change is saved before it is applied."""

    def __init__(
        self,
        configured: Mapping[int, Decimal],
        memory: StateFile,
        holdings: Holdings,
        streamed: Callable[[], Sequence[int]],
    ) -> None:
        self._configured = dict(configured)
        self._memory = memory
        self._holdings = holdings
        self._streamed = streamed
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._set: dict[int, Decimal] = {}
        self._load()
        self.apply()

    def _load(self) -> None:
        saved = self._memory.holding_changes()
        for cid, (amount, replaced) in saved.items():
            configured = self._configured.get(cid)
            if not _same_amount(replaced, configured):
                LOG.info(
                    "coins.%d.holdings changed in the configuration since it was set over MQTT: "
                    "the configuration's amount applies",
                    cid,
                )
                continue
            try:
                self._set[cid] = Decimal(amount)
            except InvalidOperation:
                continue
        if len(self._set) != len(saved):
            self._save()

    def add_listener(self, callback: Listener) -> None:
        self._listeners.append(callback)

    def wanted(self) -> dict[int, Decimal]:
        """Every holding, streamed or not: the configuration's with the run-time ones on top."""
        with self._lock:
            merged = {**self._configured, **self._set}
        return {cid: amount for cid, amount in merged.items() if amount != 0}

    def apply(self) -> None:
        """Value the holdings of the coins streamed now (call after the coins changed): a coin
        that is not streamed has no price and would keep the total unavailable for good."""
        streamed = set(self._streamed())
        self._holdings.replace({c: a for c, a in self.wanted().items() if c in streamed})

    def set(self, amounts: Mapping[int, Decimal]) -> tuple[int, ...]:
        """Hold these amounts from now on (0 stops holding a coin); returns the ids whose
        amount changed."""
        before = self.wanted()
        with self._lock:
            for cid, amount in amounts.items():
                self._set[cid] = amount
            self._save()
        self.apply()
        after = self.wanted()
        changed = tuple(c for c in sorted({*before, *after}) if before.get(c) != after.get(c))
        if changed:
            LOG.info("holdings set over MQTT for coins %s", ", ".join(map(str, changed)))
            for callback in self._listeners:
                callback(changed)
        return changed

    def _save(self) -> None:
        self._memory.set_holding_changes(
            {
                cid: (
                    amount_text(amount),
                    None if (was := self._configured.get(cid)) is None else amount_text(was),
                )
                for cid, amount in self._set.items()
            }
        )

    def report(self) -> dict[str, str]:
        """For `bridge/info` and the request's answer: the holdings valued now, as exact texts."""
        return {str(cid): amount_text(a) for cid, a in sorted(self._holdings.snapshot().items())}
