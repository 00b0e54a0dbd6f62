"""The release's one version, read from every file that states it, and its changelog section.

    python scripts/release_info.py check [TAG]   every file agrees (and with TAG, e.g. v0.3.0);
                                                 prints `version=X.Y.Z` (a GitHub step output)
    python scripts/release_info.py notes X.Y.Z   CHANGELOG.md's section for that version

The release workflow runs `check` on the pushed tag before it builds anything, so a tag that
disagrees with the package publishes nothing; tests/test_release.py runs it on every test run,
so the files cannot drift apart in between. Standard library only: the workflow runs it before
installing anything.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RE_VERSION = re.compile(r"\d+\.\d+\.\d+")
RE_RELEASE = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\d{4}-\d{2}-\d{2})$", re.MULTILINE)
RE_ADDON_RELEASE = re.compile(r"^## (?P<version>\d+\.\d+\.\d+)$", re.MULTILINE)


def _one(pattern: str, text: str, where: str) -> str:
    found = re.findall(pattern, text, re.MULTILINE)
    if len(found) != 1:
        raise ValueError(f"{where}: expected one match of {pattern!r}, found {len(found)}")
    return str(found[0])


def stated_versions(root: Path = ROOT) -> dict[str, str]:
    """Where the version is written, and what each place says."""
    versions = {
        "cmc_mqtt/version.py": _one(
            r'^VERSION: Final = "([^"]+)"$',
            (root / "cmc_mqtt/version.py").read_text(),
            "cmc_mqtt/version.py",
        ),
        "custom_components/cmc_mqtt/manifest.json": str(
            json.loads((root / "custom_components/cmc_mqtt/manifest.json").read_text())["version"]
        ),
        "cmc-mqtt/config.yaml": _one(
            r'^version: "([^"]+)"$', (root / "cmc-mqtt/config.yaml").read_text(), "config.yaml"
        ),
    }
    for dockerfile in ("Dockerfile", "cmc-mqtt/Dockerfile"):
        text = (root / dockerfile).read_text()
        for label in ("org.opencontainers.image.version", "io.hass.version"):
            if label in text:
                versions[f"{dockerfile} {label}"] = _one(
                    rf'{re.escape(label)}="([^"]+)"', text, dockerfile
                )
    releases = RE_RELEASE.findall((root / "CHANGELOG.md").read_text())
    versions["CHANGELOG.md (newest release)"] = releases[0][0] if releases else "none"
    addon_releases = RE_ADDON_RELEASE.findall((root / "cmc-mqtt/CHANGELOG.md").read_text())
    versions["cmc-mqtt/CHANGELOG.md (newest)"] = addon_releases[0] if addon_releases else "none"
    return versions


def problems(tag: str | None = None, root: Path = ROOT) -> tuple[str, list[str]]:
    """The package's version and every disagreement with it, one line each."""
    versions = stated_versions(root)
    version = versions["cmc_mqtt/version.py"]
    lines = []
    if not RE_VERSION.fullmatch(version):
        lines.append(f"cmc_mqtt/version.py: {version!r} is not X.Y.Z")
    lines.extend(
        f"{where}: says {said}, the package is {version}"
        for where, said in versions.items()
        if said != version
    )
    if tag is not None and tag != f"v{version}":
        lines.append(f"tag {tag}: the package is {version}, so the tag must be v{version}")
    return version, lines


def notes(version: str, root: Path = ROOT) -> str:
    """CHANGELOG.md's section for `version`, without its heading: the GitHub release's text."""
    text = (root / "CHANGELOG.md").read_text()
    for match in RE_RELEASE.finditer(text):
        if match["version"] == version:
            following = re.compile(r"^## |^\[[^\]]+\]: ", re.MULTILINE).search(text, match.end())
            body = text[match.end() : following.start() if following else len(text)].strip()
            if not body:
                raise ValueError(f"CHANGELOG.md: the section for {version} is empty")
            return body + "\n"
    raise ValueError(f"CHANGELOG.md: no section '## [{version}] - <date>'")


def main(argv: Sequence[str]) -> int:
    if len(argv) >= 1 and argv[0] == "check" and len(argv) <= 2:
        version, lines = problems(argv[1] if len(argv) == 2 else None)
        for line in lines:
            print(line, file=sys.stderr)
        if lines:
            return 1
        print(f"version={version}")
        return 0
    if len(argv) == 2 and argv[0] == "notes":
        try:
            print(notes(argv[1]), end="")
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
