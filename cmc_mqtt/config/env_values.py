"""A `CMC_MQTT_*` variable's text as the typed value its option takes: a number, a boolean, a
list, a table, or a whole section as JSON.

Numbers are read as ASCII digits only (`int()` would also take "١٨٨٣" and choke on 5,000
digits), and JSON values as the configuration's own bounds allow (no NaN, no deep nesting).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Final

from ..model import bounds
from .validators import too_deep

#: The most digits a whole number may have: every integer option fits in 64 bits.
MAX_INT_DIGITS: Final = 19
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


class BadValue(Exception):
    """A variable's text is not a value of its option's kind; the message says what was wanted."""


def _json(text: str) -> Any:
    """JSON as config takes it: no NaN or Infinity, no number too long to read, no nesting
    deeper than config's bound."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadValue("is not valid JSON") from exc
    except ValueError as exc:  # NaN, or an integer past Python's 4,300-digit limit
        raise BadValue("is not valid JSON (NaN, Infinity or a number too long)") from exc
    except RecursionError as exc:
        raise BadValue("is nested too deeply") from exc
    if too_deep(value):
        raise BadValue("is nested too deeply")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _int(text: str) -> int:
    stripped = text.strip()
    if not _INTEGER.fullmatch(stripped):
        raise BadValue("expected an integer")
    if len(stripped.lstrip("+-")) > MAX_INT_DIGITS:
        raise BadValue(f"expected an integer of at most {MAX_INT_DIGITS} digits")
    return int(stripped)


def _number(text: str) -> int | float:
    """An integer, or a decimal number in ASCII (`0.5`, `1e3`); one that a float cannot hold
    (`1e400`, or `1e-400`, which would become 0) is refused, not rounded to something else."""
    stripped = text.strip()
    if _INTEGER.fullmatch(stripped):
        return _int(stripped)
    if len(stripped) > bounds.MAX_NUMBER_TEXT or not _DECIMAL.fullmatch(stripped):
        raise BadValue("expected a number")
    value = float(stripped)
    if not math.isfinite(value) or (value == 0 and any(c in "123456789" for c in stripped)):
        raise BadValue("expected a number a float can hold")
    return value


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadValue("expected true or false")


def _list(text: str, item: type) -> list[Any]:
    """`1,1027` or JSON `[1, 1027]`; items are checked here, their ranges by the schema."""
    stripped = text.strip()
    if not stripped.startswith("["):
        parts = [part.strip() for part in stripped.split(",") if part.strip()]
        return [_int(part) for part in parts] if item is int else parts
    value = _json(stripped)
    if not isinstance(value, list) or not all(
        isinstance(v, item) and not isinstance(v, bool) for v in value
    ):
        raise BadValue(f"expected a JSON list of {'integers' if item is int else 'strings'}")
    return value


def _coins(text: str) -> list[int | str]:
    """`1,1027`, `BTC,ETH` or JSON `[1, "ETH"]`: ids and symbols (`coin_ids.resolve` reads a
    symbol); a word of digits is an id."""
    stripped = text.strip()
    if not stripped.startswith("["):
        parts = [part.strip() for part in stripped.split(",") if part.strip()]
        return [_int(part) if _INTEGER.fullmatch(part) else part for part in parts]
    value = _json(stripped)
    if not isinstance(value, list) or not all(
        isinstance(v, int | str) and not isinstance(v, bool) for v in value
    ):
        raise BadValue("expected a JSON list of coin ids and symbols")
    return value


def _table(text: str) -> dict[str, Any]:
    value = _json(text)
    if not isinstance(value, dict):
        raise BadValue('expected a JSON object, e.g. {"1": "bitcoin_icon"}')
    return value


def json_section(text: str, shape: str) -> Any:
    value = _json(text)
    expected = list if shape == "list" else dict
    if not isinstance(value, expected):
        raise BadValue(f"expected a JSON {'list' if expected is list else 'object'}")
    return value


CONVERTERS: Final[dict[str, Callable[[str], Any]]] = {
    "str": str,
    "int": _int,
    "number": _number,
    "bool": _bool,
    "int_list": lambda text: _list(text, int),
    "str_list": lambda text: _list(text, str),
    "coin_list": _coins,
    "table": _table,
}
