"""hassfest's icon rules for icons.json: the sections it knows (for an integration that is not an
entity component: config, options, issues, services, entity); entity icons by platform and
translation key, each a Material Design icon (`mdi:`) with a default and optional states (a
state's icon never the default again); and our own rule on top: every icon names an entity
translation key of strings.json."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from .common import Problem, load_json
from .translations import KEY

RULE: Final = "hassfest icons"
SECTIONS: Final = frozenset({"config", "options", "issues", "services", "entity"})


def _icon(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("mdi:") and "<" not in value


def check_icons(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    if not (path / "icons.json").is_file():
        return problems
    icons = load_json(path / "icons.json", RULE, problems)
    strings = load_json(path / "strings.json", RULE, []) or {}
    if not isinstance(icons, Mapping):
        return problems

    def bad(where: str, why: str) -> None:
        problems.append(Problem(RULE, "icons.json", f"{where}: {why}"))

    for key in set(icons) - SECTIONS:
        bad(key, "not a section of icons.json")
    named = strings.get("entity", {}) if isinstance(strings, Mapping) else {}
    for platform, keys in icons.get("entity", {}).items():
        for key, icon in keys.items():
            where = f"entity.{platform}.{key}"
            if not KEY.match(key):
                bad(where, "not a translation key")
            if key not in named.get(platform, {}):
                bad(where, "no entity of strings.json has this translation key")
            if set(icon) - {"default", "state", "state_attributes"}:
                bad(where, f"unknown keys {sorted(set(icon) - {'default', 'state'})}")
            if "default" in icon and not _icon(icon["default"]):
                bad(f"{where}.default", "not an mdi: icon")
            for state, state_icon in icon.get("state", {}).items():
                if not _icon(state_icon) or state_icon == icon.get("default"):
                    bad(f"{where}.state.{state}", "not an mdi: icon, or the default again")
    for service, icon in icons.get("services", {}).items():
        value = icon.get("service") if isinstance(icon, Mapping) else icon
        if not _icon(value):
            bad(f"services.{service}", "not an mdi: icon")
    return problems
