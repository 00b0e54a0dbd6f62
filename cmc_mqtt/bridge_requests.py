"""Requests over MQTT, zigbee2mqtt style: `<prefix>/bridge/request/<action>` with a JSON object,
answered on `<prefix>/bridge/response/<action>` with `status` `ok` or `error` (and `error`, the
reason), `data`, and the request's `transaction` echoed. Actions:

- `coins/add`, `coins/remove`: `{"ids": [...]}` changes the coins the bridge streams;
- `holdings/set`: `{"holdings": {"1": 0.25}}` sets the coins held (0 stops holding one), for
  coins the bridge streams;
- `republish`: `{}` announces everything to Home Assistant again and republishes every value;
- `reconnect`: `{}` closes the stream's connections and opens them again at once.

Anyone who may publish to the broker may send these: `[bridge] allow_requests = false` turns
them off. A bad request changes nothing, is counted, and is answered with the reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from .coinset import CoinSet
from .errors import ConfigError
from .extension import Extension, Outbox
from .holdingset import HoldingSet
from .portfolio import parse_holding
from .rest import Cancel
from .state import BridgeState

LOG = logging.getLogger(__name__)
MAX_IDS_PER_REQUEST: Final = 1000
MAX_REQUEST_BYTES: Final = 64 * 1024
COIN_ACTIONS: Final = ("coins/add", "coins/remove")
HOLDINGS_ACTION: Final = "holdings/set"

#: Checks ids before they are added: returns the ids CoinMarketCap does not know (or None when
#: that cannot be told now). Runs on the REST worker, never on the MQTT thread.
IdCheck = Callable[[list[int], Cancel], list[int] | None]
#: Whether adding these ids would pass the credit budget; a reason, or None.
BudgetCheck = Callable[[list[int]], str | None]


class RequestError(ValueError):
    """A request that cannot be carried out; the message is the answer's `error`."""


def _parse_object(payload: bytes, example: str) -> tuple[dict[str, Any], Any]:
    """A request's JSON object and its transaction; `RequestError` naming what is wrong."""
    if len(payload) > MAX_REQUEST_BYTES:
        raise RequestError(f"bad payload: larger than {MAX_REQUEST_BYTES} bytes")
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        raise RequestError(f"bad payload: expected JSON like {example}") from None
    if not isinstance(body, dict):
        raise RequestError(f"bad payload: expected a JSON object like {example}")
    transaction = body.get("transaction")
    if (transaction is not None and not isinstance(transaction, str | int)) or (
        isinstance(transaction, str) and len(transaction) > 64
    ):
        raise RequestError("bad payload: transaction must be a short string or a number")
    return body, transaction


def parse_command(payload: bytes) -> Any:
    """The transaction of a request that takes no arguments (`republish`, `reconnect`)."""
    return _parse_object(payload, "{}")[1]


def parse_request(payload: bytes) -> tuple[list[int], Any]:
    """The ids and the transaction of a coins request; `RequestError` naming what is wrong."""
    body, transaction = _parse_object(payload, '{"ids": [1, 1027]}')
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids:
        raise RequestError('bad payload: "ids" must be a list of CoinMarketCap ids')
    if len(ids) > MAX_IDS_PER_REQUEST:
        raise RequestError(f"bad payload: at most {MAX_IDS_PER_REQUEST} ids per request")
    if not all(type(cid) is int and 0 < cid < 2**31 for cid in ids):
        raise RequestError('bad payload: "ids" must be positive whole numbers')
    return list(dict.fromkeys(ids)), transaction


def parse_holdings(payload: bytes) -> tuple[dict[int, Decimal], Any]:
    """The amounts by coin id and the transaction of a holdings request."""
    body, transaction = _parse_object(payload, '{"holdings": {"1": 0.25}}')
    holdings = body.get("holdings")
    if not isinstance(holdings, dict) or not holdings:
        raise RequestError('bad payload: "holdings" must be an object like {"1": 0.25}')
    if len(holdings) > MAX_IDS_PER_REQUEST:
        raise RequestError(f"bad payload: at most {MAX_IDS_PER_REQUEST} coins per request")
    amounts: dict[int, Decimal] = {}
    for key, value in holdings.items():
        if not (key.isascii() and key.isdigit() and 0 < int(key) < 2**31):
            raise RequestError(f"bad payload: {key[:20]!r} is not a CoinMarketCap id")
        try:
            amounts[int(key)] = parse_holding(value, f"holdings.{key}")
        except ConfigError as exc:
            raise RequestError(f"bad payload: {exc.problems[0]}") from None
    return amounts, transaction


def _transaction_of(payload: bytes) -> Any:
    """The transaction of a request that could not be parsed, when it can still be found."""
    try:
        body = json.loads(payload[:MAX_REQUEST_BYTES])
    except (ValueError, RecursionError):
        return None
    value = body.get("transaction") if isinstance(body, dict) else None
    return value if isinstance(value, str | int) else None


class BridgeRequests(Extension):
    """Listens on the request topics and answers on the response topics."""

    def __init__(
        self,
        prefix: str,
        coins: CoinSet,
        state: BridgeState,
        *,
        run_later: Callable[[Callable[[Cancel], object]], None],
        post: Callable[[str, str], None],
        check_ids: IdCheck | None = None,
        check_budget: BudgetCheck | None = None,
        republish: Callable[[], None] | None = None,
        reconnect: Callable[[], int] | None = None,
        holdings: HoldingSet | None = None,
    ) -> None:
        self._request = f"{prefix}/bridge/request/"
        self._response = f"{prefix}/bridge/response/"
        self._coins = coins
        self._state = state
        self._run_later = run_later
        self._post = post
        self._check_ids = check_ids
        self._check_budget = check_budget
        self._republish = republish  # announce to Home Assistant again (any thread)
        self._reconnect = reconnect  # reopen the stream; how many connections (REST worker)
        self._holdings = holdings
        self._actions = list(COIN_ACTIONS)
        self._actions += ["republish"] if republish is not None else []
        self._actions += ["reconnect"] if reconnect is not None else []
        self._actions += [HOLDINGS_ACTION] if holdings is not None else []
        self._bad_logged = False

    def on_connected(self, out: Outbox) -> None:
        for action in self._actions:
            out.subscribe(self._request + action)

    def on_message(self, topic: str, payload: bytes, retained: bool, out: Outbox) -> None:
        if not topic.startswith(self._request):
            return
        action = topic.removeprefix(self._request)
        if action not in self._actions or not payload:  # empty: a retained request being cleared
            return
        if retained:
            # A request left retained would be carried out again on every connection: refuse
            # it, and take it off the broker.
            out.publish(topic, "", retain=True)
            self._refuse(action, RequestError("refused: requests must not be retained"), None)
            return
        if action in COIN_ACTIONS:
            self._coins_request(action, payload)
            return
        if action == HOLDINGS_ACTION and (holdings := self._holdings) is not None:
            self._holdings_request(holdings, payload)
            return
        try:
            transaction = parse_command(payload)
        except RequestError as exc:
            self._refuse(action, exc, _transaction_of(payload))
            return
        if action == "republish" and self._republish is not None:
            LOG.info("republish requested over MQTT: announcing everything again")
            self._republish()
            out.republish_state()
            self._answer(action, {"status": "ok", "data": {}}, transaction)
        elif action == "reconnect" and (reconnect := self._reconnect) is not None:
            self._run_later(lambda _cancel: self._reopen(reconnect, transaction))

    def _coins_request(self, action: str, payload: bytes) -> None:
        try:
            ids, transaction = parse_request(payload)
        except RequestError as exc:
            self._refuse(action, exc, _transaction_of(payload))
            return
        if action == "coins/add":
            self._run_later(lambda cancel: self._add(ids, transaction, cancel))
        else:
            self._run_later(lambda _cancel: self._remove(ids, transaction))

    def _holdings_request(self, holdings: HoldingSet, payload: bytes) -> None:
        try:
            amounts, transaction = parse_holdings(payload)
        except RequestError as exc:
            self._refuse(HOLDINGS_ACTION, exc, _transaction_of(payload))
            return
        # After any coins request before it: a coin added in the same breath is streamed.
        self._run_later(lambda _cancel: self._set_holdings(holdings, amounts, transaction))

    # --- carried out on the REST worker, in the order they came ---------------------------------

    def _reopen(self, reconnect: Callable[[], int], transaction: Any) -> None:
        opened = reconnect()
        if not opened:
            reason = "not streaming: no connection is open (no coins, or the budget stopped it)"
            self._refuse("reconnect", RequestError(reason), transaction)
            return
        LOG.info("reconnect requested over MQTT: reopened %d stream connections", opened)
        self._answer("reconnect", {"status": "ok", "data": {"connections": opened}}, transaction)

    def _add(self, ids: list[int], transaction: Any, cancel: Cancel) -> None:
        known = set(self._coins.ids)
        new = [cid for cid in ids if cid not in known]
        if self._check_budget is not None and new:
            reason = self._check_budget(new)
            if reason is not None:
                self._refuse("coins/add", RequestError(f"over budget: {reason}"), transaction)
                return
        unknown = self._check_ids(new, cancel) if self._check_ids is not None and new else None
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

    def _remove(self, ids: list[int], transaction: Any) -> None:
        change = self._coins.remove(ids)
        data = {"ids": list(change.applied), "coins": list(self._coins.ids)}
        self._answer("coins/remove", {"status": "ok", "data": data}, transaction)

    def _set_holdings(
        self, holdings: HoldingSet, amounts: dict[int, Decimal], transaction: Any
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

    def _refuse(self, action: str, error: RequestError, transaction: Any) -> None:
        self._state.count_refused_request()
        if not self._bad_logged:
            self._bad_logged = True
            LOG.warning(
                "refused a request on %s%s (%s); further ones are counted in bridge/info",
                self._request,
                action,
                error,
            )
        else:
            LOG.debug("refused a request on %s%s: %s", self._request, action, error)
        answer = {"status": "error", "error": str(error), "data": {}}
        self._answer(action, answer, transaction)

    def _answer(self, action: str, answer: dict[str, Any], transaction: Any) -> None:
        if transaction is not None:
            answer["transaction"] = transaction
        self._post(self._response + action, json.dumps(answer, separators=(",", ":")))
