"""A model of how the Home Assistant Supervisor treats an add-on's options, for the add-on's tests.

Written from the Supervisor's documented option language (developers.home-assistant.io,
"App configuration" → Options / Schema), not taken from its code:

- a schema element is a type: `str`, `password` (each optionally `(min,max)` long), `int`,
  `float` (optionally `(min,max)`), `bool`, `email`, `url`, `port`, `match(<regex>)` or
  `list(a|b|…)` (one of the choices); a trailing `?` makes the option optional;
- an option's schema is an element, a list of one element or one dict of elements, or a dict of
  elements (nested no deeper than that);
- the options written to `/data/options.json` are config.yaml's defaults with the user's on
  top, each checked (numbers and booleans converted, `match` and `list` checked as text);
  options the schema does not name are dropped, and a missing one is refused unless its type
  ends in `?` (a list of dicts cannot be missing: it needs a default, such as `[]`).

Observed behaviour the tests rely on is asserted by the tests themselves; this module only has
to be as strict as the Supervisor, never more lenient. It is kept apart from fake_supervisor.py,
which scripts/check_image.sh runs with a bare python3 (no voluptuous).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import voluptuous as vol

#: One element: a type name, its arguments in parentheses if any, and "?" when optional.
_ELEMENT = re.compile(r"(?P<type>[a-z]+)(?:\((?P<args>.*)\))?(?P<optional>\?)?", re.DOTALL)
_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)"
_BOUNDS = re.compile(rf"(?P<min>{_NUMBER})?,(?P<max>{_NUMBER})?")
_WHOLE_BOUNDS = re.compile(r"(?P<min>-?\d+)?,(?P<max>-?\d+)?")
_PLAIN = frozenset({"bool", "email", "url", "port"})


def parse_element(text: str) -> tuple[str, str | None, bool]:
    """(type, arguments, optional) of one element; `vol.Invalid` for anything undocumented."""
    found = _ELEMENT.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise vol.Invalid(f"not a schema element: {text!r}")
    kind, args, optional = found["type"], found["args"], found["optional"] is not None
    if kind in _PLAIN and args is None:
        return kind, None, optional
    if kind in ("str", "password", "int") and (args is None or _WHOLE_BOUNDS.fullmatch(args)):
        return kind, args, optional
    if kind == "float" and (args is None or _BOUNDS.fullmatch(args)):
        return kind, args, optional
    if kind in ("match", "list") and args:
        if kind == "match":
            re.compile(args)
        return kind, args, optional
    raise vol.Invalid(f"not a schema element: {text!r}")


def _element_text(value: Any) -> str:
    parse_element(value)
    return str(value)


_DICT_OF_ELEMENTS = vol.Schema({str: _element_text})
#: config.yaml's `schema`.
CONFIG_SCHEMA = vol.Schema(
    {
        str: vol.Any(
            _element_text,
            vol.All([vol.Any(_element_text, _DICT_OF_ELEMENTS)], vol.Length(min=1, max=1)),
            _DICT_OF_ELEMENTS,
        )
    }
)

#: One option in translations/<lang>.yaml `configuration`; `fields` names a dict's keys.
TRANSLATION = vol.Schema(
    {
        vol.Required("name"): str,
        vol.Optional("description"): vol.Maybe(str),
        vol.Optional("fields"): {str: vol.Self},
    },
    extra=vol.REMOVE_EXTRA,
)


def supervisor_options(config: Mapping[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    """What the Supervisor writes to `/data/options.json` for `user`'s options; `vol.Invalid`
    when it refuses them."""
    merged = {**config.get("options", {}), **user}
    return check_dict(config["schema"], merged, "root")


def check_dict(schema: Mapping[str, Any], values: Mapping[str, Any], where: str) -> dict[str, Any]:
    checked = {name: check(schema[name], value, name) for name, value in values.items()
               if name in schema}  # fmt: skip
    for name, kind in schema.items():
        if name in checked:
            continue
        inner = kind[0] if isinstance(kind, list) else kind
        if not (isinstance(inner, str) and parse_element(inner)[2]):
            raise vol.Invalid(f"Missing option '{name}' in {where}")
    return checked


def check(kind: Any, value: Any, name: str) -> Any:
    if isinstance(kind, list):
        if not isinstance(value, list):
            raise vol.Invalid(f"option '{name}' expects a list")
        return [check(kind[0], item, name) for item in value]
    if isinstance(kind, dict):
        if not isinstance(value, dict):
            raise vol.Invalid(f"option '{name}' expects a dict")
        return check_dict(kind, value, name)
    return check_value(kind, value, name)


def _bounds(args: str | None) -> dict[str, float]:
    found = _BOUNDS.fullmatch(args) if args else None
    if found is None:
        return {}
    return {side: float(found[side]) for side in ("min", "max") if found[side] is not None}


def check_value(element: str, value: Any, name: str) -> Any:
    """One value under one element, converted as the Supervisor converts it."""
    if value is None:
        raise vol.Invalid(f"Missing required option '{name}'")
    kind, args, _optional = parse_element(element)
    bounds = _bounds(args)
    try:
        if kind in ("str", "password"):
            return vol.All(str, vol.Length(**bounds))(value)
        if kind == "int":
            return vol.All(vol.Coerce(int), vol.Range(**bounds))(value)
        if kind == "float":
            return vol.All(vol.Coerce(float), vol.Range(**bounds))(value)
        if kind == "bool":
            return vol.Boolean()(value)
        if kind == "port":
            return vol.All(vol.Coerce(int), vol.Range(min=1, max=65535))(value)
        if kind == "email":
            return vol.Email()(value)
        if kind == "url":
            return vol.Url()(value)
        if kind == "match":
            return vol.Match(args)(str(value))
        return vol.In((args or "").split("|"))(str(value))  # list(a|b|…)
    except vol.Invalid as exc:
        raise vol.Invalid(f"option '{name}': {exc}") from None
