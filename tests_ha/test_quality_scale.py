"""quality_scale.yaml stays true: every bronze, silver and gold rule done or exempt with a reason,
hassfest's own checks of the rules marked done (reproduced in validators/), and the claims it
makes that can be read from the code: PARALLEL_UPDATES on every platform, a translation for
every exception raised and every refusal of the bridge, a data_description for every field of
every step, the noisy diagnostics disabled by default, icons only from icons.json.

Every form the tests show is checked for its fields' descriptions too (conftest.py)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from custom_components.cmc_mqtt.bridge_entities import BRIDGE_ENTITIES, NOISY
from custom_components.cmc_mqtt.bridge_requests import REASONS
from custom_components.cmc_mqtt.sensor import SENSORS

from .validators import check_integration
from .validators.quality_scale import TIERS, statuses

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "cmc_mqtt"
STRINGS: dict[str, Any] = json.loads((INTEGRATION / "strings.json").read_text())
SCALE: dict[str, Any] = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())
#: The bridge's reasons for refusing, and its silence: each is a translated error.
REQUEST_REASONS = sorted({*REASONS.values(), "refused", "no_answer"})


def modules() -> list[Path]:
    return sorted(INTEGRATION.glob("*.py"))


def test_hassfests_rules_pass() -> None:
    assert [str(problem) for problem in check_integration(INTEGRATION)] == []


@pytest.mark.parametrize("tier", ["bronze", "silver", "gold", "platinum"])
def test_every_rule_is_done_or_exempt_with_a_reason(tier: str) -> None:
    found, wrong = statuses(SCALE)
    assert wrong == []
    for rule in TIERS[tier]:
        assert found.get(rule) in ("done", "exempt"), rule
        assert SCALE["rules"][rule]["comment"].strip(), rule


def test_every_platform_sets_parallel_updates() -> None:
    platforms = {"binary_sensor": 0, "button": 1, "sensor": 0}
    for platform, expected in platforms.items():
        module = ast.parse((INTEGRATION / f"{platform}.py").read_text())
        values = [
            item.value.value
            for item in module.body
            if isinstance(item, ast.Assign)
            and getattr(item.targets[0], "id", None) == "PARALLEL_UPDATES"
            and isinstance(item.value, ast.Constant)
        ]
        assert values == [expected], platform


def raised_translation_keys() -> set[str]:
    """Every literal translation_key= of an exception the code raises."""
    keys = set()
    for path in modules():
        for raised in ast.walk(ast.parse(path.read_text())):
            for node in ast.walk(raised) if isinstance(raised, ast.Raise) else ():
                if isinstance(node, ast.keyword) and node.arg == "translation_key":
                    assert isinstance(node.value, ast.Constant | ast.JoinedStr), path.name
                    if isinstance(node.value, ast.Constant):
                        keys.add(node.value.value)
    return keys


def test_every_exception_has_a_translation() -> None:
    exceptions = STRINGS["exceptions"]
    assert "mqtt_not_connected" in raised_translation_keys()
    assert raised_translation_keys() <= set(exceptions)
    for reason in REQUEST_REASONS:  # `request_{reason}` in bridge_requests.translated
        assert f"request_{reason}" in exceptions, reason


def test_every_refusal_has_a_translation_where_it_is_shown() -> None:
    fix_flow = STRINGS["issues"]["duplicate_entities"]["fix_flow"]
    for errors in (STRINGS["options"]["error"], fix_flow["error"]):
        assert set(REQUEST_REASONS) <= set(errors)


def test_every_issue_has_its_texts() -> None:
    issues = STRINGS["issues"]
    assert set(issues) == {"duplicate_entities", "credit_budget", "credit_budget_stopped"}
    assert set(issues["duplicate_entities"]["fix_flow"]["step"]) == {
        "init",
        "turn_off_discovery",
        "remove_entry",
    }


def steps() -> list[tuple[str, dict[str, Any]]]:
    found = [(f"{flow}.{step_id}", step) for flow in ("config", "options")
             for step_id, step in STRINGS[flow]["step"].items()]  # fmt: skip
    for key, issue in STRINGS["issues"].items():
        for step_id, step in issue.get("fix_flow", {}).get("step", {}).items():
            found.append((f"issues.{key}.{step_id}", step))
    return found


@pytest.mark.parametrize(("where", "step"), steps(), ids=[where for where, _ in steps()])
def test_every_field_of_every_step_is_described(where: str, step: dict[str, Any]) -> None:
    assert set(step.get("data_description", {})) == set(step.get("data", {})), where
    assert step.get("title"), where


def test_the_noisy_diagnostics_are_disabled_by_default() -> None:
    assert {"frames", "frame_rate", "last_frame"} == NOISY
    for entity in BRIDGE_ENTITIES:
        assert entity.enabled_by_default is (entity.key not in NOISY), entity.key
        assert entity.category in ("diagnostic", "config"), entity.key


def test_icons_come_from_icons_json_only() -> None:
    for path in modules():
        assert "_attr_icon" not in path.read_text(), path.name
    assert all(description.icon is None for description in SENSORS)
