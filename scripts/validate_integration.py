"""The checks hassfest and HACS make of this repository's Home Assistant integration, offline:
the test command runs this (the real GitHub actions run in CI, where there is a network).

Reproduced from hassfest (home-assistant/actions/hassfest), for a custom integration:
- manifest: the keys it knows and their types, domain = folder, iot_class, version, a
  documentation address of our own, `mqtt` topic filters, the keys in hassfest's order;
- translations: strings.json and translations/en.json (identical), their sections and keys,
  texts without HTML, URLs, stray blanks, combined references or placeholders in single quotes
  (`'{prefix}'`), data_description only for fields a step has, issues with a title and either
  a description or a fix flow, exception messages;
- icons: icons.json's sections, mdi: icons by entity translation key (each naming an entity
  of strings.json), no state icon equal to the default;
- services: actions registered in code are described (services.yaml, strings, icons), and
  nothing is described that is not registered;
- quality_scale: quality_scale.yaml in hassfest's format, and hassfest's code checks of the
  rules marked done (config-flow, config-entry-unloading, diagnostics, discovery,
  has-entity-name, parallel-updates, reconfiguration-flow, runtime-data with typed entries,
  test-before-setup, unique-config-entry).

Reproduced from HACS (hacs/action, category integration): hacsjson, integration_manifest,
information, license, brands (the integration's own brand images). Not reproduced: archived,
description, issues and topics (GitHub repository settings).

The rules live in tests_ha/validators/, so that tests_ha/test_quality_scale.py runs the
integration's part inside both Home Assistant environments as well.

    python scripts/validate_integration.py     one line per problem; exit 1 if any
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests_ha.validators import check_repository  # noqa: E402


def main() -> int:
    problems = check_repository(ROOT)
    for problem in problems:
        print(problem, file=sys.stderr)
    checked = len(list((ROOT / "custom_components").glob("*/manifest.json")))
    print(f"hassfest and HACS rules: {checked} integration, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
