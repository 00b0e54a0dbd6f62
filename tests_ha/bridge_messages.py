"""What a bridge publishes, produced by the bridge's own code (discovery.py, state.py,
frames.py) and delivered to Home Assistant as a broker would."""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from cmc_mqtt.bridge_info import BridgeInfo
from cmc_mqtt.coins import coin_info
from cmc_mqtt.config import CreditSettings, HomeAssistantSettings
from cmc_mqtt.credits import CreditMeter, KeyInfo, estimate
from cmc_mqtt.discovery import DiscoveryContext, bridge_messages, coin_messages
from cmc_mqtt.frames import QuoteFrame, parse_frame
from cmc_mqtt.state import BridgeState, Topics

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
    """What the bridge publishes after one round of the fixture session for these coins."""
    state = session_state(*cids)
    messages: list[tuple[str, str]] = []
    while batch := state.take_pending():
        messages.extend(batch)
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


def bridge_credits(
    *, messages: int = 48_000, key: KeyInfo | None = None, budget: float | None = None
) -> str:
    """`cmc/bridge/credits` as the bridge writes it, from its credit meter."""
    prices = CreditSettings(monthly_budget=budget)
    count = iter([0])  # the meter's mark at start; then `messages` were received
    meter = CreditMeter(
        prices, lambda: next(count, messages), baseline=estimate([1, 1027], {}, prices)
    )
    meter.key = key
    return meter.payload(stopped=False)


def context(**ha: object) -> DiscoveryContext:
    return DiscoveryContext(HomeAssistantSettings(**ha), Topics("cmc"), "1.2.3")  # type: ignore[arg-type]


async def discover_bridge(hass: HomeAssistant, **ha: object) -> DiscoveryContext:
    """The bridge device's configs, as the bridge sends them on connecting."""
    ctx = context(**ha)
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
