"""A CoinMarketCap REST call that costs credits, reported to whoever counts them, so the bridge's
credit meter counts what CoinMarketCap bills and never less.

What is billed: an answered call (HTTP 200) costs what its `status.credit_count` says, and never
less than the documented price; an error answer costs nothing (CoinMarketCap's error envelope
carries `credit_count: 0`, and the simulator bills none). A call that got no answer (timed out,
connection lost, cancelled in flight) may have been billed before the answer was lost, so it is
counted at the documented price: the count errs on the side of cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..util.secret import Secret
from .client import Cancel, Cancelled, RestError, get_json

#: Told of each call that may have cost credits: (credits, the path called).
Spend = Callable[[float, str], None]


def get_paid_json(
    base_url: str,
    path: str,
    params: dict[str, str | int],
    api_key: Secret,
    *,
    price: float,
    spend: Spend | None,
    timeout: float,
    cancel: Cancel | None = None,
) -> Any:
    """`rest.get_json`, telling `spend` what the call may have cost (see the module's text)."""
    if cancel is not None and cancel.cancelled:
        raise Cancelled  # never sent: nothing billed
    try:
        body = get_json(base_url, path, params, api_key, timeout=timeout, cancel=cancel)
    except RestError as exc:
        if exc.status is None and spend is not None:
            spend(price, path)
        raise
    if spend is not None:
        spend(max(price, credit_count(body)), path)
    return body


def credit_count(body: Any) -> float:
    """`status.credit_count` of an answer, 0 when it has none."""
    status = body.get("status") if isinstance(body, dict) else None
    count = status.get("credit_count") if isinstance(status, dict) else None
    if isinstance(count, bool) or not isinstance(count, int | float) or not count >= 0:
        return 0.0
    return float(count)
