"""Server frames in, typed frames out; anything unusable becomes a `FrameError`.

This is the one boundary where untrusted stream text is judged. Numbers keep the exact text the
server sent (`81187.93284788371`, `0.00001234`), so MQTT subscribers see what CoinMarketCap
published, not a re-rendered float such as `1.234e-05`; a number the server did write in
exponent form (`1.234E-5`) is written out as the same exact decimal (`0.00001234`). Every
field is bounded by the field table (`Field.minimum`, `Field.maximum`) and its text by
`MAX_FIELD_TEXT`: a corrupt or hostile value is dropped alone, never published.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, NamedTuple

from ..errors import FrameError
from ..model.fields import FIELDS

CHANNEL: Final = "market@crypto_latest_price"
#: Real frames are under 1 KiB; anything far larger is hostile or broken and is not parsed.
MAX_FRAME_BYTES: Final = 64 * 1024
DEFAULT_PING_INTERVAL_MS: Final = 10_000
_KNOWN_DATA_KEYS: Final = frozenset(f.key for f in FIELDS) | {"cid"}
_FIELD_LIMITS: Final = tuple(
    (f.key, -math.inf if f.minimum is None else f.minimum, f.maximum) for f in FIELDS
)
#: The longest number text a field may be published as: a double has at most 17 significant
#: digits, so anything longer is not a price but padding (or an attack on every subscriber).
MAX_FIELD_TEXT: Final = 40


class NumberText(str):
    """A JSON number kept as its source text; a plain `str` came from a JSON string instead."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Welcome:
    ping_interval_ms: int


@dataclass(frozen=True, slots=True)
class Ack:
    request_id: int | None
    code: int | str | None
    message: str
    sub_count: int | None
    sub_limit: int | None
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Pong:
    request_id: int | None
    ts: int | None


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    request_id: int | None
    code: str
    category: str
    message: str
    detail: str


class QuoteFrame(NamedTuple):
    """One coin's quote. `texts` holds the exact payload text of the fields the frame carried as
    numbers (nulls and absent keys are left out); each was checked finite and plausible. A named
    tuple, not a frozen dataclass like the rarer frames: one is made for every frame, and a
    tuple is made in a third of the time."""

    cid: int
    ts: int | None
    texts: dict[str, str]
    unknown_keys: tuple[str, ...] = ()
    #: Fields that were present but implausible, with why: dropped, the others kept.
    rejected: tuple[tuple[str, str], ...] = ()


ServerFrame = Welcome | Ack | Pong | ErrorFrame | QuoteFrame


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


#: One decoder for every frame: `json.loads` with options builds a new one per call (a third
#: of the cost of decoding a quote frame).
_DECODE: Final = json.JSONDecoder(parse_float=NumberText, parse_constant=_reject_constant).decode


def parse_frame(payload: bytes | str) -> ServerFrame:
    """Decode one text frame from the server (UTF-8: RFC 6455 text frames are nothing else)."""
    if len(payload) > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        obj = _DECODE(payload.decode() if isinstance(payload, bytes) else payload)
    except (ValueError, RecursionError) as exc:
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; deep nesting is RecursionError.
        # Not chained: the cause holds the whole hostile frame (`doc`), and a FrameError is
        # counted and dropped, never raised further.
        raise FrameError(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(obj, dict):
        raise FrameError(f"frame is a JSON {type(obj).__name__}, not an object")
    kind = obj.get("type")
    if kind == "data":
        return _quote(obj)
    if kind == "pong":
        return Pong(_opt_int(obj.get("id")), _opt_int(obj.get("ts")))
    if kind == "ack":
        return Ack(
            request_id=_opt_int(obj.get("id")),
            code=_code(obj.get("code")),
            message=str(obj.get("msg", "")),
            sub_count=_opt_int(obj.get("sub_count")),
            sub_limit=_opt_int(obj.get("sub_limit")),
            duplicate=obj.get("duplicate") is True,
        )
    if kind == "error":
        return _error(obj)
    if kind == "welcome":
        interval = _opt_int(obj.get("ping_interval_ms"))
        if interval is None or interval <= 0:
            interval = DEFAULT_PING_INTERVAL_MS
        return Welcome(min(max(interval, 1000), 300_000))
    raise FrameError(f"unknown frame type {str(kind)[:40]!r}")


def _quote(obj: dict[str, Any]) -> QuoteFrame:
    if obj.get("channel") != CHANNEL:
        raise FrameError(f"data for unexpected channel {str(obj.get('channel'))[:60]!r}")
    data = obj.get("data")
    if not isinstance(data, dict):
        raise FrameError("data frame without a data object")
    cid = data.get("cid")
    if type(cid) is not int or not 0 < cid < 2**31:
        raise FrameError(f"bad cid {str(cid)[:40]!r}")
    texts: dict[str, str] = {}
    rejected: list[tuple[str, str]] | None = None  # made only for a frame with a bad field
    for key, minimum, maximum in _FIELD_LIMITS:
        value = data.get(key)
        if value is None:
            continue
        # The common case, inline (13 fields of every frame): a plain decimal text, or a
        # whole number, within the field's bounds. Anything else is judged by _field_text.
        kind = type(value)
        if kind is NumberText:
            text = value  # kept only until the state stores it as bytes
            plain = len(text) <= MAX_FIELD_TEXT and "e" not in text and "E" not in text
            if plain and minimum <= float(text) <= maximum:
                texts[key] = text
                continue
        elif kind is int and minimum <= value <= maximum:
            texts[key] = str(value)
            continue
        text, problem = _field_text(value, minimum, maximum)
        if problem is not None:
            rejected = rejected or []
            rejected.append((key, problem))
        else:
            texts[key] = text
    if rejected and not texts:
        key, problem = rejected[0]
        raise FrameError(f"coin {cid}: no usable field ({key!r} {problem})")
    unknown: tuple[str, ...] = ()
    if data.keys() - _KNOWN_DATA_KEYS:  # in C: a frame seldom carries a key we do not know
        unknown = tuple(k for k in data if k not in _KNOWN_DATA_KEYS)
    return QuoteFrame(cid, _opt_int(obj.get("ts")), texts, unknown, tuple(rejected or ()))


def _field_text(value: Any, minimum: float, maximum: float) -> tuple[str, str | None]:
    """A field's exact text, or why it cannot be used (one bad field drops only itself: a
    wrong market cap must not freeze the coin's price)."""
    kind = type(value)
    if kind is NumberText:
        text = str.__str__(value)
    elif kind is int:
        text = str(value)
    else:
        return "", f"is a {kind.__name__}, not a number"
    if len(text) > MAX_FIELD_TEXT:
        return "", f"has {len(text)} characters, more than {MAX_FIELD_TEXT}"
    try:
        number = float(text)
    except (OverflowError, ValueError):
        return "", "is out of range"
    if not math.isfinite(number):
        return "", "is not finite"
    if number < minimum:
        return "", f"= {text[:40]} is below {minimum:g}"
    if number > maximum:
        return "", f"= {text[:40]} is above {maximum:g}"
    if "e" in text or "E" in text:
        exact = Decimal(text)
        if not exact:
            return "0", None  # `0e-99999999` written out would be a hundred million zeros
        # Bounded above already; a tiny value written out could still run to any length.
        if exact.adjusted() < -MAX_FIELD_TEXT:
            return "", f"= {text} has more than {MAX_FIELD_TEXT} digits written out"
        text = f"{exact:f}"  # the same number, written out
        if len(text) > MAX_FIELD_TEXT:
            return "", f"= {text[:40]} has more than {MAX_FIELD_TEXT} digits written out"
    return text, None


def _error(obj: dict[str, Any]) -> ErrorFrame:
    status = obj.get("status")
    if not isinstance(status, dict):
        status = {}
    return ErrorFrame(
        request_id=_opt_int(obj.get("id")),
        code=str(status.get("error_code", obj.get("code", "")))[:20],
        category=str(status.get("category", ""))[:40],
        message=str(status.get("error_message", obj.get("msg", "")))[:300],
        detail=str(status.get("error_detail", ""))[:300],
    )


def _opt_int(value: Any) -> int | None:
    return value if type(value) is int else None


def _code(value: Any) -> int | str | None:
    if type(value) is int or isinstance(value, str):
        return value
    return None
