"""The Home Assistant Supervisor's add-on option checks, for the add-on's tests.

`supervisor_options` is what the Supervisor writes to `/data/options.json`: config.yaml's
defaults with the user's options on top, checked and converted by its schema language as
supervisor/apps/options.py (`AppOptions`) does, without devices and `!secret`s. `CONFIG_SCHEMA`
and `TRANSLATION` are its checks of config.yaml's `schema` and of translations/<lang>.yaml
(supervisor/apps/validate.py). Copied from the Supervisor's source (2026-08); kept apart from
fake_supervisor.py, which scripts/check_image.sh runs with a bare python3 (no voluptuous).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import voluptuous as vol

RE_SCHEMA_ELEMENT = re.compile(
    r"^(?:"
    r"|bool"
    r"|email"
    r"|url"
    r"|port"
    r"|device(?:\((?P<filter>subsystem=[a-z]+)\))?"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|password(?:\((?P<p_min>\d+)?,(?P<p_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?\d*\.?\d+)?,(?P<f_max>-?\d*\.?\d+)?\))?"
    r"|match\((?P<match>.*)\)"
    r"|list\((?P<list>.+)\)"
    r")\??$"
)
_LENGTH_PARTS = ("i_min", "i_max", "f_min", "f_max", "s_min", "s_max", "p_min", "p_max")

#: config.yaml's `schema`: an element, a list of one element or dict (no list in a list), a dict.
SCHEMA_ELEMENT = vol.Schema(
    vol.Any(
        vol.Match(RE_SCHEMA_ELEMENT),
        [vol.Any(vol.Match(RE_SCHEMA_ELEMENT), {str: vol.Self})],
        {str: vol.Self},
    )
)
CONFIG_SCHEMA = vol.Schema({str: SCHEMA_ELEMENT})

#: One option in translations/<lang>.yaml `configuration`; `fields` for a dict's keys.
TRANSLATION = vol.Schema(
    {
        vol.Required("name"): str,
        vol.Optional("description"): vol.Maybe(str),
        vol.Optional("fields"): {str: vol.Self},
    },
    extra=vol.REMOVE_EXTRA,
)

_NETWORK_PORT = vol.All(vol.Coerce(int), vol.Range(min=1, max=65535))


def supervisor_options(config: Mapping[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    """The add-on's options.json for `user`'s options: `App.options` (defaults merged with the
    user's: dicts merged, anything else replaced) through `AppOptions`; vol.Invalid if refused."""
    return validate_options(config["schema"], _merge(config.get("options", {}), user))


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        old = merged.get(key)
        merged[key] = (
            _merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return merged


def validate_options(schema: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """`AppOptions.__call__`: unknown options dropped, each known one checked and converted."""
    result = {
        key: _element(schema[key], value, key) for key, value in options.items() if key in schema
    }
    _check_missing(schema, result, "root")
    return result


def _element(typ: Any, value: Any, key: str) -> Any:
    if isinstance(typ, list):
        if not isinstance(value, list):
            raise vol.Invalid(f"Invalid list for option '{key}'")
        return [_element(typ[0], item, key) for item in value]
    if isinstance(typ, dict):
        if not isinstance(value, dict):
            raise vol.Invalid(f"Invalid dict for option '{key}'")
        result = {k: _element(typ[k], v, k) for k, v in value.items() if k in typ}
        _check_missing(typ, result, key)
        return result
    return _single(typ, value, key)


def _single(typ: str, value: Any, key: str) -> Any:
    if value is None:
        raise vol.Invalid(f"Missing required option '{key}'")
    match = RE_SCHEMA_ELEMENT.match(typ)
    if not match:
        raise vol.Invalid(f"Unknown type '{typ}'")
    bounds: dict[str, Any] = {
        name[2:]: float(match.group(name)) for name in _LENGTH_PARTS if match.group(name)
    }
    if typ.startswith(("str", "password")):
        return vol.All(str, vol.Length(**bounds))(value)
    if typ.startswith("int"):
        return vol.All(vol.Coerce(int), vol.Range(**bounds))(value)
    if typ.startswith("float"):
        return vol.All(vol.Coerce(float), vol.Range(**bounds))(value)
    if typ.startswith("bool"):
        return vol.Boolean()(value)
    if typ.startswith("email"):
        return vol.Email()(value)
    if typ.startswith("url"):
        return vol.Url()(value)
    if typ.startswith("port"):
        return _NETWORK_PORT(value)
    if typ.startswith("match"):
        return vol.Match(match.group("match"))(str(value))
    if typ.startswith("list"):
        return vol.In(match.group("list").split("|"))(str(value))
    raise vol.Invalid(f"Fatal error for option '{key}' with type '{typ}'")  # devices: not here


def _check_missing(origin: Mapping[str, Any], exists: Mapping[str, Any], root: str) -> None:
    """Only an element ending in "?" may be missing (for a list, its element decides; a list
    of dicts never may, so it needs a default)."""
    for name in set(origin) - set(exists):
        typ = origin[name]
        if isinstance(typ, list) and typ:
            typ = typ[0]
        if isinstance(typ, str) and typ.endswith("?"):
            continue
        raise vol.Invalid(f"Missing option '{name}' in {root}")
