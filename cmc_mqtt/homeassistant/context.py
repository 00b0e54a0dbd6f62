"""What every discovery payload depends on beyond the coin: Home Assistant's settings, the
bridge's topics and version, and — asked each time, as they change while the bridge runs — what
the currency, holdings and alerts add, and whether the bridge announces at all now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from ..config import HomeAssistantSettings
from ..model.topics import Topics
from ..money.currency import USD, Currency


@dataclass(frozen=True, slots=True)
class MoneyDiscovery:
    """What the bridge's currency, holdings and alert settings mean for discovery.

    `currency` None (or USD) adds no converted sensors; holdings are then valued in USD.
    `rate` (units per USD), when known, makes a converted price's precision follow the
    converted price rather than the USD one (they differ by orders of magnitude for JPY)."""

    currency: Currency | None = None
    held: frozenset[int] = frozenset()
    alerts: bool = False
    rate: Decimal | None = None

    @property
    def converts(self) -> bool:
        return self.currency is not None and self.currency.code != USD.code

    @property
    def holding_currency(self) -> Currency:
        return self.currency if self.currency is not None else USD


NO_MONEY: Final = MoneyDiscovery()


#: Whose config a topic is: a coin id, BRIDGE or PORTFOLIO.
Owner = int | str


def _no_money() -> MoneyDiscovery:
    return NO_MONEY


@dataclass(frozen=True, slots=True)
class DiscoveryContext:
    """`money` is asked each time (holdings can change while the bridge runs); every function
    taking `money=None` uses it, so the sweep and the announcer agree on what is wanted."""

    ha: HomeAssistantSettings
    topics: Topics
    version: str
    money: Callable[[], MoneyDiscovery] = field(default=_no_money, compare=False)
    #: Whether to announce now (a `discovery/set` request may have switched it); None: as
    #: `ha.discovery` says.
    enabled: Callable[[], bool] | None = field(default=None, compare=False)

    @property
    def announcing(self) -> bool:
        return self.ha.discovery if self.enabled is None else self.enabled()
