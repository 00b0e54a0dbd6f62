"""What a configuration will do before it runs: which coins, on how many connections, what is
left out, and what it costs in credits (`cmc-mqtt check-config`)."""

from __future__ import annotations

import os

from ..config import Settings
from ..money.rate import FxSettings
from ..rest.client import Cancel, RestError
from ..rest.key_info import fetch_key_info
from ..rest.names import CACHE_FILE, CoinDirectory
from ..rest.rates import monthly_credits
from ..state.coin_set import effective_ids
from ..state.credit_meter import Estimate, estimate
from ..state.identity import adopts_legacy, is_local, memory_path, reading_folder
from ..state.memory import STATE_FILE, StateFile
from ..stream.pool import DEFAULT_SUB_LIMIT, Limits, format_ids, plan_layout
from ..util.secret import PLACEHOLDER_KEYS
from ..util.wording import counted

KEY_INFO_TIMEOUT_S = 5.0


def describe_plan(settings: Settings, *, ask_key: bool = True) -> list[str]:
    """One line each: coins, connections, what is left out, credits, the memory, the key's
    allowance. Reads what a run would read, and changes nothing on disk."""
    lines: list[str] = []
    configured = settings.stream.crypto_ids
    memory = StateFile(reading_folder(settings, STATE_FILE), repair=False)
    added, removed = memory.coin_changes()
    ids = effective_ids(configured, added, removed)
    if added or removed:
        lines.append(
            f"coins: {len(configured)} configured, {len(added)} added and {len(removed)} removed "
            f"over MQTT: {len(ids)} streamed"
        )
    limits = Limits(DEFAULT_SUB_LIMIT, settings.stream.max_connections)
    layout, left_out = plan_layout([], ids, limits)
    lines.append(
        f"connections: {len(layout)} of at most {limits.max_connections}, up to "
        f"{counted(limits.ids_per_connection, 'coin')} each (CoinMarketCap's documented limit; "
        "the acks may allow more)"
    )
    if left_out:
        lines.append(
            f"limits: {len(left_out)} of {counted(len(ids), 'coin')} do not fit "
            f"({counted(limits.max_connections, 'connection')} x "
            f"{counted(limits.ids_per_connection, 'subscription')}) and are left out: "
            f"{format_ids(left_out)}"
        )
    streamed = [cid for cid in ids if cid not in set(left_out)]
    names = CoinDirectory(
        settings.names.overrides, reading_folder(settings, CACHE_FILE), repair=False
    )
    ranks = {cid: names.get(cid).rank for cid in streamed}
    cost = estimate(streamed, ranks, settings.credits, rest=monthly_credits(settings.fx))
    prices = settings.credits
    price = f"{prices.per_message:g} credits per message"
    if prices.per_subscription:
        price += f" + {prices.per_subscription:g} per subscription"
    lines.append(
        f"credits: about {cost.credits:,.0f} a month for {counted(cost.coins, 'coin')} "
        f"({cost.fast} pushed every ~5 s, {cost.coins - cost.fast} every ~15 s; {price}, "
        "assumed)"
    )
    fx_line = describe_fx(settings.fx)
    if fx_line is not None:
        lines.append(fx_line)
    budget = prices.monthly_budget
    if budget is not None:
        lines.append(_budget_line(budget, cost, prices.on_budget))
    lines.extend(describe_memory(settings, memory))
    lines.append(_key_line(settings) if ask_key else "key: not asked (--offline)")
    return lines


def describe_memory(settings: Settings, memory: StateFile) -> list[str]:
    """The state file this configuration uses (its own), the shared one of earlier versions
    when there is one, and what a run will do about a file it cannot use."""
    folder = memory_path(settings)
    if folder is None:
        return ["memory: none (no cache folder): coins and holdings changed over MQTT are lost "
                "at a restart"]  # fmt: skip
    line = (
        f"memory: {folder / STATE_FILE} (this configuration's own: its key, stream URL, "
        "REST URL and topic prefix)"
    )
    shared = folder.parent / STATE_FILE
    if os.path.lexists(shared) and not os.path.lexists(folder / STATE_FILE):
        if adopts_legacy(settings):
            line += (
                f"; {shared}, which every configuration shared before, becomes it at the next run"
            )
        else:
            line += (
                f"; {shared}, which every configuration shared before, is left for a "
                "configuration against CoinMarketCap itself"
            )
    lines = [line]
    if memory.problem is not None and memory.path is not None:
        lines.append(
            f"memory: {memory.path} cannot be used as it is ({memory.problem}); the next run "
            "moves it aside and starts with what is valid in it, if anything"
        )
    return lines


def _budget_line(budget: float, cost: Estimate, on_budget: str) -> str:
    """The verdict on everything the bridge spends: the stream and the exchange rate's calls."""
    verdict = "within it" if cost.total <= budget else "OVER it"
    if not cost.rest_credits:
        action = "streaming stops" if on_budget == "stop" else "a warning"
        return f"budget: {budget:,.0f} credits a month, {verdict} (when passed: {action})"
    action = "streaming and the rate calls stop" if on_budget == "stop" else "a warning"
    return (
        f"budget: {budget:,.0f} credits a month, {verdict} with the stream and the rate "
        f"together: about {cost.credits:,.0f} + {cost.rest_credits:,.0f} = "
        f"{cost.total:,.0f} (when passed: {action})"
    )


def describe_fx(fx: FxSettings) -> str | None:
    """Where the rate comes from and what it costs; None for USD (no rate at all)."""
    if not fx.converts:
        return None
    if fx.source == "fixed":
        return f"currency: {fx.currency} at a fixed {fx.rate:f} per US dollar, no credits"
    if fx.source == "mqtt":
        return f"currency: {fx.currency} from the MQTT topic {fx.topic}, no credits"
    minutes = fx.interval / 60
    every = f"{minutes:g} min" if fx.interval % 60 == 0 else f"{fx.interval:g} s"
    return (
        f"currency: {fx.currency} from CoinMarketCap every {every}, about "
        f"{monthly_credits(fx):,.0f} credits a month (1 a call, besides the stream's)"
    )


def _key_line(settings: Settings) -> str:
    """What the key allows, asked of CoinMarketCap's REST API (free), or why it is not asked:
    the one thing `check-config` asks anyone, so the line says where it asked."""
    url = f"{settings.names.rest_url}/v1/key/info"
    if not settings.names.lookup:
        return "key: not asked (lookup_names = false: nothing is asked of the REST API)"
    if settings.stream.api_key.reveal() in PLACEHOLDER_KEYS and not is_local(url):
        return "key: not asked (a placeholder, not a CoinMarketCap key)"
    try:
        key = fetch_key_info(
            settings.names.rest_url,
            settings.stream.api_key,
            timeout=KEY_INFO_TIMEOUT_S,
            cancel=Cancel(),
        )
    except RestError as exc:
        return f"key: asked {url}, no answer ({exc}); --offline does not ask"
    limit = "?" if key.limit is None else f"{key.limit:,.0f}"
    used = "?" if key.used is None else f"{key.used:,.0f}"
    left = "?" if key.left is None else f"{key.left:,.0f}"
    return (
        f"key: {limit} credits a month, {used} used, {left} left this month (asked {url}, "
        "no credits; --offline does not ask)"
    )
