"""hassfest's quality-scale rules: quality_scale.yaml in its format (every key a rule of the scale;
`todo` or `done`, or a status with a comment, an exemption always with one), and for the rules
marked done that hassfest checks in the code, the same checks read from the sources:
config-flow, config-entry-unloading, diagnostics, discovery, has-entity-name, parallel-updates,
reconfiguration-flow, runtime-data (with strict-typing: a typed config entry everywhere),
test-before-setup and unique-config-entry. strict-typing itself is a mypy run (hassfest reads
core's .strict-typing file; here tests_ha/test_strict_typing.py runs mypy --strict).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Final

import yaml

from .common import Problem, parse_module
from .manifest import load_manifest

RULE: Final = "hassfest quality_scale"
TIERS: Final[dict[str, tuple[str, ...]]] = {
    "bronze": (
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
        "config-flow-test-coverage", "dependency-transparency", "docs-actions",
        "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ),
    "gold": (
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}  # fmt: skip
RULES: Final = frozenset(rule for rules in TIERS.values() for rule in rules)
PLATFORMS: Final = (
    "alarm_control_panel", "binary_sensor", "button", "calendar", "camera", "climate", "cover",
    "date", "datetime", "device_tracker", "event", "fan", "humidifier", "image", "lawn_mower",
    "light", "lock", "media_player", "notify", "number", "remote", "scene", "select", "sensor",
    "siren", "switch", "text", "time", "todo", "update", "vacuum", "valve", "water_heater",
    "weather",
)  # fmt: skip
DISCOVERY_KEYS: Final = ("bluetooth", "dhcp", "homekit", "mqtt", "ssdp", "usb", "zeroconf")
DISCOVERY_STEPS: Final = frozenset(
    f"async_step_{source}" for source in (*DISCOVERY_KEYS, "discovery", "hassio")
)
TYPED_ENTRY: Final = re.compile(r"^[A-Za-z]+ConfigEntry$")
DOC_POINTER: Final = re.compile(r"(docs/[\w./-]+\.md), \"([^\"]+)\"")
EMPTY: Final = ast.Module(body=[], type_ignores=[])
SETUP_ERRORS: Final = frozenset(
    {"ConfigEntryNotReady", "ConfigEntryAuthFailed", "ConfigEntryError"}
)


def statuses(data: Any) -> tuple[dict[str, str], list[str]]:
    """Each rule's status, and what is wrong with the file's format."""
    wrong: list[str] = []
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, dict):
        return {}, ["needs a `rules` mapping"]
    found: dict[str, str] = {}
    for name, value in rules.items():
        if name not in RULES:
            wrong.append(f"{name}: not a rule of the quality scale")
            continue
        status = value.get("status") if isinstance(value, dict) else value
        comment = value.get("comment") if isinstance(value, dict) else None
        if status not in ("todo", "done", "exempt"):
            wrong.append(f"{name}: status {status!r} is not todo, done or exempt")
        elif isinstance(value, dict) and not (isinstance(comment, str) and comment.strip()):
            wrong.append(f"{name}: a status written out needs a comment")
        elif status == "exempt" and not isinstance(value, dict):
            wrong.append(f"{name}: an exemption needs a comment")
        found[name] = str(status)
    return found, wrong


def _functions(module: ast.Module | None) -> dict[str, ast.AsyncFunctionDef]:
    if module is None:
        return {}
    return {f.name: f for f in module.body if isinstance(f, ast.AsyncFunctionDef)}


def _calls(module: ast.Module | None, name: str) -> bool:
    return module is not None and any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        for node in ast.walk(module)
    )


def _typed(function: ast.AsyncFunctionDef | ast.FunctionDef, position: int) -> bool:
    args = function.args.args
    if len(args) < position:
        return False
    annotation = args[position - 1].annotation
    return isinstance(annotation, ast.Name) and bool(TYPED_ENTRY.match(annotation.id))


def _raise_name(node: ast.expr | None) -> str:
    while isinstance(node, ast.Call | ast.Attribute):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _sets_runtime_data(function: ast.AsyncFunctionDef) -> bool:
    entry = function.args.args[1].arg if len(function.args.args) > 1 else ""
    return any(
        isinstance(node, ast.Attribute) and node.attr == "runtime_data"
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name) and node.value.id == entry
        for node in ast.walk(function)
    )  # fmt: skip


def code_problems(path: Path, done: set[str]) -> list[str]:
    """hassfest's checks of the rules marked done, each a line naming the rule."""
    manifest = load_manifest(path, []) or {}
    init = parse_module(path / "__init__.py")
    flow = parse_module(path / "config_flow.py")
    setup = _functions(init).get("async_setup_entry")
    out: list[str] = []
    if "config-flow" in done and not (manifest.get("config_flow") and flow is not None):
        out.append("config-flow: config_flow is not true in the manifest, or no config_flow.py")
    if "config-entry-unloading" in done and "async_unload_entry" not in _functions(init):
        out.append("config-entry-unloading: no async_unload_entry in __init__.py")
    if "diagnostics" in done and not {"async_get_config_entry_diagnostics",
                                      "async_get_device_diagnostics"} & set(
        _functions(parse_module(path / "diagnostics.py"))
    ):  # fmt: skip
        out.append("diagnostics: no diagnostics function in diagnostics.py")
    steps = {n.name for n in ast.walk(flow or EMPTY) if isinstance(n, ast.AsyncFunctionDef)}
    if "discovery" in done and not (set(DISCOVERY_KEYS) & set(manifest) or DISCOVERY_STEPS & steps):
        out.append("discovery: no discovery key in the manifest and no discovery step")
    if "reconfiguration-flow" in done and "async_step_reconfigure" not in steps:
        out.append("reconfiguration-flow: no async_step_reconfigure in config_flow.py")
    if "unique-config-entry" in done and not (
        manifest.get("single_config_entry")
        or _calls(flow, "_async_abort_entries_match")
        or (_calls(flow, "async_set_unique_id") and _calls(flow, "_abort_if_unique_id_configured"))
    ):
        out.append("unique-config-entry: nothing keeps the same bridge from being set up twice")
    for platform in PLATFORMS if "parallel-updates" in done else ():
        module = parse_module(path / f"{platform}.py")
        if module is not None and not any(
            isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name)
            and item.targets[0].id == "PARALLEL_UPDATES"
            for item in module.body
        ):  # fmt: skip
            out.append(f"parallel-updates: {platform}.py does not set PARALLEL_UPDATES")
    if "has-entity-name" in done and "_attr_has_entity_name = True" not in "".join(
        module.read_text(encoding="utf-8") for module in path.glob("*.py")
    ):
        out.append("has-entity-name: no entity sets _attr_has_entity_name = True")
    if "test-before-setup" in done and not any(
        isinstance(node, ast.Raise) and _raise_name(node.exc) in SETUP_ERRORS
        for module in path.rglob("*.py")
        for node in ast.walk(parse_module(module) or EMPTY)
    ):
        out.append("test-before-setup: no ConfigEntryNotReady, AuthFailed or Error is raised")
    if "runtime-data" in done:
        out += _runtime_data(path, setup, strict="strict-typing" in done)
    return out


def _runtime_data(path: Path, setup: ast.AsyncFunctionDef | None, *, strict: bool) -> list[str]:
    if setup is None or not _sets_runtime_data(setup):
        return ["runtime-data: async_setup_entry does not set entry.runtime_data"]
    if not strict:
        return []
    out: list[str] = []
    typed = {"__init__": ("async_setup_entry", "async_unload_entry", "async_migrate_entry",
                          "async_remove_entry", "async_remove_config_entry_device"),
             "diagnostics": ("async_get_config_entry_diagnostics",
                             "async_get_device_diagnostics")}  # fmt: skip
    typed |= dict.fromkeys(PLATFORMS, ("async_setup_entry",))
    for name, functions in typed.items():
        defined = _functions(parse_module(path / f"{name}.py"))
        for function in (defined[f] for f in functions if f in defined):
            if not _typed(function, 2):
                out.append(f"runtime-data: {name}.{function.name} takes an untyped ConfigEntry")
    for node in ast.walk(parse_module(path / "config_flow.py") or EMPTY):
        untyped = isinstance(node, ast.FunctionDef) and not _typed(node, 1)
        if untyped and getattr(node, "name", "") == "async_get_options_flow":
            out.append("runtime-data: async_get_options_flow takes an untyped ConfigEntry")
    return out


def check_documented(root: Path, path: Path) -> list[Problem]:
    """Our own rule: each rule's comment that points into a document (`docs/x.md, "Heading"`)
    points at a heading that is there."""
    file = path / "quality_scale.yaml"
    rules = (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("rules", {})
    problems = []
    for rule, value in rules.items():
        comment = value.get("comment", "") if isinstance(value, dict) else ""
        for document, heading in DOC_POINTER.findall(comment):
            text = (
                (root / document).read_text(encoding="utf-8") if (root / document).is_file() else ""
            )
            if not re.search(rf"^#+ {re.escape(heading)}$", text, re.MULTILINE):
                why = f"{rule}: {document} has no heading {heading!r}"
                problems.append(Problem("quality docs", file.name, why))
    return problems


def check_quality_scale(path: Path) -> list[Problem]:
    file = path / "quality_scale.yaml"
    if not file.is_file():
        return []  # hassfest asks core integrations only; test_quality_scale.py asks us
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [Problem(RULE, file.name, f"not YAML: {exc}")]
    found, wrong = statuses(data)
    done = {rule for rule, status in found.items() if status == "done"}
    return [Problem(RULE, file.name, why) for why in [*wrong, *code_problems(path, done)]]
