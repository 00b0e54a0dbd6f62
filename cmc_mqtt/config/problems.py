"""Problems, one line each: voluptuous's errors named by their key, and what of a refused
configuration is still valid, so the checks after the schema can run on it too.

A user fixes a configuration in one round trip: every problem is reported at once, each on one
line that names its key, never repeating a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import voluptuous as vol

from ..errors import ConfigError
from ..model import bounds
from ..util.spelling import close_spellings
from .schema import ROOT_SCHEMA, SECRET_KEYS
from .validators import MAX_DEPTH, MAX_LINE_CHARS, MAX_NAME_CHARS, too_deep

_MESSAGES: Final = {
    "extra keys not allowed": "unknown option",
    "required key not provided": "required",
    "expected a dictionary": "expected a table",
}


def one_line(problem: str) -> str:
    """`problem` as one line of at most `MAX_LINE_CHARS`: what would break the line (a key or
    value with a line break in it, from any module's message) is written as an escape."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in problem)
    return text if len(text) <= MAX_LINE_CHARS else text[: MAX_LINE_CHARS - 3] + "..."


def validate(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The schema's result (salvaged when it found problems) and its problems. A section
    nested too deeply is refused whole, before anything else looks into it."""
    deep = sorted(str(key) for key, value in raw.items() if too_deep(value, MAX_DEPTH - 1))
    reported = [f"{dotted([key])}: lists or tables nested too deeply" for key in deep]
    given = {key: value for key, value in raw.items() if str(key) not in deep}
    try:
        return ROOT_SCHEMA(given), reported
    except vol.MultipleInvalid as exc:
        found = sorted({_describe(err, given) for err in exc.errors})
        said = {key_of(line) for line in reported}
        reported += [line for line in found if not said_before(key_of(line), said)]
        return _salvage(ROOT_SCHEMA, given), reported


def collect(parse: Callable[[], Any], problems: list[str], fallback: Any) -> Any:
    """`parse()`, or its ConfigError's lines added to `problems` and `fallback`."""
    try:
        return parse()
    except ConfigError as exc:
        problems.extend(exc.problems)
        return fallback


def _salvage(schema: Any, raw: Any) -> Any:
    """What of `raw` passes `schema` key by key, with the defaults for the rest (a required
    key that is missing or wrong stays out): the checks after the schema run on this."""
    if not isinstance(schema, vol.Schema) or not isinstance(schema.schema, dict):
        return None
    given = raw if isinstance(raw, Mapping) else {}
    result: dict[str, Any] = {}
    for marker, validator in schema.schema.items():
        key = str(marker)
        if key in given:
            try:
                result[key] = vol.Schema(validator)(given[key])
                continue
            except vol.Invalid:
                salvaged = _salvage_part(validator, given[key])
                if salvaged is not None:
                    result[key] = salvaged
                    continue
        default: Any = getattr(marker, "default", vol.UNDEFINED)
        if default is not vol.UNDEFINED:
            result[key] = _salvage_part(validator, default()) or vol.Schema(validator)(default())
    return result


def _salvage_part(validator: Any, raw: Any) -> Any:
    """`_salvage` for a section ([mqtt]) or a list of tables ([[awtrix]])."""
    if isinstance(validator, vol.Schema):
        return _salvage(validator, raw)
    table = _list_item_schema(validator)
    if table is not None and isinstance(raw, list):
        return [_salvage(table, item) for item in raw]
    return None


def _list_item_schema(validator: Any) -> vol.Schema | None:
    for part in getattr(validator, "validators", ()):
        if isinstance(part, list) and part and isinstance(part[0], vol.Schema):
            return part[0]
    return None


def key_of(problem: str) -> str:
    return problem.partition(": ")[0]


def said_before(key: str, said: set[str]) -> bool:
    """True when the schema already reported `key` or a table holding it (`cmc: required`
    says all there is to say about `cmc.api_key`)."""
    return any(key == old or key.startswith((old + ".", old + "[")) for old in said)


def _describe(err: vol.Invalid, raw: Mapping[str, Any]) -> str:
    key = dotted(err.path)
    message = _MESSAGES.get(err.error_message, err.error_message)
    if message == "unknown option":
        known = _known_keys(err.path[:-1])
        if len(err.path) == 1:
            message = "unknown section"
        close = close_spellings(str(err.path[-1]), known)
        return f"{key}: {message}" + (f" (did you mean {close[0]!r}?)" if close else "")
    found, value = _lookup(raw, err.path)
    secret = tuple(str(part) for part in err.path[:2]) in SECRET_KEYS
    if found and message != "required" and not isinstance(value, dict) and not secret:
        return f"{key}: {message}, got {bounds.shown(value)}"
    return f"{key}: {message}"


def _known_keys(path: list[Any]) -> list[str]:
    """The options the schema allows at `path` (a section, a coin's table, a clock's table)."""
    node: Any = ROOT_SCHEMA
    for part in path:
        node = _child(node, part)
        if node is None:
            return []
    if isinstance(node, vol.Schema) and isinstance(node.schema, dict):
        return [str(marker) for marker in node.schema]
    return []


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, vol.Schema) and isinstance(node.schema, dict):
        return next((v for k, v in node.schema.items() if str(k) == str(part)), None)
    for piece in getattr(node, "validators", ()):
        if isinstance(piece, list) and piece and isinstance(part, int):
            return piece[0]
        if isinstance(piece, dict) and piece and not isinstance(part, int):
            return next(iter(piece.values()))
    return None


def dotted(path: list[Any]) -> str:
    """`mqtt.port`, `awtrix[0].prefix`; a key that is no plain word (a line break in it, or
    as long as a paragraph) is shown as its repr, cut short."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = str(part)
        if not name.isprintable() or len(name) > MAX_NAME_CHARS or ": " in name:
            name = bounds.shown(name)
        text += f".{name}" if text else name
    return text or "<config>"


def _lookup(raw: Any, path: list[Any]) -> tuple[bool, Any]:
    node = raw
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node
