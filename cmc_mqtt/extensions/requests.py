"""Requests over MQTT, zigbee2mqtt style: `<prefix>/bridge/request/<action>` with a JSON object,
answered on `<prefix>/bridge/response/<action>` with `status` `ok` or `error` (and `error`, the
reason), `data`, and the request's `transaction` echoed. Actions:

- `coins/add`, `coins/remove`: `{"ids": [...]}` changes the coins the bridge streams;
- `holdings/set`: `{"holdings": {"1": 0.25}}` sets the coins held (0 stops holding one), for
  coins the bridge streams;
- `republish`: `{}` announces everything to Home Assistant again and republishes every value;
- `reconnect`: `{}` closes the stream's connections and opens them again at once;
- `discovery/set`: `{"enabled": false}` turns the bridge's own Home Assistant discovery off
  (its configs cleared; remembered across restarts) or back on.

Anyone who may publish to the broker may send these: `[bridge] allow_requests = false` turns
them off. So nothing here trusts a request: a bad one changes nothing, is counted and answered
with the reason; each action has an allowance (`ratelimit.py`) and one beyond it is refused
`rate limited: retry in N s`; a request that would spend credits is checked against the budget
first; an id CoinMarketCap cannot confirm now is refused, never trusted. No request stays on the
broker: one that arrives retained (left there before the bridge subscribed) is refused and
cleared at once, and the topic of every request carried out is cleared within a second, so a
request published retained while the bridge runs is carried out once, never again.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from ..model.topics import Topics
from ..mqtt.extension import Extension, Outbox
from ..rest.client import REST_TIMEOUT_S, Cancel, RestError
from ..rest.names import fetch_map
from ..state.bridge_state import BridgeState
from ..state.coin_set import CoinSet
from ..state.holding_set import HoldingSet
from .announcer import HomeAssistantDiscovery
from .credit_watch import CreditWatch
from .ratelimit import RequestLimiter
from .request_payloads import (
    RequestError,
    Transaction,
    parse_command,
    parse_holdings,
    parse_request,
    parse_switch,
    transaction_of,
)

__all__ = ["BridgeRequests", "RequestError"]

if TYPE_CHECKING:
    from .parts import BridgeParts

LOG = logging.getLogger(__name__)
COIN_ACTIONS: Final = ("coins/add", "coins/remove")
HOLDINGS_ACTION: Final = "holdings/set"
DISCOVERY_ACTION: Final = "discovery/set"
#: How often refusals after the first are summed up in the log.
SUMMARY_EVERY_S: Final = 60.0

#: Checks ids before they are added: the ids CoinMarketCap does not know, or why it cannot be
#: asked now. Runs on the REST worker, never on the MQTT thread.
IdCheck = Callable[[list[int], Cancel], list[int] | str]
#: Whether adding these ids would pass the credit budget; a reason, or None.
BudgetCheck = Callable[[list[int]], str | None]
#: Whether reopening every connection (resubscribing every coin) would pass it.
ReconnectCheck = Callable[[], str | None]
#: Turns the bridge's own discovery on or off; returns whether it is on now.
DiscoverySwitch = Callable[[bool], bool]


class BridgeRequests(Extension):
    """Listens on the request topics and answers on the response topics."""

    def __init__(
        self,
        topics: Topics,
        coins: CoinSet,
        state: BridgeState,
        *,
        run_later: Callable[[Callable[[Cancel], object]], None],
        post: Callable[[str, str], None],
        check_ids: IdCheck | None = None,
        check_budget: BudgetCheck | None = None,
        check_reconnect: ReconnectCheck | None = None,
        republish: Callable[[], None] | None = None,
        reconnect: Callable[[], int] | None = None,
        holdings: HoldingSet | None = None,
        discovery: DiscoverySwitch | None = None,
        limiter: RequestLimiter | None = None,
    ) -> None:
        self._topics = topics
        self._request = topics.requests
        self._coins = coins
        self._state = state
        self._run_later = run_later
        self._post = post
        self._check_ids = check_ids
        self._check_budget = check_budget
        self._check_reconnect = check_reconnect
        self._republish = republish  # announce to Home Assistant again (any thread)
        self._reconnect = reconnect  # reopen the stream; how many connections (REST worker)
        self._holdings = holdings
        self._discovery = discovery
        self._limiter = limiter or RequestLimiter()
        self._actions = list(COIN_ACTIONS)
        self._actions += ["republish"] if republish is not None else []
        self._actions += ["reconnect"] if reconnect is not None else []
        self._actions += [HOLDINGS_ACTION] if holdings is not None else []
        self._actions += [DISCOVERY_ACTION] if discovery is not None else []
        self._to_clear: set[str] = set()  # request topics to clear on the next tick
        self._first_logged: set[str] = set()
        self._since_summary: Counter[str] = Counter()
        self._next_summary = 0.0

    def on_connected(self, out: Outbox) -> None:
        for action in self._actions:
            out.subscribe(self._topics.request(action))

    def on_message(self, topic: str, payload: bytes, retained: bool, out: Outbox) -> None:
        if not topic.startswith(self._request):
            return
        action = topic.removeprefix(self._request)
        if action not in self._actions or not payload:  # empty: a retained request being cleared
            return
        if retained:
            # Left retained, a request would be carried out again on every connection: refuse
            # it, and take it off the broker.
            out.publish(topic, "", retain=True)
            self._refuse(action, RequestError("refused: requests must not be retained"), None)
            return
        self._to_clear.add(topic)  # in case it was published retained while we were online
        wait = self._limiter.wait(action)
        if wait is not None:
            self._state.count_rate_limited_request()
            error = RequestError(f"rate limited: retry in {wait} s")
            self._refuse(action, error, transaction_of(payload), kind="rate limited")
            return
        self._carry_out(action, payload, out)

    def tick(self, now: float, out: Outbox) -> None:
        for topic in sorted(self._to_clear):
            out.publish(topic, "", retain=True)
        self._to_clear.clear()
        if self._since_summary and now >= self._next_summary:
            self._next_summary = now + SUMMARY_EVERY_S
            counts = ", ".join(f"{kind}: {n}" for kind, n in sorted(self._since_summary.items()))
            LOG.info(
                "refused %d requests on %s# since the last report (%s); counted in bridge/info",
                sum(self._since_summary.values()),
                self._request,
                counts,
            )
            self._since_summary.clear()

    def _carry_out(self, action: str, payload: bytes, out: Outbox) -> None:
        try:
            if action in COIN_ACTIONS:
                ids, transaction = parse_request(payload)
                if action == "coins/add":
                    self._run_later(lambda cancel: self._add(ids, transaction, cancel))
                else:
                    self._run_later(lambda _cancel: self._remove(ids, transaction))
            elif action == HOLDINGS_ACTION and (holdings := self._holdings) is not None:
                amounts, transaction = parse_holdings(payload)
                # After any coins request before it: a coin added in the same breath streams.
                self._run_later(lambda _c: self._set_holdings(holdings, amounts, transaction))
            elif action == DISCOVERY_ACTION and (switch := self._discovery) is not None:
                enabled, transaction = parse_switch(payload)
                self._switch_discovery(switch, enabled, transaction)
            elif action == "republish" and self._republish is not None:
                transaction = parse_command(payload)
                LOG.info("republish requested over MQTT: announcing everything again")
                self._republish()
                out.republish_state()
                self._answer(action, {"status": "ok", "data": {}}, transaction)
            elif action == "reconnect" and (reconnect := self._reconnect) is not None:
                transaction = parse_command(payload)
                self._run_later(lambda _cancel: self._reopen(reconnect, transaction))
        except RequestError as exc:
            self._refuse(action, exc, transaction_of(payload))

    # --- carried out on the REST worker, in the order they came ---------------------------------

    def _reopen(self, reconnect: Callable[[], int], transaction: Transaction) -> None:
        if self._check_reconnect is not None and (reason := self._check_reconnect()) is not None:
            self._refuse("reconnect", RequestError(f"over budget: {reason}"), transaction)
            return
        opened = reconnect()
        if not opened:
            reason = "not streaming: no connection is open (no coins, or the budget stopped it)"
            self._refuse("reconnect", RequestError(reason), transaction)
            return
        LOG.info("reconnect requested over MQTT: reopened %d stream connections", opened)
        self._answer("reconnect", {"status": "ok", "data": {"connections": opened}}, transaction)

    def _add(self, ids: list[int], transaction: Transaction, cancel: Cancel) -> None:
        known = set(self._coins.ids)
        new = [cid for cid in ids if cid not in known]
        if self._check_budget is not None and new:
            reason = self._check_budget(new)
            if reason is not None:
                self._refuse("coins/add", RequestError(f"over budget: {reason}"), transaction)
                return
        if self._check_ids is not None and new:
            unknown = self._check_ids(new, cancel)
            if isinstance(unknown, str):  # CoinMarketCap could not be asked: trust nothing
                error = RequestError(f"cannot verify now: {unknown}; nothing was added")
                self._refuse("coins/add", error, transaction)
                return
            if unknown:
                listed = ", ".join(map(str, unknown))
                self._refuse("coins/add", RequestError(f"unknown id: {listed}"), transaction)
                return
        change = self._coins.add(new)
        if change.left_out and not change.applied:
            error = RequestError(
                "limit reached: no room on this key's connections for "
                + ", ".join(map(str, change.left_out))
            )
            self._refuse("coins/add", error, transaction)
            return
        data: dict[str, Any] = {"ids": list(change.applied), "coins": list(self._coins.ids)}
        if change.left_out:
            data["left_out"] = list(change.left_out)
        self._answer("coins/add", {"status": "ok", "data": data}, transaction)

    def _remove(self, ids: list[int], transaction: Transaction) -> None:
        change = self._coins.remove(ids)
        data = {"ids": list(change.applied), "coins": list(self._coins.ids)}
        self._answer("coins/remove", {"status": "ok", "data": data}, transaction)

    def _set_holdings(
        self, holdings: HoldingSet, amounts: dict[int, Decimal], transaction: Transaction
    ) -> None:
        streamed = set(self._coins.ids)
        missing = [cid for cid, amount in amounts.items() if amount and cid not in streamed]
        if missing:
            listed = ", ".join(map(str, missing))
            error = RequestError(f"not streamed: {listed} (add the coin first: coins/add)")
            self._refuse(HOLDINGS_ACTION, error, transaction)
            return
        holdings.set(amounts)
        answer = {"status": "ok", "data": {"holdings": holdings.report()}}
        self._answer(HOLDINGS_ACTION, answer, transaction)

    # --- on the MQTT thread -------------------------------------------------------------------

    def _switch_discovery(
        self, switch: DiscoverySwitch, enabled: bool, transaction: Transaction
    ) -> None:
        now_on = switch(enabled)
        answer = {"status": "ok", "data": {"enabled": now_on}}
        self._answer(DISCOVERY_ACTION, answer, transaction)

    # --- answers --------------------------------------------------------------------------------

    def _refuse(
        self,
        action: str,
        error: RequestError,
        transaction: Transaction,
        *,
        kind: str = "refused",
    ) -> None:
        """Count, log (the first of each kind at once, the rest summed up once a minute) and
        answer, unless a flood has used up the answers for now."""
        self._state.count_refused_request()
        if kind not in self._first_logged:
            self._first_logged.add(kind)
            LOG.warning(
                "refused a request on %s%s (%s); further ones are counted in bridge/info "
                "and summed up here once a minute",
                self._request,
                action,
                error,
            )
        else:
            self._since_summary[kind] += 1
            if not self._next_summary:
                self._next_summary = time.monotonic() + SUMMARY_EVERY_S
        if self._limiter.may_answer():
            answer = {"status": "error", "error": str(error), "data": {}}
            self._answer(action, answer, transaction)

    def _answer(self, action: str, answer: dict[str, Any], transaction: Transaction) -> None:
        if transaction is not None:
            answer["transaction"] = transaction
        self._post(self._topics.response(action), json.dumps(answer, separators=(",", ":")))


def id_check(parts: BridgeParts) -> IdCheck:
    """Ids CoinMarketCap's map does not list, asked on the REST worker; why it cannot tell,
    when it cannot now (then nothing is added: unverified ids are not trusted)."""
    settings, names = parts.settings, parts.names

    def unknown(ids: list[int], cancel: Cancel) -> list[int] | str:
        key, url = settings.stream.api_key, settings.names.rest_url
        try:
            found = fetch_map(key, url, set(ids), REST_TIMEOUT_S, cancel)
        except (RestError, TypeError) as exc:
            return f"CoinMarketCap's coin map did not answer ({exc})"
        names.update(found.values())
        return [cid for cid in ids if cid not in found]

    return unknown


def build(parts: BridgeParts) -> BridgeRequests | None:
    """Unless `[bridge] allow_requests = false`. Ids are checked with CoinMarketCap's map when
    REST calls are allowed (`lookup_names`); holdings can be set when the bridge values them."""
    settings = parts.settings
    if not settings.bridge.allow_requests:
        return None
    announcer, watch = parts.find(HomeAssistantDiscovery), parts.find(CreditWatch)
    budget = watch.budget if watch is not None else None
    money = parts.money
    return BridgeRequests(
        parts.topics,
        parts.coins,
        parts.state,
        run_later=parts.rest.schedule,
        post=parts.post,
        check_ids=id_check(parts) if settings.names.lookup else None,
        check_budget=budget.adding if budget is not None else None,
        check_reconnect=budget.reconnecting if budget is not None else None,
        republish=announcer.refresh_all if announcer is not None else None,
        reconnect=parts.stream.reconnect,
        holdings=money.holding_set if money.valuation is not None else None,
        discovery=parts.discovery_switch.set,
        limiter=parts.request_limiter,
    )
