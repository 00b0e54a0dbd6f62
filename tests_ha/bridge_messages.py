"""What a bridge publishes, produced by the bridge's own code (discovery.py, state.py,
frames.py, fx.py, money.py, portfolio.py) and delivered to Home Assistant as a broker would."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from cmc_mqtt.config import CreditSettings, HomeAssistantSettings
from cmc_mqtt.extensions.info import BridgeInfo
from cmc_mqtt.extensions.names_report import NamesReport
from cmc_mqtt.homeassistant.bridge_entities import BRIDGE_ENTITIES
from cmc_mqtt.homeassistant.context import DiscoveryContext
from cmc_mqtt.homeassistant.discovery import (
    bridge_default_entity_id,
    bridge_messages,
    bridge_unique_id,
    coin_messages,
)
from cmc_mqtt.model.coins import CoinInfo, coin_info
from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.alerts import Alert
from cmc_mqtt.money.currency import currency as currency_of
from cmc_mqtt.money.rate import FxSettings, make_keeper
from cmc_mqtt.money.valuation import valuation_messages
from cmc_mqtt.rest.key_info import KeyInfo
from cmc_mqtt.rest.names import CoinDirectory
from cmc_mqtt.state.bridge_state import BridgeState
from cmc_mqtt.state.credit_meter import CreditMeter, estimate
from cmc_mqtt.stream.frames import QuoteFrame, parse_frame

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SESSION = (FIXTURES / "stream-session.jsonl").read_text().splitlines()


def fire(hass: HomeAssistant, messages: list[tuple[str, str]]) -> None:
    """As a broker delivers retained messages when Home Assistant subscribes."""
    for topic, payload in messages:
        async_fire_mqtt_message(hass, topic, payload, retain=True)


async def live(hass: HomeAssistant, topic: str, payload: str) -> None:
    """As a broker forwards a publish to an existing subscriber: retain flag cleared."""
    async_fire_mqtt_message(hass, topic, payload, retain=False)
    await hass.async_block_till_done()


def last_price(cid: int) -> str:
    """The price text of the coin's last frame in the fixture session."""
    frames = [parse_frame(line) for line in SESSION]
    quotes = [f for f in frames if isinstance(f, QuoteFrame) and f.cid == cid]
    return quotes[-1].texts["p"]


def session_state(*cids: int) -> BridgeState:
    """The bridge's state after one round of the fixture session for these coins."""
    state = BridgeState(cids, Topics("cmc"))
    state.set_stream_online(True)
    for line in SESSION:
        frame = parse_frame(line)
        if isinstance(frame, QuoteFrame) and frame.cid in cids:
            state.apply_quote(frame)
    return state


def bridge_states(*cids: int) -> list[tuple[str, str]]:
    """What the bridge publishes after one round of the fixture session for these coins, as a
    subscriber reads it (the state keeps field texts as ASCII bytes)."""
    state = session_state(*cids)
    messages: list[tuple[str, str]] = []
    while batch := state.take_pending():
        messages.extend((t, p.decode() if isinstance(p, bytes) else p) for t, p in batch)
    return messages


def connection(ids: list[int], connected: bool) -> dict[str, object]:
    """One entry of `bridge/info`'s `connections`, as the stream pool reports it."""
    return {"ids": ids, "connected": connected, "sub_count": len(ids), "sub_limit": 100,
            "reconnects": 0, "messages": 12}  # fmt: skip


def bridge_info(*cids: int, frames: bool = True) -> str:
    """`cmc/bridge/info` as the bridge writes it: after the fixture session (or before any
    frame), with a second connection that is down."""
    state = session_state(*cids) if frames else BridgeState(cids, Topics("cmc"))
    info = BridgeInfo(state, "1.2.3")
    links = [connection(list(cids), True), connection([], False)]
    info.sources["connections"] = lambda: links
    return info.payload()


def money_info(
    *cids: int,
    currency: str = "EUR",
    rate: Decimal = Decimal("0.9213"),
    holdings: Mapping[int, Decimal] | None = None,
) -> str:
    """`cmc/bridge/info` of a bridge converting to `currency` at a fixed rate and valuing
    `holdings` (None: a bridge that does not value holdings). `fx` is the bridge's own rate
    keeper's report; `portfolio` is written as the bridge's contract says:
    `{"currency": "EUR", "holdings": {"1": "0.25"}}`, exact texts keyed by coin id."""
    info = BridgeInfo(session_state(*cids), "1.2.3")
    if currency != "USD":
        keeper = make_keeper(FxSettings(currency=currency, source="fixed", rate=rate))
        info.sources["fx"] = keeper.info
    if holdings is not None:
        held = {str(cid): str(amount) for cid, amount in holdings.items()}
        info.sources["portfolio"] = lambda: {"currency": currency, "holdings": held}
    return info.payload()


def money_states(
    *cids: int,
    currency: str = "EUR",
    rate: Decimal = Decimal("0.9213"),
    holdings: Mapping[int, Decimal] | None = None,
) -> dict[str, str]:
    """What the bridge publishes after one round of the fixture session for these coins: the
    USD fields, the converted ones and the rate's status (unless `currency` is USD), each
    holding's value and the portfolio; by the bridge's own money and portfolio code."""
    states = dict(bridge_states(*cids))
    cur = currency_of(currency)
    texts: dict[int, dict[str, str]] = {}
    for cid in cids:
        base = f"cmc/{cid}/"
        texts[cid] = {t.removeprefix(base): p for t, p in states.items() if t.startswith(base)}
    usd = cur.code == "USD"
    states.update(
        valuation_messages("cmc", cur, Decimal(1) if usd else rate, holdings or {}, texts)
    )
    return states


def bridge_credits(
    *,
    messages: int = 48_000,
    key: KeyInfo | None = None,
    budget: float | None = None,
    stopped: bool = False,
) -> str:
    """`cmc/bridge/credits` as the bridge writes it, from its credit meter (`stopped`: the
    budget stopped the stream)."""
    prices = CreditSettings(monthly_budget=budget)
    count = iter([0])  # the meter's mark at start; then `messages` were received
    meter = CreditMeter(
        prices, lambda: next(count, messages), baseline=estimate([1, 1027], {}, prices)
    )
    meter.key = key
    return meter.payload(stopped=stopped)


def bridge_names(
    *cids: int,
    fetched: tuple[CoinInfo, ...] = (),
    overrides: Mapping[int, CoinInfo] | None = None,
) -> str:
    """`cmc/bridge/names` as the bridge writes it for the coins it streams, by its own report:
    names `fetched` from CoinMarketCap, the user's `overrides`, else the bundled ones."""
    directory = CoinDirectory(dict(overrides or {}), None)
    directory.update(fetched)
    return NamesReport("cmc/bridge/names", directory, lambda: cids).payload()


def context(**ha: object) -> DiscoveryContext:
    return DiscoveryContext(HomeAssistantSettings(**ha), Topics("cmc"), "1.2.3")  # type: ignore[arg-type]


async def discover_bridge(
    hass: HomeAssistant, *, enable_all: bool = False, **ha: object
) -> DiscoveryContext:
    """The bridge device's configs, as the bridge sends them on connecting; with `enable_all`
    the entities disabled by default are enabled first, as a user who wants them does."""
    ctx = context(**ha)
    if enable_all:
        registry = er.async_get(hass)
        for entity in BRIDGE_ENTITIES:
            if not entity.enabled_by_default:
                object_id = bridge_default_entity_id(ctx, entity).partition(".")[2]
                registry.async_get_or_create(
                    entity.platform, "mqtt", bridge_unique_id(ctx, entity.key),
                    suggested_object_id=object_id,
                )  # fmt: skip
    fire(hass, bridge_messages(ctx))
    await hass.async_block_till_done()
    return ctx


async def discover(hass: HomeAssistant, *cids: int, **ha: object) -> DiscoveryContext:
    ctx = context(**ha)
    states = dict(bridge_states(*cids))
    for cid in cids:
        price = float(states[f"cmc/{cid}/p"])
        fire(hass, coin_messages(ctx, coin_info(cid), price))
    await hass.async_block_till_done()
    fire(hass, list(states.items()))
    await hass.async_block_till_done()
    return ctx


def alert(
    cid: int, kind: str, direction: str, level: str, value: str, currency: str | None = None
) -> tuple[str, str]:
    """`cmc/<id>/alert` as the bridge sends it when a rule fires (an event: not retained)."""
    fired = Alert(cid, kind, direction, Decimal(level), Decimal(value), 1_780_000_000.0,
                  currency_of(currency) if currency is not None else None)  # fmt: skip
    return Topics("cmc").coin_alert(cid), fired.payload()
