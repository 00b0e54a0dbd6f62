"""TOML text for a configuration built in code: the add-on's generated file and `init`'s answers.

Only what a configuration holds: tables (nested ones as `[coins.1]`), arrays of tables
(`[[alerts]]`), and strings, numbers, booleans and their lists as values. What is written here
reads back, with `tomllib`, as the very mapping it came from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def to_toml(raw: Mapping[str, Any], *, header: str) -> str:
    """`raw` (a mapping of tables and lists of tables) as a TOML document under `header`, a
    comment line."""
    out = [f"# {header}"]
    for name, value in raw.items():
        if isinstance(value, dict):
            _table(out, [name], value)
        elif _is_tables(value):
            for table in value:
                out.append(f"\n[[{toml_key(name)}]]")
                out.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items())
        else:
            raise TypeError(f"{name}: the top level holds tables only")
    return "\n".join(out) + "\n"


def _table(out: list[str], path: list[str], values: Mapping[str, Any]) -> None:
    """`[a.b]` with its values, then its subtables (a table's own keys must come first)."""
    plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
    nested = {k: v for k, v in values.items() if isinstance(v, dict)}
    if plain or not nested:
        out.append(f"\n[{'.'.join(toml_key(p) for p in path)}]")
        out.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in plain.items())
    for key, table in nested.items():
        _table(out, [*path, key], table)


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def toml_key(key: str) -> str:
    """A bare key where TOML allows one (`crypto_ids`, `1`), else a quoted one."""
    bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else toml_string(key)


def toml_string(text: str) -> str:
    """A TOML basic string. JSON's escapes are TOML's, but `\\uD83D\\uDE80` (how JSON spells a
    character beyond U+FFFF) is not: characters stay themselves, and DEL, which TOML wants
    escaped and JSON leaves, is escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """A value: a boolean, a number, a string or a list of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")
