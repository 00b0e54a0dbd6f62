"""The bridge: builds the parts, owns their threads, and stops them in the right order.

Threads: one per stream connection (`cmc-mqtt-stream-N`, owned by the pool), the MQTT thread
(`cmc-mqtt-publisher`) and the REST worker (`cmc-mqtt-rest`). docs/architecture.md draws them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .config.load import Settings
from .displays.awtrix import is_app_topic
from .extensions.announcer import HomeAssistantDiscovery
from .extensions.credit_watch import CreditWatch
from .extensions.display_outputs import Displays
from .extensions.ghosts import GhostRules, MoneyTopics
from .extensions.info import INFO_INTERVAL_S, BridgeInfo
from .extensions.names_report import NamesReport
from .extensions.rate_topic import RateTopic
from .extensions.ratelimit import RequestLimiter
from .extensions.requests import BridgeRequests
from .extensions.sweep import RetainedSweep
from .extensions.valuing import ValuationExtension
from .homeassistant.context import DiscoveryContext, MoneyDiscovery
from .model.topics import Topics
from .money.alerts import AlertEngine
from .money.currency import currency as currency_for
from .money.portfolio import Holdings
from .money.rate import make_keeper
from .money.valuation import Valuation
from .mqtt.extension import Outbox, PublisherExtension
from .mqtt.publisher import MqttPublisher
from .rest.client import Cancel, Cancelled, RestError
from .rest.fiats import FiatDirectory
from .rest.key_info import fetch_key_info
from .rest.names import CoinDirectory, fetch_map
from .rest.rates import CmcRateSource, monthly_credits
from .rest.worker import RestWorker
from .state.bridge_state import BridgeState
from .state.coin_set import CoinSet, effective_ids
from .state.credit_meter import Clock, CreditMeter, Estimate, estimate, utc_now
from .state.discovery_switch import DiscoverySwitch
from .state.holding_set import HoldingSet
from .state.identity import memory_dir
from .state.memory import StateFile
from .stream.pool import StreamPool
from .stream.session import StreamTimings
from .util.backoff import Backoff
from .version import VERSION

REST_TIMEOUT_S = 5.0


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
        memory = memory_dir(settings)
        self.memory = StateFile(memory)
        ids = effective_ids(settings.stream.crypto_ids, *self.memory.coin_changes())
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.state = BridgeState(
            ids,
            self.topics,
            stale_after=settings.homeassistant.stale_after,
            changed_only=settings.mqtt.publish_mode == "changed",
            deadband=settings.mqtt.deadband,
        )
        self.names = CoinDirectory(settings.names.overrides, memory)
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
        fx = settings.fx
        self.currency = currency_for(fx.currency)
        self.keeper = make_keeper(fx)
        self.holdings = Holdings()
        self.holding_set = HoldingSet(
            settings.holdings, self.memory, self.holdings, lambda: self.state.crypto_ids
        )
        self.alerts = AlertEngine(settings.alerts, self.currency) if settings.alerts else None
        self.discovery_switch = DiscoverySwitch(settings.homeassistant.discovery, self.memory)
        ctx = DiscoveryContext(
            settings.homeassistant,
            self.topics,
            VERSION,
            money=self._money_discovery,
            enabled=lambda: self.discovery_switch.on,
        )
        self.valuation: Valuation | None = None
        # Requests may set holdings at any time, so they need a valuation too.
        if fx.converts or settings.holdings or settings.alerts or settings.bridge.allow_requests:
            self.valuation = Valuation(
                self.topics,
                self.currency,
                keeper=self.keeper,
                holdings=self.holdings,
                texts=self.state.texts,
                alerts=self.alerts,
            )
        ghosts = GhostRules(
            self.topics,
            lambda: self.state.crypto_ids,
            ctx=ctx,
            text_enabled=settings.text.enabled,
            awtrix_prefixes=tuple(clock.prefix for clock in settings.awtrix),
            chart_prefixes=tuple(c.prefix for c in settings.awtrix if c.extras.chart_points),
            money=MoneyTopics(self.currency.code, lambda: tuple(self.holdings.snapshot())),
        )
        self.discovery = HomeAssistantDiscovery(ctx, self.state, self.names)
        self.sweep = RetainedSweep(
            self.topics.sync,
            ghosts.rules(),
            migrate=self.discovery.migration,
            after_clear=self._after_sweep,
            forget=ghosts.forget,
        )
        money = self.valuation.money if self.valuation is not None else None
        self.displays = Displays(
            settings,
            self.state,
            self.names,
            extras=tuple(clock.extras for clock in settings.awtrix),
            money=money,
        )
        self.meter = CreditMeter(
            settings.credits,
            self.stream.messages,
            subscriptions=self.stream.subscriptions,
            baseline=self._estimate(ids),
            month_usage=self.memory.month_usage(),
            save=self.memory.set_month_usage,
            clock=clock,
        )
        self.rate_source: CmcRateSource | None = None
        if fx.converts and fx.source == "coinmarketcap":
            self.rate_source = CmcRateSource(
                self.keeper,
                FiatDirectory(memory),
                settings.stream.api_key,
                settings.names.rest_url,
                timeout=REST_TIMEOUT_S,
                spend=self.meter.spend_rest,
                run_soon=self.rest.schedule,
            )
        self.credit_watch = CreditWatch(
            self.topics.credits,
            self.meter,
            self.stream,
            self.state,
            paid_calls=[self.rate_source] if self.rate_source is not None else [],
        )
        self.names_report = NamesReport(
            self.topics.names, self.names, lambda: self.state.crypto_ids
        )
        self.info = BridgeInfo(self.state, VERSION, interval=info_interval)
        self.info.sources["topic_prefix"] = lambda: self.topics.prefix
        self.info.sources["discovery"] = self._discovery_info
        self.info.sources["connections"] = self.stream.connections
        self.info.sources["left_out"] = lambda: list(self.stream.left_out)
        if fx.converts:
            self.info.sources["fx"] = self.keeper.info
        if (valuation := self.valuation) is not None:
            self.info.sources["portfolio"] = self._portfolio_info
            self.info.sources["valuation_errors"] = lambda: valuation.errors
        extensions: list[PublisherExtension] = [
            self.info,
            self.names_report,
            self.sweep,
            self.discovery,
            self.displays,
            self.credit_watch,
        ]
        if fx.converts and fx.source == "mqtt" and fx.topic is not None:
            extensions.append(
                RateTopic(fx.topic, self.keeper, key=fx.topic_key, inverted=fx.inverted)
            )
        self.publisher = MqttPublisher(
            settings.mqtt,
            self.state,
            backoff=mqtt_backoff,
            extensions=extensions,
        )
        self.info.sources["mqtt"] = self.publisher.drops.report
        self.valuing: ValuationExtension | None = None
        if self.valuation is not None:
            self.valuing = ValuationExtension(
                self.valuation,
                self.state,
                self.state.open_channel(),
                topics=self.topics,
                show_alerts=self.displays.show_alerts,
                refresh_displays=self.displays.refresh,
                wake=self.publisher.wake,
            )
            self.publisher.extensions.append(self.valuing)
        if settings.bridge.allow_requests:
            self.publisher.extensions.append(
                BridgeRequests(
                    self.topics,
                    self.coins,
                    self.state,
                    run_later=self.rest.schedule,
                    post=self.publisher.post,
                    check_ids=self._unknown_ids if settings.names.lookup else None,
                    check_budget=self._over_budget,
                    check_reconnect=self._reconnect_over_budget,
                    republish=self.discovery.refresh_all,
                    reconnect=self.stream.reconnect,
                    holdings=self.holding_set if self.valuation is not None else None,
                    discovery=self.discovery_switch.set,
                    limiter=request_limiter,
                )
            )
        self.coins.add_listener(self._coins_changed)
        self.discovery_switch.add_listener(self._discovery_switched)
        self.holding_set.add_listener(self._holdings_changed)

    def _money_discovery(self) -> MoneyDiscovery:
        """What discovery announces beside the USD sensors, asked each time it is needed."""
        return MoneyDiscovery(
            self.currency,
            frozenset(self.holdings.snapshot()),
            alerts=self.alerts is not None,
            rate=self.keeper.rate(),
        )

    def start(self) -> Bridge:
        self.publisher.start()
        self.stream.start()
        settings = self.settings
        if settings.names.lookup:
            self.rest.schedule(lambda cancel: self._look_up_names(self.state.crypto_ids, cancel))
            self.rest.schedule(self._check_key, every=settings.credits.key_info_interval)
        if self.rate_source is not None:
            self.rest.schedule(self.rate_source, every=settings.fx.interval)
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

    # --- run-time changes ---------------------------------------------------------------------

    def _after_sweep(self, cleared: list[str], out: Outbox) -> None:
        """A clock deleted more apps than the ones cleared (by prefix): send them again."""
        if any(is_app_topic(topic) for topic in cleared):
            self.displays.resend(out)

    def _discovery_info(self) -> dict[str, object]:
        """For `bridge/info`: whether and where the bridge announces to Home Assistant (the
        custom integration raises a repair issue when both create entities on one prefix)."""
        ha = self.settings.homeassistant
        return {
            "enabled": self.discovery_switch.on,
            "prefix": ha.discovery_prefix,
            "node_id": ha.node_id,
            "mode": ha.discovery_mode,
        }

    def _discovery_switched(self, on: bool) -> None:
        self.info.publish_soon()
        if on:
            self.discovery.refresh_all()  # everything announced again on the next tick
        else:
            self.sweep.rerun()  # every config of ours is unwanted now: cleared

    def _portfolio_info(self) -> dict[str, object]:
        return {"currency": self.currency.code, "holdings": self.holding_set.report()}

    def _holdings_changed(self, changed: tuple[int, ...]) -> None:
        self.info.publish_soon()
        self.discovery.refresh_all()
        if self.valuing is not None:
            self.valuing.refresh_all()
        held = self.holdings.snapshot()
        if any(cid not in held for cid in changed):
            self.sweep.rerun()  # a coin no longer held leaves its value and its sensor behind

    def _coins_changed(self, added: tuple[int, ...], removed: tuple[int, ...]) -> None:
        self.info.publish_soon()
        self.discovery.refresh_all()
        self.holding_set.apply()
        if self.alerts is not None:
            self.alerts.keep_only(self.state.crypto_ids)
        if self.valuation is not None:
            self.valuation.forget(removed)
        if self.valuing is not None:
            self.valuing.refresh_all()
        if removed:
            self.sweep.rerun()
        self.meter.set_baseline(self._estimate(self.state.crypto_ids))

    def _estimate(self, ids: Sequence[int]) -> Estimate:
        """The month's cost of streaming `ids`, with the exchange rate's calls."""
        ranks = {cid: self.names.get(cid).rank for cid in ids}
        return estimate(ids, ranks, self.settings.credits, rest=monthly_credits(self.settings.fx))

    # --- REST jobs (on the worker's thread) ---------------------------------------------------

    def _look_up_names(self, ids: Sequence[int], cancel: Cancel) -> None:
        names = self.settings.names
        self.names.refresh(
            self.settings.stream.api_key, names.rest_url, ids, REST_TIMEOUT_S, cancel
        )

    def _check_key(self, cancel: Cancel) -> None:
        try:
            self.meter.key = fetch_key_info(
                self.settings.names.rest_url,
                self.settings.stream.api_key,
                timeout=REST_TIMEOUT_S,
                cancel=cancel,
            )
        except Cancelled:
            return
        except RestError as exc:
            self.meter.key_error = str(exc)
        else:
            self.meter.key_error = None

    def _unknown_ids(self, ids: list[int], cancel: Cancel) -> list[int] | str:
        """Ids CoinMarketCap's map does not list; why it cannot tell, when it cannot now."""
        try:
            found = fetch_map(
                self.settings.stream.api_key,
                self.settings.names.rest_url,
                set(ids),
                REST_TIMEOUT_S,
                cancel,
            )
        except (RestError, TypeError) as exc:
            return f"CoinMarketCap's coin map did not answer ({exc})"
        self.names.update(found.values())
        return [cid for cid in ids if cid not in found]

    def _reconnect_over_budget(self) -> str | None:
        """Whether resubscribing every coin (a reconnect) would spend the rest of the budget."""
        prices = self.settings.credits
        if prices.monthly_budget is None or not prices.per_subscription:
            return None
        cost = len(self.state.crypto_ids) * prices.per_subscription
        if not self.meter.budget_spent(cost):
            return None
        return (
            f"resubscribing {len(self.state.crypto_ids)} coins costs about {cost:,.1f} credits; "
            f"{self.meter.used():,.1f} of this month's budget of {prices.monthly_budget:,.0f} "
            "are used"
        )

    def _over_budget(self, ids: list[int]) -> str | None:
        budget = self.settings.credits.monthly_budget
        if budget is None:
            return None
        after = self._estimate([*self.state.crypto_ids, *ids])
        if after.total <= budget:
            return None
        cost = f"the stream costs about {after.total:,.0f} credits a month"
        if after.rest_credits:
            cost = (
                f"the stream and the exchange rate cost about {after.total:,.0f} credits a "
                f"month (the rate {after.rest_credits:,.0f})"
            )
        return f"with these coins {cost}, more than the budget of {budget:,.0f}"
