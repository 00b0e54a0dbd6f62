"""What the bridge's extensions are built from: the bridge's parts, made once by the bridge, and
the extensions built before (zigbee2mqtt's controller hands its extensions the same things).

Each extension module has a `build(parts)` that returns the extension, or None when its feature
is off: the rule for when an extension runs is the extension's own, not the bridge's. What
changes at run time and concerns several extensions (the coins, the holdings, discovery switched
on or off) reaches each through the listeners of the part that changes; an extension that needs
another finds it with `parts.find(Kind)` (the bridge builds them in the order it lists them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ..config import Settings
from ..homeassistant.context import DiscoveryContext, MoneyDiscovery
from ..model.topics import Topics
from ..money.alerts import AlertEngine
from ..money.currency import Currency
from ..money.portfolio import Holdings
from ..money.rate import RateKeeper
from ..money.valuation import Valuation
from ..mqtt.extension import PublisherExtension
from ..rest.names import CoinDirectory
from ..rest.rates import CmcRateSource
from ..rest.worker import RestWorker
from ..state.bridge_state import BridgeState
from ..state.coin_set import CoinSet
from ..state.credit_meter import CreditMeter
from ..state.discovery_switch import DiscoverySwitch
from ..state.holding_set import HoldingSet
from ..state.memory import StateFile
from ..stream.pool import StreamPool
from .ratelimit import RequestLimiter

E = TypeVar("E", bound=PublisherExtension)


@dataclass(eq=False, kw_only=True)
class MoneyParts:
    """The user's currency and what is valued in it. `valuation` is None when nothing can be:
    no other currency, no holdings, no alerts, and no requests that could set holdings."""

    currency: Currency
    keeper: RateKeeper
    holdings: Holdings
    holding_set: HoldingSet
    alerts: AlertEngine | None
    valuation: Valuation | None
    rate_source: CmcRateSource | None  # the rate from CoinMarketCap's REST API, when it is

    def discovery(self) -> MoneyDiscovery:
        """What discovery announces beside the USD sensors, asked each time it is needed."""
        return MoneyDiscovery(
            self.currency,
            frozenset(self.holdings.snapshot()),
            alerts=self.alerts is not None,
            rate=self.keeper.rate(),
        )


@dataclass(eq=False, kw_only=True)
class BridgeParts:
    """Everything an extension may be built from; `post` and `wake` are the publisher's."""

    settings: Settings
    version: str
    topics: Topics
    state: BridgeState
    memory: StateFile
    names: CoinDirectory
    rest: RestWorker
    stream: StreamPool
    coins: CoinSet
    meter: CreditMeter
    money: MoneyParts
    discovery: DiscoveryContext
    discovery_switch: DiscoverySwitch
    post: Callable[[str, str], None]
    wake: Callable[[], None]
    #: The publisher's own report for `bridge/info` (connections the broker dropped soon).
    mqtt_report: Callable[[], dict[str, object]]
    info_interval: float
    request_limiter: RequestLimiter | None = None
    #: Further parts of `bridge/info`, each computed when the payload is built.
    info_sources: dict[str, Callable[[], object]] = field(default_factory=dict)
    extensions: list[PublisherExtension] = field(default_factory=list)

    def find(self, kind: type[E]) -> E | None:
        """The extension of this kind built before the asking one, if any."""
        return next((e for e in self.extensions if isinstance(e, kind)), None)
