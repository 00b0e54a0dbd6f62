"""The key's own credit figures: `GET /v1/key/info` (documented as costing no credits), what the
meter holds its own count against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..util.secret import Secret
from .client import Cancel, RestError, get_json


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """The key's own figures, as `/v1/key/info` reported them."""

    used: float | None
    left: float | None
    limit: float | None
    day_used: float | None
    checked: str


def fetch_key_info(rest_url: str, api_key: Secret, *, timeout: float, cancel: Cancel) -> KeyInfo:
    """`GET /v1/key/info` (no credits). Raises `RestError` when it gives no usable answer."""
    body = get_json(rest_url, "/v1/key/info", {}, api_key, timeout=timeout, cancel=cancel)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise RestError("unexpected answer shape")
    plan, usage = _table(data, "plan"), _table(data, "usage")
    month, day = _table(usage, "current_month"), _table(usage, "current_day")
    return KeyInfo(
        used=_number(month.get("credits_used")),
        left=_number(month.get("credits_left")),
        limit=_number(plan.get("credit_limit_monthly")),
        day_used=_number(day.get("credits_used")),
        checked=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) and value >= 0 else None
