"""Everything in the user's currency, in one place: converted fields, what each holding is
worth, the portfolio, the rate's own topics, and the alerts that watch converted prices.

It reads the stream's exact USD texts through `texts(cid)` and the rate through a `RateKeeper`,
and returns messages; the bridge's extension publishes them. While the rate is stale the
converted topics are not written at all and `<prefix>/fx/<cur>/status` says `offline`, so the
sensors that list it as an availability topic show unavailable instead of an old conversion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from .alerts import Alert, AlertEngine
from .fx import RateKeeper, rate_text
from .money import FIELD_AMOUNTS, Currency, convert, converted_fields, to_decimal
from .portfolio import (
    Holdings,
    PortfolioTopics,
    PortfolioTotal,
    coin_value_messages,
    portfolio_messages,
    value_from_texts,
)
from .text import MoneyValues
from .topics import OFFLINE, ONLINE, Message

#: coin id -> its last good USD texts by field key (None: not streamed).
Texts = Callable[[int], Mapping[str, str] | None]


class Valuation:
    """Thread-safe: `money` is read by the displays, `messages` and `alerts` run on the MQTT
    thread."""

    def __init__(
        self,
        prefix: str,
        currency: Currency,
        *,
        keeper: RateKeeper,
        holdings: Holdings,
        texts: Texts,
        alerts: AlertEngine | None = None,
    ) -> None:
        self.currency = currency
        self.converts = currency.code != "USD"
        self._prefix = prefix
        self._keeper = keeper
        self._holdings = holdings
        self._texts = texts
        self._alerts = alerts
        self.topics = PortfolioTopics(prefix, currency)
        cur = currency.code.lower()
        self.rate_topic = f"{prefix}/fx/{cur}/rate"
        self.fx_status_topic = f"{prefix}/fx/{cur}/status"
        self._lock = threading.Lock()
        self._sent: dict[str, str] = {}

    def coin_base(self, cid: int) -> str:
        return f"{self._prefix}/{cid}/"

    # --- for the displays ---

    def money(self, cid: int) -> MoneyValues:
        """The `MoneyProvider` for `Displays`: this coin's converted fields and holding, and the
        portfolio, each missing while it cannot be known."""
        rate = self._keeper.rate()
        texts = self._texts(cid) or {}
        fields: dict[str, Decimal] | None = None
        if self.converts:
            fields = {}
            if rate is not None:
                fields = {k: convert(t, rate) for k, t in texts.items() if k in FIELD_AMOUNTS}
        holdings = self._holdings.snapshot()
        value = None
        if rate is not None and cid in holdings and texts.get("p") is not None:
            value = convert(texts["p"], rate) * holdings[cid]
        total = self._total(holdings, rate)
        return MoneyValues(
            self.currency,
            fields,
            value,
            None if total is None else total.value,
            None if total is None else total.change_24h_pct,
        )

    # --- for the publisher ---

    def messages(self, cids: Iterable[int]) -> list[Message]:
        """Retained messages for coins `cids` (those with new quotes, or all after a rate or
        holding change), the portfolio and the rate; only payloads that changed since last
        time (`reset` after a reconnect sends everything again)."""
        rate = self._keeper.rate()
        out: list[Message] = []
        if self.converts:
            out.append((self.fx_status_topic, OFFLINE if rate is None else ONLINE))
            last = self._keeper.last()
            if last is not None:
                out.append((self.rate_topic, rate_text(last.value)))
            if rate is not None:
                for cid in cids:
                    base = self.coin_base(cid)
                    texts = self._texts(cid) or {}
                    for key, text in converted_fields(texts, rate, self.currency).items():
                        out.append((base + key, text))
        holdings = self._holdings.snapshot()
        if holdings:
            total = self._total(holdings, rate)
            if total is not None:
                out.extend(coin_value_messages(self.topics, total, self.currency))
            out.extend(portfolio_messages(self.topics, total, self.currency))
        return self._changed(out)

    def alerts(self, cids: Iterable[int]) -> list[Alert]:
        """Feed the alert rules each coin's converted price and 24 h change."""
        if self._alerts is None:
            return []
        rate = self._keeper.rate()
        fired: list[Alert] = []
        for cid in cids:
            texts = self._texts(cid) or {}
            price_text, change_text = texts.get("p"), texts.get("p24h")
            price = convert(price_text, rate) if price_text and rate is not None else None
            change = to_decimal(change_text) if change_text else None
            fired.extend(self._alerts.check(cid, price, change))
        return fired

    def reset(self) -> None:
        with self._lock:
            self._sent.clear()

    def _changed(self, messages: list[Message]) -> list[Message]:
        with self._lock:
            fresh = [(t, p) for t, p in messages if self._sent.get(t) != p]
            self._sent.update(fresh)
        return fresh

    def _total(self, holdings: dict[int, Decimal], rate: Decimal | None) -> PortfolioTotal | None:
        if not holdings:
            return None
        texts = {cid: t for cid in holdings if (t := self._texts(cid)) is not None}
        return value_from_texts(holdings, texts, rate)
