"""What counts as a ghost: a retained topic of ours that an earlier run left and this run no
longer publishes. The sweep (`sweep.py`) subscribes to each rule's pattern and asks the rule about
every retained topic it finds; the rule answers with the topics to clear.

Every pattern and every topic to clear comes from the book of topics (`model/topics.py`), the
field table (which fields are converted) and the discovery and clock modules for their own
namespaces, so a topic added there is swept without a change here.

- a coin no longer streamed: all its topics, its amounts in every currency seen;
- the tickers' text when `[text]` is off;
- a clock's apps of coins no longer streamed, and charts on a clock that shows none;
- another currency's rate, and with it every coin's amounts in that currency;
- the portfolio of another currency, or any portfolio when nothing is held;
- a coin's value when it is no longer held;
- Home Assistant configs of ours this run does not announce (none while discovery is off).

A coin removed and a currency changed since the last run meet in whichever order the broker
delivers them: the rules remember what they saw, so a removed coin's amounts in the old
currency are cleared either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..displays.awtrix import APP_TOPIC, every_app
from ..homeassistant.context import DiscoveryContext
from ..homeassistant.discovery import is_own_config, subscription_patterns, wanted_topics
from ..model.topics import Topics

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SweepRule:
    pattern: str  # subscription that finds retained topics of ours
    ghosts: Callable[[str], list[str]]  # for a found topic: the topics to clear (none if wanted)


@dataclass(frozen=True, slots=True)
class MoneyTopics:
    """What the money topics of this run are: the currency's code, and the coins held now."""

    currency: str = "USD"
    held: Callable[[], tuple[int, ...]] = tuple


class GhostRules:
    """The rules of one run. `coin_ids` and `money.held` are asked each time (the coins and the
    holdings change while the bridge runs); `forget()` lets go of what a sweep cached."""

    def __init__(
        self,
        topics: Topics,
        coin_ids: Callable[[], tuple[int, ...]],
        *,
        ctx: DiscoveryContext | None = None,
        text_enabled: bool = True,
        awtrix_prefixes: tuple[str, ...] = (),
        chart_prefixes: tuple[str, ...] = (),
        money: MoneyTopics | None = None,
    ) -> None:
        self._topics = topics
        self._ctx = ctx
        self._text_enabled = text_enabled
        self._awtrix_prefixes = awtrix_prefixes
        self._chart_prefixes = chart_prefixes
        self._money = money or MoneyTopics()
        self._code = self._money.currency.lower()
        self._streamed: _PerCoinSet[frozenset[int]] = _PerCoinSet(coin_ids, frozenset)
        self._wanted: _PerCoinSet[set[str]] | None = None
        if ctx is not None:
            # Which configs are wanted also depends on the coins held (their Value sensors) and
            # on whether discovery is on now (a request may switch it).
            self._wanted = _PerCoinSet(
                coin_ids,
                lambda ids: wanted_topics(ctx, ids),
                also=lambda: (self._money.held(), ctx.announcing),
            )
        self._removed: set[int] = set()
        self._old_codes: set[str] = set()

    def rules(self) -> list[SweepRule]:
        topics = self._topics
        rules = [SweepRule(topics.every_coin("status"), self._removed_coin)]
        if not self._text_enabled:
            rules.append(SweepRule(topics.every_coin("text"), lambda topic: [topic]))
        rules += [SweepRule(every_app(clock), self._removed_app) for clock in self._awtrix_prefixes]
        rules.append(SweepRule(topics.every_fx(), self._other_rate))
        rules.append(SweepRule(topics.every_portfolio(), self._old_portfolio))
        value_level = Topics.amount_level("value", self._code)
        rules.append(SweepRule(topics.every_coin(value_level), self._not_held))
        if self._ctx is not None:
            ctx = self._ctx
            rules += [SweepRule(p, self._unwanted_config) for p in subscription_patterns(ctx)]
        return rules

    def forget(self) -> None:
        """A sweep finished: what it cached (sets of every coin id) is not kept for the next."""
        self._streamed.forget()
        if self._wanted is not None:
            self._wanted.forget()

    # --- the rules ----------------------------------------------------------------------------

    def _removed_coin(self, topic: str) -> list[str]:
        cid = self._topics.coin_of(topic, "status")
        if cid is None or cid in self._streamed():
            return []
        self._removed.add(cid)
        codes = sorted({self._code, *self._old_codes})
        return [
            *self._topics.coin(cid).values(),
            *(t for code in codes for t in self._topics.coin_amounts(cid, code)),
        ]

    def _removed_app(self, topic: str) -> list[str]:
        match = APP_TOPIC.fullmatch(topic)
        if match is None:
            return []
        gone = int(match.group(2)) not in self._streamed()
        no_chart = match.group(3) is not None and match.group(1) not in self._chart_prefixes
        return [topic] if gone or no_chart else []

    def _old_currency(self, code: str) -> list[str]:
        """Every coin's amounts in `code`, a currency this run does not use."""
        self._old_codes.add(code)
        coins = sorted({*self._streamed(), *self._removed})
        return [t for cid in coins for t in self._topics.coin_amounts(cid, code)]

    def _other_rate(self, topic: str) -> list[str]:
        code = self._topics.fx_code_of(topic)
        if code is None or (code == self._code and code != "usd"):
            return []
        return [topic, *self._old_currency(code)]

    def _old_portfolio(self, topic: str) -> list[str]:
        code = self._topics.portfolio_code_of(topic)
        if not self._money.held():
            return [topic, *(self._old_currency(code) if code is not None else [])]
        if code is not None and code != self._code:
            return [topic, *self._old_currency(code)]
        return []

    def _not_held(self, topic: str) -> list[str]:
        cid = self._topics.coin_of(topic, Topics.amount_level("value", self._code))
        if cid is None:
            return []
        held = cid in self._money.held() and cid in self._streamed()
        return [] if held else [topic]

    def _unwanted_config(self, topic: str) -> list[str]:
        assert self._ctx is not None
        assert self._wanted is not None
        return [topic] if is_own_config(self._ctx, topic) and topic not in self._wanted() else []


class _PerCoinSet(Generic[T]):
    """`make(ids)`, made again only when the coin tuple is another object (or `also()` another
    value): the sweep asks for every retained topic it finds (130,000 at 10,000 coins) and the
    coins rarely change."""

    def __init__(
        self,
        coin_ids: Callable[[], tuple[int, ...]],
        make: Callable[[tuple[int, ...]], T],
        *,
        also: Callable[[], object] = tuple,
    ) -> None:
        self._coin_ids = coin_ids
        self._make = make
        self._also = also
        self._ids: tuple[int, ...] | None = None
        self._also_was: object = None
        self._value: T | None = None

    def __call__(self) -> T:
        ids, also = self._coin_ids(), self._also()
        if ids is not self._ids or also != self._also_was or self._value is None:
            self._ids, self._also_was, self._value = ids, also, self._make(ids)
        return self._value

    def forget(self) -> None:
        self._ids, self._also_was, self._value = None, None, None
