"""What a request over MQTT may say: its JSON object, read with every bound applied, or a
`RequestError` whose message is the answer's `error`, one line naming what is wrong.

Requests come from anyone who may publish to the broker, so nothing in them is trusted: the
payload's size, the JSON's depth, every id and every amount are bounded here (amounts by
`bounds.py`, the same rules as the configuration), and what is refused is repeated cut short.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Final

from ..errors import CmcMqttError, ConfigError
from ..model.bounds import HOLDING_PLACES, MAX_HOLDING, parse_amount, shown
from ..model.coins import is_coin_id

MAX_IDS_PER_REQUEST: Final = 1000
MAX_REQUEST_BYTES: Final = 64 * 1024
MAX_TRANSACTION_CHARS: Final = 64
#: A transaction given as a number: JSON's safe integers, which every client reads exactly.
MAX_TRANSACTION_NUMBER: Final = 2**53
#: A refused request's transaction is only looked for in payloads this small (a flood of
#: large ones must not be parsed twice).
TRANSACTION_SCAN_BYTES: Final = 1024
Transaction = str | int | None


class RequestError(CmcMqttError):
    """A request that cannot be carried out; the message is the answer's `error`."""


def _parse_object(payload: bytes, example: str) -> tuple[dict[str, Any], Transaction]:
    """A request's JSON object and its transaction; `RequestError` naming what is wrong."""
    if len(payload) > MAX_REQUEST_BYTES:
        raise RequestError(f"bad payload: larger than {MAX_REQUEST_BYTES} bytes")
    try:
        body = json.loads(payload, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise RequestError(f"bad payload: expected JSON like {example}") from exc
    if not isinstance(body, dict):
        raise RequestError(f"bad payload: expected a JSON object like {example}")
    transaction = body.get("transaction")
    if not _is_transaction(transaction):
        raise RequestError(
            f"bad payload: transaction must be a string of at most {MAX_TRANSACTION_CHARS} "
            "characters or a whole number"
        )
    return body, transaction


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_transaction(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return len(value) <= MAX_TRANSACTION_CHARS
    return type(value) is int and abs(value) <= MAX_TRANSACTION_NUMBER


def parse_command(payload: bytes) -> Transaction:
    """The transaction of a request that takes no arguments (`republish`, `reconnect`)."""
    return _parse_object(payload, "{}")[1]


def parse_request(payload: bytes) -> tuple[list[int], Transaction]:
    """The ids and the transaction of a coins request; `RequestError` naming what is wrong."""
    body, transaction = _parse_object(payload, '{"ids": [1, 1027]}')
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids:
        raise RequestError('bad payload: "ids" must be a list of CoinMarketCap ids')
    if len(ids) > MAX_IDS_PER_REQUEST:
        raise RequestError(f"bad payload: at most {MAX_IDS_PER_REQUEST} ids per request")
    if not all(is_coin_id(cid) for cid in ids):
        raise RequestError('bad payload: "ids" must be positive whole numbers')
    return list(dict.fromkeys(ids)), transaction


def parse_holdings(payload: bytes) -> tuple[dict[int, Decimal], Transaction]:
    """The amounts by coin id and the transaction of a holdings request: each amount exact,
    from 0 (stop holding) up to `bounds.MAX_HOLDING` coins with `HOLDING_PLACES` decimals."""
    body, transaction = _parse_object(payload, '{"holdings": {"1": 0.25}}')
    holdings = body.get("holdings")
    if not isinstance(holdings, dict) or not holdings:
        raise RequestError('bad payload: "holdings" must be an object like {"1": 0.25}')
    if len(holdings) > MAX_IDS_PER_REQUEST:
        raise RequestError(f"bad payload: at most {MAX_IDS_PER_REQUEST} coins per request")
    amounts: dict[int, Decimal] = {}
    for key, value in holdings.items():
        if not (key.isascii() and key.isdigit() and len(key) <= 10 and is_coin_id(int(key))):
            raise RequestError(f"bad payload: {shown(key)} is not a CoinMarketCap id")
        try:
            amounts[int(key)] = parse_amount(
                value,
                f"holdings.{key}",
                maximum=MAX_HOLDING,
                places=HOLDING_PLACES,
                what="a number of coins",
            )
        except ConfigError as exc:
            raise RequestError(f"bad payload: {exc.problems[0]}") from exc
    return amounts, transaction


def parse_switch(payload: bytes) -> tuple[bool, Transaction]:
    """`{"enabled": true|false}`: the one argument of a request that turns something on or off."""
    body, transaction = _parse_object(payload, '{"enabled": false}')
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise RequestError('bad payload: "enabled" must be true or false')
    return enabled, transaction


def transaction_of(payload: bytes) -> Transaction:
    """The transaction of a request that could not be carried out, when it can still be
    found cheaply: from a small payload only, and cut short if it was too long (an answer
    never echoes more than a bounded amount of what a client sent)."""
    if len(payload) > TRANSACTION_SCAN_BYTES:
        return None
    try:
        body = json.loads(payload, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    value = body.get("transaction") if isinstance(body, dict) else None
    if isinstance(value, str):
        return value[:MAX_TRANSACTION_CHARS]
    return value if type(value) is int and abs(value) <= MAX_TRANSACTION_NUMBER else None
