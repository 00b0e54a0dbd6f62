"""The stream's requests as the fake answers them: ping, subscribe (all of a request or, past
the key's `sub_limit`, none of it), unsubscribe (some ids or the whole channel), unsubscribe_all.

It changes a connection's subscriptions under the hub's lock and asks the hub to push the coins
newly subscribed.
"""

from __future__ import annotations

import json
from typing import Any

from ..stream.frames import CHANNEL
from .connection import ServerConnection, ack, error_frame
from .hub import Hub
from .market import now_ms


def answer_request(hub: Hub, conn: ServerConnection, payload: bytes) -> None:
    """Answer one text frame from the client."""
    try:
        request = json.loads(payload)
    except ValueError:
        request = None
    if not isinstance(request, dict):
        conn.send(error_frame("2201", "PROTOCOL", "Invalid message format."))
        return
    conn.requests.append(request)
    request_id = request.get("id")
    method = request.get("method")
    behaviour = hub.behaviour
    if behaviour.stalled:
        return
    if method == "ping":
        if behaviour.answer_pings:
            pong = {"type": "pong", "id": request_id, "code": 0, "ts": now_ms()}
            conn.send(json.dumps(pong))
    elif method in ("subscribe", "unsubscribe"):
        _subscription(hub, conn, request, request_id, method)
    elif method == "unsubscribe_all":
        with hub.changing():
            conn.subscriptions.clear()
        conn.send(json.dumps(ack(request_id, 0, hub.limits.sub_limit)))
    else:
        conn.send(error_frame("2202", "PROTOCOL", "Unknown method.", request_id=request_id))


def _subscription(
    hub: Hub,
    conn: ServerConnection,
    request: dict[str, Any],
    request_id: Any,
    method: str,
) -> None:
    if request.get("channel") != CHANNEL:
        conn.send(error_frame("2301", "PROTOCOL", "Unknown channel.", request_id=request_id))
        return
    params = request.get("params")
    ids = params.get("crypto_ids") if isinstance(params, dict) else None
    valid = isinstance(ids, list) and all(type(i) is int for i in ids)
    if method == "subscribe":
        if hub.behaviour.subscribe_error is not None:
            code = hub.behaviour.subscribe_error
            conn.send(error_frame(code, "AUTH", f"Error {code}.", request_id=request_id))
            return
        if not valid:
            detail = f"Param 'crypto_ids' is required for channel '{CHANNEL}'."
            conn.send(
                error_frame(
                    "2401", "PROTOCOL", "Missing required param for channel.", detail,
                    request_id=request_id,
                )
            )  # fmt: skip
            return
        _subscribe(hub, conn, request_id, ids)  # type: ignore[arg-type]  # checked above
        return
    if (params is not None and not isinstance(params, dict)) or (ids is not None and not valid):
        detail = "Param 'crypto_ids' must be a list of integers."
        conn.send(error_frame("2402", "PROTOCOL", "Invalid param.", detail, request_id=request_id))
        return
    with hub.changing():
        if ids is None:
            conn.subscriptions.clear()  # no ids: the whole channel
        else:
            conn.subscriptions.remove(ids)
    conn.send(json.dumps(ack(request_id, conn.sub_count, hub.limits.sub_limit)))


def _subscribe(hub: Hub, conn: ServerConnection, request_id: Any, ids: list[int]) -> None:
    """All of the request or, past the limit, none of it (error 2303)."""
    limits = hub.limits
    with hub.changing():
        subs = conn.subscriptions
        growth = subs.growth(ids)
        if subs.count + growth > limits.sub_limit:
            growth = -1
        else:
            duplicate = bool(subs.ids) and set(ids) <= subs.ids
            subs.add(ids)
            sub_count = subs.count
    if growth < 0:
        conn.send(
            error_frame(
                "2303", "LIMIT", "Subscription limit reached.",
                f"sub_limit={limits.sub_limit}", request_id=request_id,
            )
        )  # fmt: skip
        return
    for cid in ids:
        hub.schedule(cid)
    refusal = None
    if growth and limits.credits_per_subscription and conn.ledger is not None:
        credits = growth * limits.credits_per_subscription
        conn.bill(0, credits)
        refusal = conn.ledger.charge(credits)  # billed before the ack: tests read it after
    conn.send(json.dumps(ack(request_id, sub_count, limits.sub_limit, duplicate=duplicate)))
    if refusal is not None and conn.ledger is not None:
        hub.keys.refuse_key(conn.ledger, refusal)
    if hub.behaviour.flood_frames and ids:
        hub.start_flood(conn, list(ids))
