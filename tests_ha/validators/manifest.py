"""hassfest's manifest rules for a custom integration: the keys it knows and their types, the
domain equal to the folder's name, an IoT class, a version, a documentation address of its own
(not Home Assistant's), MQTT discovery topics that are topic filters, and the keys in hassfest's
order (domain, name, then alphabetical)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from .common import VERSION, Problem, is_str_list, is_url, load_json

RULE: Final = "hassfest manifest"
CORE_DOCS: Final = "https://www.home-assistant.io/integrations"
IOT_CLASSES: Final = frozenset(
    {"assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push"}
)
INTEGRATION_TYPES: Final = frozenset(
    {"device", "entity", "hardware", "helper", "hub", "service", "system"}
)
QUALITY_SCALES: Final = frozenset({"internal", "bronze", "silver", "gold", "platinum"})


def _topic_filter(value: object) -> bool:
    """An MQTT subscription: `+` and `#` only as whole levels, `#` only last."""
    if not isinstance(value, str) or not value or "\x00" in value:
        return False
    levels = value.split("/")
    wild = all(level in ("+", "#") or not ({"+", "#"} & set(level)) for level in levels)
    return wild and "#" not in levels[:-1]


def _topics(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(_topic_filter(t) for t in value)


#: Key -> whether its value is right (the keys hassfest knows for a custom integration).
KEYS: Final[dict[str, Callable[[Any], bool]]] = {
    "domain": lambda v: isinstance(v, str),
    "name": lambda v: isinstance(v, str) and bool(v),
    "after_dependencies": is_str_list,
    "bluetooth": lambda v: isinstance(v, list),
    "codeowners": is_str_list,
    "config_flow": lambda v: isinstance(v, bool),
    "dependencies": is_str_list,
    "dhcp": lambda v: isinstance(v, list),
    "disabled": lambda v: isinstance(v, str),
    "documentation": lambda v: is_url(v, https=True) and not v.startswith(CORE_DOCS),
    "homekit": lambda v: isinstance(v, dict),
    "import_executor": lambda v: isinstance(v, bool),
    "integration_type": lambda v: v in INTEGRATION_TYPES,
    "iot_class": lambda v: v in IOT_CLASSES,
    "issue_tracker": is_url,
    "loggers": is_str_list,
    "mqtt": _topics,
    "quality_scale": lambda v: v in QUALITY_SCALES,
    "requirements": is_str_list,
    "single_config_entry": lambda v: isinstance(v, bool),
    "ssdp": lambda v: isinstance(v, list),
    "usb": lambda v: isinstance(v, list),
    "version": lambda v: isinstance(v, str) and bool(VERSION.fullmatch(v)),
    "zeroconf": lambda v: isinstance(v, list),
}
REQUIRED: Final = ("domain", "name", "documentation", "codeowners", "iot_class", "version")


def load_manifest(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    manifest = load_json(path / "manifest.json", RULE, problems)
    if manifest is not None and not isinstance(manifest, dict):
        problems.append(Problem(RULE, "manifest.json", "not a JSON object"))
        return None
    return manifest


def check_manifest(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    manifest = load_manifest(path, problems)
    if manifest is None:
        return problems

    def bad(message: str) -> None:
        problems.append(Problem(RULE, "manifest.json", message))

    for key in REQUIRED:
        if key not in manifest:
            bad(f"{key} is required")
    for key, value in manifest.items():
        valid = KEYS.get(key)
        if valid is None:
            bad(f"{key} is not a manifest key")
        elif not valid(value):
            bad(f"{key}: {value!r} is not valid")
    if manifest.get("domain") != path.name:
        bad(f"domain {manifest.get('domain')!r} is not the folder's name {path.name!r}")
    keys = list(manifest)
    order = sorted(keys, key=lambda key: {"domain": "\x00", "name": "\x01"}.get(key, key))
    if keys != order:
        bad("keys are not in hassfest's order: domain, name, then alphabetical")
    return problems
