"""Asking the bridge over MQTT: a request on `<prefix>/bridge/request/<action>` carries a
transaction id, and the answer with that id comes on `<prefix>/bridge/response/<action>`.

The response topics are subscribed to once, when the entry is set up (`async_subscribe_answers`):
Home Assistant sends new subscriptions after a short delay, and an answer can come sooner.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from . import const
from .data import CmcMqttData
from .info import parse_report
from .names import clean_text

#: The bridge's words shown with a refusal are cut to this many characters.
ERROR_LIMIT: Final = 300
#: The bridge's reasons for refusing (the start of its `error`), by translation key.
REASONS: Final = {
    "limit reached": "limit_reached",
    "over budget": "over_budget",
    "unknown id": "unknown_id",
    "not streaming": "not_streaming",
    "not streamed": "not_streamed",
    "bad payload": "bad_payload",
    "rate limited": "rate_limited",
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


@contextmanager
def translated() -> Iterator[None]:
    """Where a request is made for an action (a button, a repair): the bridge's refusal or
    silence as Home Assistant's error, in the user's language, the bridge's words kept."""
    try:
        yield
    except BridgeRequestError as exc:
        raise HomeAssistantError(
            translation_domain=const.DOMAIN,
            translation_key=f"request_{exc.reason}",
            translation_placeholders={"error": exc.detail},
        ) from exc


async def async_subscribe_answers(hass: HomeAssistant, data: CmcMqttData) -> Callable[[], None]:
    @callback
    def answered(message: mqtt.ReceiveMessage) -> None:
        answer = parse_report(message.payload)
        if answer is None:
            return
        transaction = answer.get("transaction")
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
    except TimeoutError as exc:
        raise BridgeRequestError("no_answer") from exc
    finally:
        data.pending.pop(transaction, None)
    if answer.get("status") != "ok":
        error = clean_text(answer.get("error"), ERROR_LIMIT) or ""
        raise BridgeRequestError(reason_of(error), error)
    result = answer.get("data")
    return result if isinstance(result, dict) else {}
