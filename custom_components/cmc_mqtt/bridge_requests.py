"""Asking the bridge over MQTT: a request on `<prefix>/bridge/request/<action>` carries a
transaction id, and the answer with that id comes on `<prefix>/bridge/response/<action>`.

The response topics are subscribed to once, when the entry is set up (`async_subscribe_answers`):
Home Assistant sends new subscriptions after a short delay, and an answer can come sooner.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback

from . import const
from .data import CmcMqttData

#: The bridge's reasons for refusing (the start of its `error`), by translation key.
REASONS: Final = {
    "limit reached": "limit_reached",
    "over budget": "over_budget",
    "unknown id": "unknown_id",
    "not streaming": "not_streaming",
    "not streamed": "not_streamed",
    "bad payload": "bad_payload",
}


class BridgeRequestError(Exception):
    """The bridge refused (`reason` is a translation key, `detail` its own words), or did not
    answer in time (`reason` "no_answer")."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


def reason_of(error: str) -> str:
    return next((key for start, key in REASONS.items() if error.startswith(start)), "refused")


async def async_subscribe_answers(hass: HomeAssistant, data: CmcMqttData) -> Callable[[], None]:
    @callback
    def answered(message: mqtt.ReceiveMessage) -> None:
        try:
            answer = json.loads(message.payload)
        except ValueError:
            return
        transaction = answer.get("transaction") if isinstance(answer, dict) else None
        waiting = data.pending.get(transaction) if isinstance(transaction, str) else None
        if waiting is not None and not waiting.done():
            waiting.set_result(answer)

    return await mqtt.async_subscribe(hass, f"{data.prefix}/bridge/response/#", answered)


async def async_request(
    hass: HomeAssistant, data: CmcMqttData, action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Ask the bridge and wait for its answer; its `data` when it said ok, else
    `BridgeRequestError`."""
    transaction = uuid.uuid4().hex
    waiting: asyncio.Future[dict[str, Any]] = hass.loop.create_future()
    data.pending[transaction] = waiting
    payload = json.dumps({**(body or {}), "transaction": transaction})
    try:
        await mqtt.async_publish(hass, f"{data.prefix}/bridge/request/{action}", payload)
        async with asyncio.timeout(const.REQUEST_TIMEOUT):
            answer = await waiting
    except TimeoutError:
        raise BridgeRequestError("no_answer") from None
    finally:
        data.pending.pop(transaction, None)
    if answer.get("status") != "ok":
        error = str(answer.get("error", ""))
        raise BridgeRequestError(reason_of(error), error)
    result = answer.get("data")
    return result if isinstance(result, dict) else {}
