"""The validators a Home Assistant custom integration faces, reproduced offline: hassfest's
manifest, translations, icons, services and quality-scale rules, and HACS's repository checks.
Our own code, written from what those tools document and check; `scripts/validate_integration.py`
runs them from the test command, and tests_ha/test_quality_scale.py runs the integration's part
in both Home Assistant environments (the chroot gets tests_ha/, not scripts/).

Each check returns problems, one line each naming the rule and the file; none means it passes.
"""

from __future__ import annotations

from pathlib import Path

from .common import Problem
from .hacs import check_hacs
from .icons import check_icons
from .manifest import check_manifest
from .quality_scale import check_documented, check_quality_scale
from .services import check_services
from .translations import check_translations

__all__ = ["Problem", "check_integration", "check_repository"]


def check_integration(path: Path) -> list[Problem]:
    """hassfest's rules for one integration folder."""
    return [
        *check_manifest(path),
        *check_translations(path),
        *check_icons(path),
        *check_services(path),
        *check_quality_scale(path),
    ]


def check_repository(root: Path) -> list[Problem]:
    """Every integration under custom_components/, and HACS's checks of the repository."""
    problems = check_hacs(root)
    for path in sorted((root / "custom_components").iterdir()):
        if path.is_dir() and not path.name.startswith(("_", ".")):
            problems += check_integration(path)
            problems += check_documented(root, path)
    return problems
