"""The book of topics: every topic under the bridge's prefix that it writes, reads or sweeps, and
the payloads rendered from a coin's exact texts.

No topic is built from stream text: only numeric coin ids, the field table's keys, ISO currency
codes and the bridge's own action names. Whoever needs a topic asks `Topics`; the sweep finds
the retained topics of earlier runs with its patterns and reads them back with its parsers, so
a topic is spelled once. (Home Assistant's discovery topics live under Home Assistant's prefix
and are spelled by `homeassistant/discovery.py`; a clock's under the clock's, by
`displays/awtrix.py`.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from .fields import CONVERTED_KEYS, FIELD_KEYS

ONLINE: Final = "online"
OFFLINE: Final = "offline"

#: One retained publish: (topic, payload).
Message = tuple[str, str]
#: What the state publishes: a field's payload is the stream's text as bytes, kept so by the
#: state (16 bytes less per value held than a `str`, and nothing to encode when it leaves).
QuoteMessage = tuple[str, str | bytes]

_JSON_KEYS: Final = tuple(f'"{key}":'.encode() for key in FIELD_KEYS)
#: The levels a coin's amounts in a currency end in, `<level>_<cur>`: its converted fields, what
#: it is worth held, and whether they can be computed now.
AMOUNT_LEVELS: Final = (*CONVERTED_KEYS, "value", "status")
#: What a portfolio's own levels end in when they name a currency (`value_eur`).
_PORTFOLIO_AMOUNT: Final = re.compile(r"(?:value|change_24h)_([a-z]+)")


class Topics:
    """Every topic under one prefix. Cheap to make; `coin_base` and `coin` are the hot path."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.status = f"{prefix}/status"
        bridge = f"{prefix}/bridge/"
        self.info = bridge + "info"
        self.credits = bridge + "credits"
        self.names = bridge + "names"
        self.sync = bridge + "sync"  # the sweep's private marker
        self.all = f"{prefix}/#"
        self.requests = bridge + "request/"
        self.responses = bridge + "response/"
        self._coin = re.compile(rf"{re.escape(prefix)}/(\d{{1,10}})/([a-z0-9_]+)")
        self._fx = re.compile(rf"{re.escape(prefix)}/fx/([a-z]+)/[^/]+")

    # --- a coin's own topics ------------------------------------------------------------------

    def coin_base(self, coin_id: int) -> str:
        """`<prefix>/<id>/`; a topic is this plus a field key, `json`, `status` or `text`."""
        return f"{self.prefix}/{coin_id}/"

    def coin(self, coin_id: int) -> dict[str, str]:
        """Field key (and "json", "status", "text") -> topic for one coin."""
        base = self.coin_base(coin_id)
        topics = {key: base + key for key in FIELD_KEYS}
        for extra in ("json", "status", "text"):
            topics[extra] = base + extra
        return topics

    def coin_status(self, coin_id: int) -> str:
        return f"{self.prefix}/{coin_id}/status"

    def coin_text(self, coin_id: int) -> str:
        """The ticker text's topic (asked for every text rendered: no dict of every topic)."""
        return f"{self.prefix}/{coin_id}/text"

    def coin_alert(self, coin_id: int) -> str:
        """A coin's alerts (not retained: an alert is an event, not a state)."""
        return f"{self.prefix}/{coin_id}/alert"

    # --- amounts in the user's currency -------------------------------------------------------

    @staticmethod
    def amount_level(level: str, code: str) -> str:
        """The last level of an amount in a currency: `p` in EUR is `p_eur`, so the topic says
        its currency and a changed currency is a new topic, not mixed statistics."""
        return f"{level}_{code.lower()}"

    def amount(self, coin_id: int, level: str, code: str) -> str:
        """`<prefix>/<id>/<level>_<cur>`: a converted field (`p_eur`), the coin's value held
        (`value_eur`) or whether they can be computed now (`status_eur`)."""
        return f"{self.prefix}/{coin_id}/{self.amount_level(level, code)}"

    def coin_value(self, coin_id: int, code: str) -> str:
        return self.amount(coin_id, "value", code)

    def amounts_status(self, coin_id: int, code: str) -> str:
        """`online` while this coin's amounts in the currency are computed from its newest quote;
        `offline` when one of them could not be."""
        return self.amount(coin_id, "status", code)

    def fx_rate(self, code: str) -> str:
        return f"{self.prefix}/fx/{code.lower()}/rate"

    def fx_status(self, code: str) -> str:
        """`offline` while no rate is fresh enough: every converted amount is unavailable."""
        return f"{self.prefix}/fx/{code.lower()}/status"

    def portfolio(self, level: str) -> str:
        """`<prefix>/portfolio/<level>`: `value_<cur>`, `change_24h_<cur>`, `change_24h_pct`,
        `json`, `status` (`offline` while the total cannot be known)."""
        return f"{self.prefix}/portfolio/{level}"

    def portfolio_value(self, code: str) -> str:
        return self.portfolio(self.amount_level("value", code))

    def portfolio_change(self, code: str) -> str:
        return self.portfolio(self.amount_level("change_24h", code))

    def marker(self, name: str) -> str:
        """A private, never retained topic one process publishes to itself to know that the
        broker has delivered everything before it (the health probe's, the demo's)."""
        return f"{self.prefix}/bridge/{name}"

    # --- requests -----------------------------------------------------------------------------

    def request(self, action: str) -> str:
        return self.requests + action

    def response(self, action: str) -> str:
        return self.responses + action

    # --- what the sweep subscribes to, and reads back -----------------------------------------

    def every_coin(self, level: str) -> str:
        """A subscription to one level of every coin: `<prefix>/+/<level>`."""
        return f"{self.prefix}/+/{level}"

    def coin_of(self, topic: str, level: str) -> int | None:
        """The coin id of `<prefix>/<id>/<level>`; None for any other topic."""
        match = self._coin.fullmatch(topic)
        if match is None or match.group(2) != level:
            return None
        return int(match.group(1))

    def every_fx(self) -> str:
        return f"{self.prefix}/fx/+/+"

    def fx_code_of(self, topic: str) -> str | None:
        """The currency (lower case) of `<prefix>/fx/<cur>/<anything>`."""
        match = self._fx.fullmatch(topic)
        return None if match is None else match.group(1)

    def every_portfolio(self) -> str:
        return f"{self.prefix}/portfolio/+"

    @staticmethod
    def portfolio_code_of(topic: str) -> str | None:
        """The currency a portfolio topic names (`value_eur` -> `eur`); None if it names none."""
        match = _PORTFOLIO_AMOUNT.fullmatch(topic.rpartition("/")[2])
        return None if match is None else match.group(1)

    def coin_amounts(self, coin_id: int, code: str) -> list[str]:
        """Every topic of a coin's amounts in one currency (to clear them all)."""
        return [self.amount(coin_id, level, code) for level in AMOUNT_LEVELS]


def quote_json(coin_id: int, texts: Sequence[bytes | None], ts: int | None) -> bytes:
    """All last good fields plus `cid` and `ts`, written from exact texts (no float rounding)."""
    parts = [b'"cid":%d' % coin_id]
    parts.extend(
        label + text for label, text in zip(_JSON_KEYS, texts, strict=True) if text is not None
    )
    parts.append(b'"ts":%d' % ts if ts is not None else b'"ts":null')
    return b"{" + b",".join(parts) + b"}"
