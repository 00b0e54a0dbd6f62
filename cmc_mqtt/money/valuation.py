"""Everything in the user's currency, in one place: converted fields, what each holding is
worth, the portfolio, the rate's own topics, and the alerts that watch converted prices.

It reads the stream's exact USD texts through `texts(cid)` and the rate through a `RateKeeper`,
and returns messages; the bridge's extension publishes them (`extensions/valuing.py`). While
the rate is stale the converted topics are not written at all and `<prefix>/fx/<cur>/status`
says `offline`, so the sensors that list it as an availability topic show unavailable instead
of an old conversion.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from ..model.topics import OFFLINE, ONLINE, Message, Topics
from .alerts import Alert, AlertEngine
from .currency import (
    CONTEXT,
    FIELD_AMOUNTS,
    NO_MONEY,
    Currency,
    MoneyValues,
    convert,
    converted_fields,
    to_decimal,
)
from .portfolio import (
    Holdings,
    PortfolioTotal,
    coin_value_messages,
    portfolio_messages,
    value_from_texts,
)
from .rate import RateKeeper, rate_text

LOG = logging.getLogger(__name__)
#: coin id -> its last good USD texts by field key (None: not streamed).
Texts = Callable[[int], Mapping[str, str] | None]


class Valuation:
    """Thread-safe: `money` is read by the displays, `messages` and `alerts` run on the MQTT
    thread.

    A value that cannot be computed (an amount beyond every bound: a bug, as every amount is
    bounded where it enters) is contained to its coin: that coin's `status_<cur>` goes
    `offline`, so Home Assistant shows exactly its amounts unavailable, the failure is logged
    once per coin and counted (`errors`, in `bridge/info`), and every other coin goes on."""

    def __init__(
        self,
        topics: Topics,
        currency: Currency,
        *,
        keeper: RateKeeper,
        holdings: Holdings,
        texts: Texts,
        alerts: AlertEngine | None = None,
    ) -> None:
        self.currency = currency
        self.converts = currency.code != "USD"
        self.topics = topics
        self.keeper = self._keeper = keeper
        self.holdings = self._holdings = holdings
        self._texts = texts
        self._alerts = alerts
        self.rate_topic = topics.fx_rate(currency.code)
        self.fx_status_topic = topics.fx_status(currency.code)
        self._lock = threading.Lock()
        self._sent: dict[str, str] = {}
        #: Coins whose converted fields could not be computed from their newest quote.
        self._unconverted: set[int] = set()
        self._logged: set[int] = set()
        self.errors = 0

    # --- for the displays ---

    def money(self, cid: int) -> MoneyValues:
        """The `MoneyProvider` for `Displays`: this coin's converted fields and holding, and the
        portfolio, each missing while it cannot be known."""
        if not self.converts and not self._holdings:
            return NO_MONEY  # the USD numbers as received, nothing held: asked on every frame
        rate = self._keeper.rate()
        texts = self._texts(cid) or {}
        fields: dict[str, Decimal] | None = None
        holdings = self._holdings.snapshot()
        value = None
        try:
            if self.converts:
                fields = {}
                if rate is not None:
                    fields = {k: convert(t, rate) for k, t in texts.items() if k in FIELD_AMOUNTS}
            if rate is not None and cid in holdings and texts.get("p") is not None:
                value = CONTEXT.multiply(convert(texts["p"], rate), holdings[cid])
        except (ArithmeticError, ValueError) as exc:
            self._failed(cid, exc)
            fields, value = ({} if self.converts else None), None
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
        holdings = self._holdings.snapshot()
        if self.converts:
            last = self._keeper.last()
            if last is not None:  # the rate first: whoever sees `online` finds it there
                out.append((self.rate_topic, rate_text(last.value)))
            out.append((self.fx_status_topic, OFFLINE if rate is None else ONLINE))
            if rate is not None:
                for cid in cids:
                    out.extend(self._converted(cid, rate, held=cid in holdings))
        if holdings:
            total = self._total(holdings, rate)
            if total is not None:
                out.extend(
                    coin_value_messages(
                        self.topics, total, self.currency, unconverted=self._unconverted
                    )
                )
            if self._unconverted & holdings.keys():
                total = None  # a held coin's amounts are unavailable: so is the total
            out.extend(portfolio_messages(self.topics, total, self.currency))
        return self._changed(out)

    def _converted(self, cid: int, rate: Decimal, *, held: bool) -> list[Message]:
        """One coin's converted fields and, unless it is held (its value decides then too),
        its `status_<cur>`; `offline` alone when they cannot be computed."""
        base = self.topics.coin_base(cid)
        status = self.topics.amounts_status(cid, self.currency.code)
        try:
            fields = converted_fields(self._texts(cid) or {}, rate, self.currency)
        except (ArithmeticError, ValueError) as exc:
            self._failed(cid, exc)
            self._unconverted.add(cid)
            return [(status, OFFLINE)]
        self._unconverted.discard(cid)
        out = [(base + key, text) for key, text in fields.items()]
        return out if held else [*out, (status, ONLINE)]

    def _failed(self, cid: int, exc: BaseException) -> None:
        with self._lock:
            self.errors += 1
            first = cid not in self._logged
            self._logged.add(cid)
        if first:
            LOG.warning(
                "coin %d: its amounts in %s cannot be computed (%s: %s); marked unavailable, "
                "the other coins go on (further failures are counted in bridge/info)",
                cid,
                self.currency.code,
                type(exc).__name__,
                str(exc)[:80],
            )

    def alerts(self, cids: Iterable[int]) -> list[Alert]:
        """Feed the alert rules each coin's converted price and 24 h change."""
        if self._alerts is None:
            return []
        rate = self._keeper.rate()
        fired: list[Alert] = []
        for cid in cids:
            texts = self._texts(cid) or {}
            price_text, change_text = texts.get("p"), texts.get("p24h")
            try:
                price = convert(price_text, rate) if price_text and rate is not None else None
                change = to_decimal(change_text) if change_text else None
            except (ArithmeticError, ValueError) as exc:
                self._failed(cid, exc)
                continue
            fired.extend(self._alerts.check(cid, price, change))
        return fired

    def watching(self) -> bool:
        """Whether new quotes can change anything here: a currency to convert to, holdings to
        value or alerts to check (without them the bridge only waits for a holding to be set)."""
        return self.converts or self._alerts is not None or bool(self._holdings)

    def forget(self, cids: Iterable[int]) -> None:
        """Coins no longer streamed: their failures are history (the sweep clears topics)."""
        gone = set(cids)
        with self._lock:
            self._unconverted -= gone
            self._logged -= gone

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
        total = value_from_texts(holdings, texts, rate)
        if total is not None:
            for cid in total.failed:
                self._failed(cid, ArithmeticError("value out of range"))
        return total


def valuation_messages(
    prefix: str,
    currency: Currency,
    rate: Decimal,
    holdings: Mapping[int, Decimal],
    texts: Mapping[int, Mapping[str, str]],
) -> list[Message]:
    """Everything the bridge publishes in `currency` for coins with these USD texts at this
    fixed rate (units per USD; 1 for USD): for whoever must show what the bridge would send
    (the Home Assistant tests) without running one."""
    keeper = RateKeeper(currency.code, max_age=None)
    keeper.offer(rate, "fixed")
    valuation = Valuation(
        Topics(prefix), currency, keeper=keeper, holdings=Holdings(holdings), texts=texts.get
    )
    return valuation.messages(sorted(texts))
