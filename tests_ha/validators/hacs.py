"""HACS's checks of an integration repository that can be made without GitHub's API:

- hacsjson: hacs.json exists, names the integration, has only the keys HACS knows (typed as it
  wants them), a Home Assistant version, and no zip_release without a filename;
- integration_manifest: exactly one integration under custom_components/, its folder the
  manifest's domain, and the manifest keys HACS requires (codeowners, documentation, domain,
  issue_tracker, name, version) with addresses and a version;
- information: a README (or info) file at the top;
- license: a LICENSE file whose text is an OSI-approved licence HACS recognises;
- brands: the integration's own brand images (brand/icon.png; HACS's online check looks the
  domain up in home-assistant/brands, which Home Assistant 2026.3 and later no longer need).

Not reproduced (GitHub repository settings, checked by the real action in CI): archived,
description, issues, topics. images applies to plugins and themes only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from .common import VERSION, Problem, is_url, load_json

HACS_KEYS: Final[dict[str, type]] = {
    "name": str, "content_in_root": bool, "country": object, "filename": str, "hacs": str,
    "hide_default_branch": bool, "homeassistant": str, "persistent_directory": str,
    "render_readme": bool, "zip_release": bool,
}  # fmt: skip
MANIFEST_KEYS: Final = ("codeowners", "documentation", "domain", "issue_tracker", "name", "version")
#: The first words of the licences HACS is most often given, all OSI approved.
LICENCES: Final = {
    "MIT License": "MIT",
    "Apache License": "Apache-2.0",
    "GNU GENERAL PUBLIC LICENSE": "GPL",
    "GNU LESSER GENERAL PUBLIC LICENSE": "LGPL",
    "Mozilla Public License": "MPL-2.0",
    "BSD 3-Clause License": "BSD-3-Clause",
    "BSD 2-Clause License": "BSD-2-Clause",
    "ISC License": "ISC",
}


def _hacs_json(root: Path) -> list[Problem]:
    problems: list[Problem] = []
    rule = "hacs hacsjson"
    data: Any = load_json(root / "hacs.json", rule, problems)
    if data is None:
        return problems
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return [Problem(rule, "hacs.json", "needs an object with a name")]
    for key, value in data.items():
        kind = HACS_KEYS.get(key)
        if kind is None:
            problems.append(Problem(rule, "hacs.json", f"{key} is not a key HACS knows"))
        elif not isinstance(value, kind):
            why = f"{key}: {value!r} is not a {kind.__name__}"
            problems.append(Problem(rule, "hacs.json", why))
    if "homeassistant" in data and not VERSION.fullmatch(str(data["homeassistant"])):
        problems.append(Problem(rule, "hacs.json", "homeassistant is not a version"))
    if data.get("zip_release") and not data.get("filename"):
        problems.append(Problem(rule, "hacs.json", "zip_release needs a filename"))
    return problems


def _integration(root: Path) -> list[Problem]:
    rule = "hacs integration_manifest"
    folder = root / "custom_components"
    found = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))]
    if len(found) != 1:
        return [Problem(rule, "custom_components", f"holds {len(found)} integrations, not one")]
    problems: list[Problem] = []
    manifest: Any = load_json(found[0] / "manifest.json", rule, problems) or {}
    name = f"custom_components/{found[0].name}/manifest.json"
    for key in MANIFEST_KEYS:
        if not manifest.get(key):
            problems.append(Problem(rule, name, f"{key} is required"))
    if manifest.get("domain") != found[0].name:
        problems.append(Problem(rule, name, "the folder is not named after the domain"))
    for key in ("documentation", "issue_tracker"):
        if key in manifest and not is_url(manifest[key]):
            problems.append(Problem(rule, name, f"{key} is not an address"))
    if not VERSION.fullmatch(str(manifest.get("version", ""))):
        problems.append(Problem(rule, name, "version is not a version"))
    if not (found[0] / "brand" / "icon.png").is_file():
        problems.append(Problem("hacs brands", f"{found[0].name}/brand", "no icon.png"))
    return problems


def _repository_files(root: Path) -> list[Problem]:
    names = {p.name.lower() for p in root.iterdir()}
    problems = []
    if not names & {"readme", "readme.md", "info", "info.md"}:
        problems.append(Problem("hacs information", ".", "no README or info file"))
    licence = root / "LICENSE"
    text = licence.read_text(encoding="utf-8").strip() if licence.is_file() else ""
    if not text:
        problems.append(Problem("hacs license", "LICENSE", "missing: HACS wants an OSI licence"))
    elif not any(text.startswith(start) for start in LICENCES):
        problems.append(Problem("hacs license", "LICENSE", "not a licence HACS recognises"))
    return problems


def check_hacs(root: Path) -> list[Problem]:
    return [*_hacs_json(root), *_integration(root), *_repository_files(root)]
