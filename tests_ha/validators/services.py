"""hassfest's services rules: an integration whose code registers actions (services) describes
them in services.yaml, names and describes each in strings.json (`services`) and gives each an
icon in icons.json; and the other way round, nothing is described that is not registered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import yaml

from .common import Problem, load_json

RULE: Final = "hassfest services"
REGISTERS: Final = re.compile(
    r"services\.(async_)?register\(|async_register_(entity|admin)_service\("
)


def registers_services(path: Path) -> bool:
    modules = path.rglob("*.py")
    return any(REGISTERS.search(module.read_text(encoding="utf-8")) for module in modules)


def check_services(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    described = path / "services.yaml"
    registers = registers_services(path)
    if not registers:
        if described.exists():
            problems.append(Problem(RULE, "services.yaml", "describes actions none registers"))
        return problems
    if not described.exists():
        return [Problem(RULE, "services.yaml", "the code registers actions: describe them here")]
    services: Any = yaml.safe_load(described.read_text(encoding="utf-8")) or {}
    strings = load_json(path / "strings.json", RULE, problems) or {}
    icons = load_json(path / "icons.json", RULE, []) or {}
    for service in services:
        text = strings.get("services", {}).get(service, {})
        if not (text.get("name") and text.get("description")):
            problems.append(Problem(RULE, "strings.json", f"services.{service}: name, description"))
        if service not in icons.get("services", {}):
            problems.append(Problem(RULE, "icons.json", f"services.{service}: no icon"))
    return problems
