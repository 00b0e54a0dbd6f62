"""hassfest's translation rules for strings.json and, for a custom integration, en.json:
the sections and keys it knows, translation keys of lower-case letters, digits, `-` and `_`;
every text without HTML, URLs, leading or trailing blanks, references combined with other text,
or placeholders that are not identifiers or stand inside single quotes (`'{prefix}'`); no
placeholders in state names; a data_description only for a field the step has; an issue with a
title and either a description or a fix flow. Our own rule on top: en.json is strings.json.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from .common import Problem, load_json

RULE: Final = "hassfest translations"
KEY: Final = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
SLUG: Final = re.compile(r"[a-z0-9_]+")
QUOTED_PLACEHOLDER: Final = re.compile(r"'\{\w+\}'")
COMBINED_REFERENCE: Final = re.compile(r"(.+\[%)|(%\].+)")
URL: Final = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5)://|www\.)[a-z0-9]+([\-.][a-z0-9]+)*"
    r"\.[a-z]{2,5}(:[0-9]{1,5})?(/.*)?)",
    re.IGNORECASE,
)
HTML: Final = re.compile(r"<[a-z/!][^>]*>", re.IGNORECASE)
TOP: Final = frozenset({
    "title", "config", "config_subentries", "options", "preview_features", "selector",
    "device_automation", "system_health", "config_panel", "application_credentials", "issues",
    "entity_component", "device", "entity", "exceptions", "services", "conditions", "triggers",
    "conversation", "common",
})  # fmt: skip
FLOW: Final = frozenset(
    {"flow_title", "step", "error", "abort", "progress", "create_entry", "initiate_flow", "title"}
)
STEP: Final = frozenset({
    "title", "description", "data", "data_description", "menu_options",
    "menu_option_descriptions", "submit", "sections",
})  # fmt: skip

Report = Callable[[str, str], None]


def text_problem(value: object, *, placeholders: bool = True) -> str | None:
    """What is wrong with one text, or None."""
    if not isinstance(value, str):
        return "not a string"
    checks = [
        (HTML.search(value), "contains HTML"),
        (QUOTED_PLACEHOLDER.search(value), "has a placeholder inside single quotes"),
        (COMBINED_REFERENCE.search(value), "combines a reference with other text"),
        (value != value.strip(), "has leading or trailing blanks"),
        (URL.search(value), "contains a URL (use a description placeholder)"),
    ]
    for failed, why in checks:
        if failed:
            return why
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name]
    except ValueError as exc:
        return f"is not a valid format string: {exc}"
    if names and not placeholders:
        return "has a placeholder where none is allowed"
    bad = [name for name in names if not name.isidentifier()]
    return f"has a placeholder that is not an identifier: {bad[0]}" if bad else None


def _texts(where: str, value: Any, report: Report, *, placeholders: bool = True) -> None:
    if not isinstance(value, Mapping):
        report(where, "not an object")
        return
    for key, text in value.items():
        if (why := text_problem(text, placeholders=placeholders)) is not None:
            report(f"{where}.{key}", why)


def _each(where: str, value: Mapping[str, Any], keys: tuple[str, ...], report: Report) -> None:
    """The texts under these keys, where they are present."""
    for key in keys:
        if key in value and (why := text_problem(value[key])) is not None:
            report(f"{where}.{key}", why)


def _object(where: str, value: Any, allowed: frozenset[str], report: Report) -> bool:
    """Whether `value` is an object; its keys that are not `allowed` reported."""
    if not isinstance(value, Mapping):
        report(where, "not an object")
        return False
    for key in set(value) - allowed:
        report(f"{where}.{key}", "not a key hassfest knows here")
    return True


def _sections(where: str, value: Mapping[str, Any], keys: tuple[str, ...], report: Report) -> None:
    """The objects of texts under these keys, where they are present."""
    for key in keys:
        if key in value:
            _texts(f"{where}.{key}", value[key], report)


def _flow(where: str, flow: Any, report: Report) -> None:
    if not _object(where, flow, FLOW, report):
        return
    _sections(where, flow, ("error", "abort", "progress", "create_entry"), report)
    _each(where, flow, ("flow_title", "title"), report)
    steps = flow.get("step", {})
    for step_id, step in steps.items() if isinstance(steps, Mapping) else ():
        _step(f"{where}.step.{step_id}", step, report)


def _step(where: str, step: Any, report: Report) -> None:
    if not _object(where, step, STEP, report):
        return
    _each(where, step, ("title", "description", "submit"), report)
    keys = ("data", "data_description", "menu_options", "menu_option_descriptions")
    _sections(where, step, keys, report)
    for key in set(step.get("data_description", {})) - set(step.get("data", {})):
        report(f"{where}.data_description.{key}", "describes a field the step does not have")


def _entities(entities: Any, report: Report) -> None:
    for platform, keys in entities.items() if isinstance(entities, Mapping) else ():
        if not SLUG.fullmatch(platform):
            report(f"entity.{platform}", "not a platform")
        for key, entity in keys.items() if isinstance(keys, Mapping) else ():
            where = f"entity.{platform}.{key}"
            if not KEY.match(key):
                report(where, "not a translation key")
            _each(where, entity, ("name",), report)
            if "state" in entity:
                _texts(f"{where}.state", entity["state"], report, placeholders=False)


def _issues(issues: Any, report: Report) -> None:
    for key, issue in issues.items() if isinstance(issues, Mapping) else ():
        where = f"issues.{key}"
        if (why := text_problem(issue.get("title"))) is not None:
            report(f"{where}.title", why)
        if ("description" in issue) == ("fix_flow" in issue):
            report(where, "needs either a description or a fix_flow, not both")
        _each(where, issue, ("description",), report)
        if "fix_flow" in issue:
            _flow(f"{where}.fix_flow", issue["fix_flow"], report)


def _exceptions(exceptions: Any, report: Report) -> None:
    for key, exception in exceptions.items() if isinstance(exceptions, Mapping) else ():
        if not SLUG.fullmatch(key):
            report(f"exceptions.{key}", "not a slug")
        if (why := text_problem(exception.get("message"))) is not None:
            report(f"exceptions.{key}.message", why)


def check_strings(name: str, strings: Any) -> list[Problem]:
    problems: list[Problem] = []

    def report(where: str, why: str) -> None:
        problems.append(Problem(RULE, name, f"{where}: {why}"))

    if not isinstance(strings, Mapping):
        report("(top)", "not an object")
        return problems
    for key in set(strings) - TOP:
        report(key, "not a section of a translation file")
    for section in ("config", "options"):
        if section in strings:
            _flow(section, strings[section], report)
    _entities(strings.get("entity", {}), report)
    _issues(strings.get("issues", {}), report)
    _exceptions(strings.get("exceptions", {}), report)
    return problems


def check_translations(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    strings = load_json(path / "strings.json", RULE, problems)
    english = load_json(path / "translations" / "en.json", RULE, problems)
    if strings is not None:
        problems += check_strings("strings.json", strings)
    if english is not None:
        problems += check_strings("translations/en.json", english)
    if strings is not None and english is not None and strings != english:
        problems.append(Problem(RULE, "translations/en.json", "differs from strings.json"))
    return problems
