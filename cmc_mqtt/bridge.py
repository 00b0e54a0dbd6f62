"""The bridge: builds the parts, then its extensions from one list, owns their threads, and stops
them in the right order.

Stream → frames → state → MQTT is the core (the pool, the state, the publisher); every other
concern is an extension built from the bridge's parts by its own module's `build`, which
decides whether it runs (zigbee2mqtt's controller does the same). Threads: one per stream
connection (`cmc-mqtt-stream-N`, owned by the pool), the MQTT thread (`cmc-mqtt-publisher`) and
the REST worker (`cmc-mqtt-rest`). docs/architecture.md draws them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from .config import Settings
from .extensions import (
    announcer,
    credit_watch,
    display_outputs,
    info,
    names_report,
    rate_topic,
    requests,
    sweep,
    valuing,
)
from .extensions.announcer import HomeAssistantDiscovery
from .extensions.info import INFO_INTERVAL_S
from .extensions.parts import BridgeParts, MoneyParts
from .extensions.ratelimit import RequestLimiter
from .extensions.sweep import RetainedSweep
from .homeassistant.context import DiscoveryContext
from .model.topics import Topics
from .money.alerts import AlertEngine
from .money.currency import currency as currency_for
from .money.portfolio import Holdings
from .money.rate import RateKeeper, make_keeper
from .money.valuation import Valuation
from .mqtt.extension import PublisherExtension
from .mqtt.publisher import MqttPublisher
from .rest.client import REST_TIMEOUT_S
from .rest.fiats import FiatDirectory
from .rest.names import CoinDirectory
from .rest.rates import CmcRateSource
from .rest.worker import RestWorker
from .state.bridge_state import BridgeState
from .state.coin_set import CoinSet, effective_ids
from .state.credit_meter import Clock, CreditMeter, monthly_estimate, utc_now
from .state.discovery_switch import DiscoverySwitch
from .state.holding_set import HoldingSet
from .state.identity import memory_dir
from .state.memory import StateFile
from .stream.pool import StreamPool
from .stream.session import StreamTimings
from .util.backoff import Backoff
from .version import VERSION

#: Every extension, in the order they are built and hear each event: each module's `build`
#: returns its extension, or None when its feature is off. One that needs another finds it
#: among those built before it.
EXTENSIONS: Final[tuple[Callable[[BridgeParts], PublisherExtension | None], ...]] = (
    info.build,  # bridge/info
    names_report.build,  # bridge/names, and the names asked of CoinMarketCap
    announcer.build,  # Home Assistant discovery
    display_outputs.build,  # tickers' texts and AWTRIX clocks
    sweep.build,  # what earlier runs left retained
    credit_watch.build,  # bridge/credits and the budget
    rate_topic.build,  # the exchange rate from a topic
    valuing.build,  # amounts in the user's currency, the portfolio, alerts
    requests.build,  # bridge/request/…
)


class Bridge:
    """Stream → frames → state → MQTT. `with Bridge(settings):` runs it."""

    def __init__(
        self,
        settings: Settings,
        *,
        stream_timings: StreamTimings | None = None,
        mqtt_backoff: Backoff | None = None,
        info_interval: float = INFO_INTERVAL_S,
        clock: Clock = utc_now,
        request_limiter: RequestLimiter | None = None,
    ) -> None:
        self.settings = settings
        folder = memory_dir(settings)
        self.memory = StateFile(folder)
        ids = effective_ids(settings.stream.crypto_ids, *self.memory.coin_changes())
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.state = BridgeState(
            ids,
            self.topics,
            stale_after=settings.homeassistant.stale_after,
            changed_only=settings.mqtt.publish_mode == "changed",
            deadband=settings.mqtt.deadband,
        )
        self.names = CoinDirectory(settings.names.overrides, folder)
        self.rest = RestWorker()
        self.stream = StreamPool(
            settings.stream.url,
            settings.stream.api_key,
            ids,
            self.state,
            set_online=self.state.set_stream_online,
            max_connections=settings.stream.max_connections,
            timings=stream_timings,
            layout=self.memory.layout(),
            save_layout=self.memory.set_layout,
        )
        self.coins = CoinSet(settings.stream.crypto_ids, self.memory, self.state, self.stream)
        self.meter = CreditMeter(
            settings.credits,
            self.stream.messages,
            subscriptions=self.stream.subscriptions,
            baseline=monthly_estimate(ids, settings, self.names),
            month_usage=self.memory.month_usage(),
            save=self.memory.set_month_usage,
            clock=clock,
        )
        self.money = self._money(folder)
        self.discovery_switch = DiscoverySwitch(settings.homeassistant.discovery, self.memory)
        self.publisher = MqttPublisher(settings.mqtt, self.state, backoff=mqtt_backoff)
        self.parts = self._parts(info_interval, request_limiter)
        for build in EXTENSIONS:
            extension = build(self.parts)
            if extension is not None:
                self.parts.extensions.append(extension)
        self.publisher.extensions.extend(self.parts.extensions)

    def _money(self, folder: Path | None) -> MoneyParts:
        """The user's currency and holdings; the valuation only when something is valued (or
        requests could set holdings); the rate from CoinMarketCap when that is its source."""
        settings, fx = self.settings, self.settings.fx
        currency = currency_for(fx.currency)
        keeper = make_keeper(fx)
        holdings = Holdings()
        holding_set = HoldingSet(
            settings.holdings, self.memory, holdings, lambda: self.state.crypto_ids
        )
        alerts = AlertEngine(settings.alerts, currency) if settings.alerts else None
        self.coins.add_listener(lambda _added, _removed: holding_set.apply())
        if alerts is not None:
            self.coins.add_listener(
                lambda _added, _removed: alerts.keep_only(self.state.crypto_ids)
            )
        valuation = None
        if fx.converts or settings.holdings or settings.alerts or settings.bridge.allow_requests:
            valuation = Valuation(
                self.topics, currency, keeper=keeper, holdings=holdings,
                texts=self.state.texts, alerts=alerts,
            )  # fmt: skip
        return MoneyParts(
            currency=currency,
            keeper=keeper,
            holdings=holdings,
            holding_set=holding_set,
            alerts=alerts,
            valuation=valuation,
            rate_source=self._rate_source(keeper, folder),
        )

    def _rate_source(self, keeper: RateKeeper, folder: Path | None) -> CmcRateSource | None:
        settings = self.settings
        if not (settings.fx.converts and settings.fx.source == "coinmarketcap"):
            return None
        return CmcRateSource(
            keeper,
            FiatDirectory(folder),
            settings.stream.api_key,
            settings.names.rest_url,
            timeout=REST_TIMEOUT_S,
            spend=self.meter.spend_rest,
            run_soon=self.rest.schedule,
        )

    def _parts(self, info_interval: float, request_limiter: RequestLimiter | None) -> BridgeParts:
        settings, money = self.settings, self.money
        ctx = DiscoveryContext(
            settings.homeassistant,
            self.topics,
            VERSION,
            money=money.discovery,
            enabled=lambda: self.discovery_switch.on,
        )
        parts = BridgeParts(
            settings=settings,
            version=VERSION,
            topics=self.topics,
            state=self.state,
            memory=self.memory,
            names=self.names,
            rest=self.rest,
            stream=self.stream,
            coins=self.coins,
            meter=self.meter,
            money=money,
            discovery=ctx,
            discovery_switch=self.discovery_switch,
            post=self.publisher.post,
            wake=self.publisher.wake,
            mqtt_report=self.publisher.drops.report,
            info_interval=info_interval,
            request_limiter=request_limiter,
        )
        parts.info_sources.update(self._info_sources())
        return parts

    def _info_sources(self) -> dict[str, Callable[[], object]]:
        """What `bridge/info` tells beside the state's counters."""
        settings, money = self.settings, self.money
        ha = settings.homeassistant
        sources: dict[str, Callable[[], object]] = {
            "topic_prefix": lambda: self.topics.prefix,
            "discovery": lambda: {
                "enabled": self.discovery_switch.on,
                "prefix": ha.discovery_prefix,
                "node_id": ha.node_id,
                "mode": ha.discovery_mode,
            },
            "connections": self.stream.connections,
            "left_out": lambda: list(self.stream.left_out),
            "mqtt": self.publisher.drops.report,
        }
        if settings.fx.converts:
            sources["fx"] = money.keeper.info
        if (valuation := money.valuation) is not None:
            sources["portfolio"] = lambda: {
                "currency": money.currency.code,
                "holdings": money.holding_set.report(),
            }
            sources["valuation_errors"] = lambda: valuation.errors
        return sources

    # --- what tests and commands look at ------------------------------------------------------

    @property
    def keeper(self) -> RateKeeper:
        return self.money.keeper

    @property
    def holdings(self) -> Holdings:
        return self.money.holdings

    @property
    def holding_set(self) -> HoldingSet:
        return self.money.holding_set

    @property
    def valuation(self) -> Valuation | None:
        return self.money.valuation

    @property
    def rate_source(self) -> CmcRateSource | None:
        return self.money.rate_source

    @property
    def discovery(self) -> HomeAssistantDiscovery | None:
        return self.parts.find(HomeAssistantDiscovery)

    @property
    def sweep(self) -> RetainedSweep | None:
        return self.parts.find(RetainedSweep)

    # --- running ------------------------------------------------------------------------------

    def start(self) -> Bridge:
        self.publisher.start()
        self.stream.start()
        self.rest.start()
        return self

    def stop(self) -> list[str]:
        """Stream first, so the last word on `<prefix>/status` is `offline`; a REST call in
        flight is cancelled, not waited for. Returns the names of threads that did not end."""
        self.rest.cancel()
        ended = {
            "cmc-mqtt-stream": self.stream.stop(timeout=0.6),
            "cmc-mqtt-publisher": self.publisher.stop(timeout=1.2),
            "cmc-mqtt-rest": self.rest.join(timeout=0.2),
        }
        return [name for name, done in ended.items() if not done]

    def __enter__(self) -> Bridge:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
