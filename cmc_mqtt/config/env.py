"""Configuration from environment variables: every option as `CMC_MQTT_<SECTION>_<KEY>`.

Containers are configured through their environment, not by editing a file inside them. The
variables are laid over the TOML file (or stand in for a missing one) and then validated by the
same schema, so a container gets exactly the checks a file gets. The names and types come from
the schemas themselves, so an option added there is at once settable here; a problem is
reported naming the variable the user set, not a dotted key they never wrote.

- `CMC_MQTT_MQTT_PORT=1884`, `CMC_MQTT_HOMEASSISTANT_DISCOVERY=false`, `CMC_MQTT_LOG_LEVEL=debug`
- lists: `CMC_MQTT_CMC_CRYPTO_IDS=1,1027` (or `BTC,ETH`) or `[1, 1027]` (JSON)
- tables of tables: `CMC_MQTT_COINS_1027_NAME=Ether`, `CMC_MQTT_AWTRIX_0_PREFIX=awtrix_1`,
  or a whole section as JSON: `CMC_MQTT_AWTRIX='[{"prefix": "awtrix_1"}]'`
- an empty variable counts as unset (compose files often pass `${VAR:-}`).

How a variable's text becomes its option's value is `env_values`' job.
"""

from __future__ import annotations

import copy
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import voluptuous as vol

from ..errors import ConfigError
from ..model import bounds
from ..util.spelling import close_spellings
from .env_values import CONVERTERS, BadValue, json_section
from .problems import one_line
from .schema import ROOT_SCHEMA
from .settings import Settings
from .validators import coin_id_or_symbol

ENV_PREFIX: Final = "CMC_MQTT_"
#: Options of which a file may hold only one: setting either by variable replaces the other.
_EXCLUSIVE: Final = {("cmc", "api_key"): "api_key_file", ("cmc", "api_key_file"): "api_key"}


@dataclass(frozen=True, slots=True)
class Section:
    """One top-level table of the config: flat (`[mqtt]`), keyed (`[coins.<id>]`) or a list of
    tables (`[[awtrix]]`); `options` maps each key of a (sub-)table to its value kind."""

    name: str
    shape: str  # "flat" | "keyed" | "list"
    options: dict[str, str]


def _kind_of(validator: Any) -> str | None:
    """The value kind a schema validator accepts: read from the validator itself (the strict
    type checks in config keep their type in their closure), so no second table can drift."""
    if isinstance(validator, vol.All):
        for part in validator.validators:
            if isinstance(part, list):
                if part and part[0] is coin_id_or_symbol:
                    return "coin_list"
                inner = _kind_of(part[0]) if part else None
                return "int_list" if inner == "int" else "str_list"
            if isinstance(part, dict):
                return "table"
            kind = _kind_of(part)
            if kind is not None:
                return kind
        return None
    if isinstance(validator, dict | vol.Schema):
        return "table"
    closure = getattr(validator, "__closure__", None) or ()
    names = getattr(getattr(validator, "__code__", None), "co_freevars", ())
    cells = dict(zip(names, (cell.cell_contents for cell in closure), strict=False))
    kind = cells.get("kind")
    if kind is bool:
        return "bool"
    if kind is int:
        return "int"
    if kind is str:
        return "str"
    if isinstance(kind, types.UnionType) and set(kind.__args__) == {int, float}:
        return "number"
    if getattr(validator, "__name__", "").endswith("_list"):
        return "str_list"
    return None


def _options(schema: vol.Schema) -> dict[str, str]:
    return {str(key): _kind_of(value) or "str" for key, value in schema.schema.items()}


def sections() -> dict[str, Section]:
    """Every section of config's root schema, with the kind of each of its options."""
    found: dict[str, Section] = {}
    for marker, validator in ROOT_SCHEMA.schema.items():
        name = str(marker)
        if isinstance(validator, vol.Schema):
            found[name] = Section(name, "flat", _options(validator))
            continue
        for part in getattr(validator, "validators", ()):
            if isinstance(part, list) and part and isinstance(part[0], vol.Schema):
                found[name] = Section(name, "list", _options(part[0]))
            elif isinstance(part, dict):
                (sub,) = part.values()
                if isinstance(sub, vol.Schema):
                    found[name] = Section(name, "keyed", _options(sub))
    return found


@dataclass(slots=True)
class _Applied:
    """Where each value came from, so problems name what the user actually wrote."""

    merged: dict[str, Any]
    by_key: dict[str, str] = field(default_factory=dict)  # dotted key -> variable
    whole: dict[str, str] = field(default_factory=dict)  # section -> variable (JSON section)
    created: dict[str, str] = field(default_factory=dict)  # dotted table -> variable prefix
    creators: dict[str, str] = field(default_factory=dict)  # dotted table -> first variable
    dropped: set[str] = field(default_factory=set)  # dotted keys whose variable was unusable
    problems: list[str] = field(default_factory=list)


class EnvOverlay:
    """The `CMC_MQTT_*` variables of one environment, ready to lay over a parsed config file."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        ours = [n for n in environ if n.upper().startswith(ENV_PREFIX) and environ[n] != ""]
        self._vars = {name: environ[name] for name in sorted(ours, key=_natural)}
        #: Variables named with more than ASCII letters, digits and "_", or longer than any
        #: option's: no option has such a name, and the name could break the line naming it.
        self._odd = [n for n in self._vars if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", n)]

    def __bool__(self) -> bool:
        return bool(self._vars)

    def __len__(self) -> int:
        """How many variables are laid over the file (set and not empty)."""
        return len(self._vars)

    def parse(
        self, raw: Mapping[str, Any] | None, parse: Callable[[Mapping[str, Any]], Settings]
    ) -> Settings:
        """Lay the variables over `raw` (None: no file) and validate the result with `parse`;
        raise one `ConfigError` with every problem, each naming the variable where one is to
        blame."""
        if not self._vars:
            return parse(raw or {})
        applied = self._apply(raw)
        problems = list(applied.problems)
        try:
            settings = parse(applied.merged)
        except ConfigError as exc:
            problems.extend(
                line
                for line in (_rename(p, applied, has_file=raw is not None) for p in exc.problems)
                if line is not None
            )
            raise ConfigError([one_line(line) for line in problems]) from exc
        if problems:
            raise ConfigError([one_line(line) for line in problems])
        return settings

    def _apply(self, raw: Mapping[str, Any] | None) -> _Applied:
        merged: dict[str, Any] = copy.deepcopy(dict(raw or {}))
        if raw is None:
            merged.setdefault("cmc", {})  # so a missing option is named, not the whole section
        applied = _Applied(merged)
        known = sections()
        for name, text in self._vars.items():
            if name in self._odd:
                applied.problems.append(
                    f"{bounds.shown(name)}: not an option's variable (at most 64 ASCII letters, "
                    "digits and '_')"
                )
                continue
            rest = name[len(ENV_PREFIX) :].lower()
            section = next((s for s in known if rest == s or rest.startswith(s + "_")), None)
            if section is None:
                guess = rest.split("_", 1)[0]
                applied.problems.append(
                    f"{name}: unknown section {guess!r}{_did_you_mean(guess, known)}; "
                    f"sections are {', '.join(known)}"
                )
                continue
            key = rest[len(section) + 1 :]
            _apply_one(known[section], name, key, text, applied)
        return applied


def _natural(name: str) -> tuple[Any, ...]:
    """Sort `..._AWTRIX_10_...` after `..._AWTRIX_2_...`, so tables are made in order (a run
    of digits by its length, then its text: no int() of a name's 5,000 digits)."""
    parts = re.split(r"([0-9]+)", name)
    return tuple((len(part), part) if i % 2 else (0, part) for i, part in enumerate(parts))


def _did_you_mean(word: str, choices: Any) -> str:
    close = close_spellings(word, choices)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _apply_one(section: Section, name: str, key: str, text: str, applied: _Applied) -> None:
    merged, sname = applied.merged, section.name
    if not key:
        if section.shape == "flat":
            applied.problems.append(
                f"{name}: name an option, e.g. {name}_{next(iter(section.options)).upper()}"
            )
            return
        try:
            value = json_section(text, section.shape)
        except BadValue as exc:
            applied.problems.append(f"{name}: {exc}")
            return
        merged[sname] = value
        applied.whole[sname] = name
        return
    if section.shape == "flat":
        table_path, option = sname, key
        table = merged.setdefault(sname, {})
        if not isinstance(table, dict):
            return  # the file's own problem; the schema reports it
    else:
        entry, _, option = key.partition("_")
        if not re.fullmatch(r"[0-9]{1,10}", entry) or not option:
            form = "N" if section.shape == "list" else "ID"
            applied.problems.append(
                f"{name}: expected {ENV_PREFIX}{sname.upper()}_<{form}>_<OPTION>, "
                f"e.g. {ENV_PREFIX}{sname.upper()}_{'0' if form == 'N' else '1027'}_"
                f"{next(iter(section.options)).upper()}"
            )
            return
        found = _sub_table(merged, section, entry, name, applied)
        if found is None:
            return
        table, table_path = found
    if option not in section.options:
        applied.problems.append(
            f"{name}: unknown option {option!r} in [{sname}]"
            f"{_did_you_mean(option, section.options)}"
        )
        return
    dotted = f"{table_path}.{option}"
    try:
        table[option] = CONVERTERS[section.options[option]](text)
    except BadValue as exc:
        shown = "" if section.options[option] == "str" else f", got {bounds.shown(text)}"
        applied.problems.append(f"{name}: {exc}{shown}")
        table.pop(option, None)
        applied.dropped.add(dotted)
        return
    applied.by_key[dotted] = name
    other = _EXCLUSIVE.get((sname, option))
    if other is not None and f"{table_path}.{other}" not in applied.by_key:
        table.pop(other, None)


def _sub_table(
    merged: dict[str, Any], section: Section, entry: str, name: str, applied: _Applied
) -> tuple[dict[str, Any], str] | None:
    """The table `[coins.<id>]` or `[[awtrix]]` number N, made when the file has none."""
    sname = section.name
    prefix = f"{ENV_PREFIX}{sname.upper()}_{entry}"
    if section.shape == "keyed":
        tables = merged.setdefault(sname, {})
        if not isinstance(tables, dict):
            return None
        path = f"{sname}.{entry}"
        if entry not in tables:
            tables[entry] = {}
            applied.created[path] = prefix
            applied.creators[path] = name
        table = tables[entry]
    else:
        tables = merged.setdefault(sname, [])
        if not isinstance(tables, list):
            return None
        index = int(entry)
        if index > len(tables):
            applied.problems.append(
                f"{name}: [[{sname}]] tables are numbered from 0 without gaps; "
                f"set {ENV_PREFIX}{sname.upper()}_{len(tables)}_... first"
            )
            return None
        path = f"{sname}[{index}]"
        if index == len(tables):
            tables.append({})
            applied.created[path] = prefix
            applied.creators[path] = name
        table = tables[index]
    return (table, path) if isinstance(table, dict) else None


def _rename(problem: str, applied: _Applied, *, has_file: bool) -> str | None:
    """Name the variable in a problem about a value that came from one (None: already said)."""
    key, sep, message = problem.partition(": ")
    if not sep:
        return problem
    if key in applied.dropped:
        return None  # its variable's own problem was reported; the schema's follow-on is noise
    if key in applied.by_key:
        return f"{applied.by_key[key]}: {message}"
    for dotted, var in applied.by_key.items():
        if key.startswith(dotted + "["):
            return f"{var} ({key}): {message}"
    section = re.split(r"[.\[]", key, maxsplit=1)[0]
    if section in applied.whole:
        return f"{applied.whole[section]} ({key}): {message}"
    if key in applied.creators:
        return f"{applied.creators[key]}: {message}"
    table, _, option = key.rpartition(".")
    if table in applied.created and option:
        return f"{applied.created[table]}_{option.upper()}: {message}"
    if message.startswith("required") and option and re.fullmatch(r"[a-z]+", table):
        var = f"{ENV_PREFIX}{table.upper()}_{option.upper()}"
        if not has_file:
            return f"{var}: {message}"
        if message == "required":
            return f"{problem} (or set {var})"
    return problem
