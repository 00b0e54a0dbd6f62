"""The release: one version in every file that states it, the workflows that publish it from one
tagged commit, and the add-on as a prebuilt image with a health check and an AppArmor profile.

The release itself is proven by scripts/release_check.sh and scripts/check_image.sh (README's
test command runs both); these tests read what the workflows and the add-on's files say."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from cmc_mqtt import addon
from cmc_mqtt.version import VERSION
from harness.helpers import TEST_API_KEY
from harness.supervisor_options import supervisor_options

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "cmc-mqtt"
WORKFLOWS = ROOT / ".github" / "workflows"
RELEASE_INFO = ROOT / "scripts" / "release_info.py"
#: Each action's current major version (looked up when the workflows were written); an older
#: one runs on a Node.js that GitHub no longer supports.
MAJORS = {
    "actions/checkout": "v6",
    "actions/setup-python": "v6",
    "actions/upload-artifact": "v7",
    "actions/download-artifact": "v8",
    "docker/setup-qemu-action": "v4",
    "docker/setup-buildx-action": "v4",
    "docker/login-action": "v4",
    "docker/build-push-action": "v7",
    "pypa/gh-action-pypi-publish": "release/v1",
    "home-assistant/actions/hassfest": "master",
    "hacs/action": "main",
}
#: The Supervisor's architectures and Docker's names for them.
PLATFORMS = {"amd64": "linux/amd64", "aarch64": "linux/arm64"}


def release_info() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release_info", RELEASE_INFO)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_release_info(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RELEASE_INFO), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).split("@")[0] == action]


def addon_config() -> dict[str, Any]:
    data = yaml.safe_load((ADDON / "config.yaml").read_text())
    assert isinstance(data, dict)
    return data


# --- one version ------------------------------------------------------------------------------


def test_every_file_states_the_packages_version() -> None:
    version, problems = release_info().problems()
    assert problems == []
    assert version == VERSION
    assert set(release_info().stated_versions()) >= {
        "cmc_mqtt/version.py",
        "custom_components/cmc_mqtt/manifest.json",
        "cmc-mqtt/config.yaml",
        "Dockerfile org.opencontainers.image.version",
        "cmc-mqtt/Dockerfile io.hass.version",
        "cmc-mqtt/Dockerfile org.opencontainers.image.version",
        "CHANGELOG.md (newest release)",
        "cmc-mqtt/CHANGELOG.md (newest)",
    }


def test_a_tag_that_disagrees_with_the_package_is_refused() -> None:
    agreed = run_release_info("check", f"v{VERSION}")
    assert (agreed.returncode, agreed.stdout, agreed.stderr) == (0, f"version={VERSION}\n", "")
    for tag in ("v9.9.9", VERSION, f"v{VERSION}-rc1"):
        refused = run_release_info("check", tag)
        assert refused.returncode == 1, tag
        assert refused.stderr == (
            f"tag {tag}: the package is {VERSION}, so the tag must be v{VERSION}\n"
        )
        assert refused.stdout == ""


def test_a_file_that_disagrees_is_named(tmp_path: Path) -> None:
    for name in release_info().stated_versions():
        path = name.split(" ")[0]
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    manifest = tmp_path / "custom_components/cmc_mqtt/manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "version": "0.0.1"}))
    _version, problems = release_info().problems(root=tmp_path)
    assert problems == [
        f"custom_components/cmc_mqtt/manifest.json: says 0.0.1, the package is {VERSION}"
    ]


def test_the_changelog_keeps_unreleased_above_the_release_and_gives_its_notes() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## .*$", text, re.MULTILINE)
    assert headings[0] == "## [Unreleased]"
    assert re.fullmatch(rf"## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}", headings[1])
    assert f"[Unreleased]: https://github.com/cmc-mqtt/cmc-mqtt/compare/v{VERSION}...HEAD" in text
    assert re.search(rf"^\[{re.escape(VERSION)}\]: https://github\.com/", text, re.MULTILINE)
    notes = run_release_info("notes", VERSION)
    assert notes.returncode == 0, notes.stderr
    assert notes.stdout.startswith("### ")
    assert "## [" not in notes.stdout
    assert run_release_info("notes", "9.9.9").returncode == 1


# --- the workflows ----------------------------------------------------------------------------


def test_every_action_is_at_its_current_major_version() -> None:
    for path in sorted(WORKFLOWS.glob("*.y*ml")):
        for job in workflow(path.name)["jobs"].values():
            for step in job["steps"]:
                if "uses" in step:
                    action, _, ref = step["uses"].partition("@")
                    assert MAJORS.get(action) == ref, f"{path.name}: {step['uses']}"


def test_ci_runs_the_test_command_hassfest_and_hacs_on_every_push_and_pull_request() -> None:
    ci = workflow("ci.yml")
    assert ci["on"] == {"push": None, "pull_request": None}
    jobs = ci["jobs"]
    runs = [s["run"] for s in jobs["test"]["steps"] if "run" in s]
    assert len(runs) == 1
    assert re.fullmatch(r"sudo .* bash scripts/test\.sh", runs[0]), runs[0]
    assert steps_using(jobs["hassfest"], "home-assistant/actions/hassfest")
    (hacs,) = steps_using(jobs["hacs"], "hacs/action")
    assert hacs["with"] == {"category": "integration"}
    script = (ROOT / "scripts" / "test.sh").read_text()
    for proof in ("bash scripts/release_check.sh", "bash scripts/actionlint.sh"):
        assert proof in script
    # The release proof runs before the image check, which builds from its wheel.
    assert script.index("CMC_WHEEL=") < script.index("bash scripts/check_image.sh")


def test_the_release_refuses_a_wrong_tag_before_building_and_checks_what_it_built() -> None:
    release = workflow("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    dist = release["jobs"]["dist"]
    runs = [s.get("run", "") for s in dist["steps"]]
    check = next(i for i, r in enumerate(runs) if "scripts/release_info.py check" in r)
    build = next(i for i, r in enumerate(runs) if "python -m build" in r)
    twine = next(i for i, r in enumerate(runs) if "twine check --strict dist/*" in r)
    assert check < build < twine
    assert dist["steps"][check]["env"] == {"TAG": "${{ github.ref_name }}"}
    assert dist["outputs"]["version"] == "${{ steps.version.outputs.version }}"
    assert dist["steps"][check]["id"] == "version"
    (upload,) = steps_using(dist, "actions/upload-artifact")
    assert upload["with"]["name"] == "dist"


def test_pypi_gets_the_checked_dist_by_trusted_publishing() -> None:
    job = workflow("release.yml")["jobs"]["pypi"]
    assert job["needs"] == "dist"
    assert job["permissions"] == {"id-token": "write"}
    assert job["environment"]["name"] == "pypi"
    (download,) = steps_using(job, "actions/download-artifact")
    assert download["with"] == {"name": "dist", "path": "dist/"}
    (publish,) = steps_using(job, "pypa/gh-action-pypi-publish")
    assert "with" not in publish, "no token or password: trusted publishing"


def test_the_images_hold_the_same_wheel_and_are_what_the_addon_pulls() -> None:
    release = workflow("release.yml")
    registry = release["env"]["REGISTRY"]
    image = addon_config()["image"]
    assert image == registry + "/{arch}-addon-cmc-mqtt"
    for name in ("container", "addon"):
        job = release["jobs"][name]
        assert job["needs"] == "dist"
        assert job["permissions"]["packages"] == "write"
        (download,) = steps_using(job, "actions/download-artifact")
        assert download["with"] == {"name": "dist", "path": "dist/"}
        assert steps_using(job, "docker/setup-qemu-action")
        (build,) = steps_using(job, "docker/build-push-action")
        # The Dockerfiles' `wheels` stage, replaced by the wheel checked and sent to PyPI.
        assert build["with"]["build-contexts"] == "wheels=dist"
        assert build["with"]["push"] is True
        dockerfile = ROOT / build["with"]["context"] / "Dockerfile"
        assert re.search(r"^FROM \S+ AS wheels$", dockerfile.read_text(), re.MULTILINE)
        assert "COPY --from=wheels / /tmp/wheels/" in dockerfile.read_text()
    container = release["jobs"]["container"]["steps"][-1]["with"]
    assert container["context"] == "."
    assert set(container["platforms"].split(",")) == set(PLATFORMS.values())
    assert container["tags"].splitlines() == [
        "${{ env.REGISTRY }}/cmc-mqtt:${{ needs.dist.outputs.version }}",
        "${{ env.REGISTRY }}/cmc-mqtt:latest",
    ]
    job = release["jobs"]["addon"]
    matrix = job["strategy"]["matrix"]["include"]
    assert {m["arch"]: m["platform"] for m in matrix} == PLATFORMS
    assert set(PLATFORMS) == set(addon_config()["arch"])
    build = steps_using(job, "docker/build-push-action")[0]["with"]
    assert build["context"] == "cmc-mqtt"
    assert build["platforms"] == "${{ matrix.platform }}"
    assert build["build-args"] == "BUILD_ARCH=${{ matrix.arch }}"
    tags = [
        t.replace("${{ env.REGISTRY }}", registry).replace("${{ matrix.arch }}", "{arch}")
        for t in build["tags"].splitlines()
    ]
    # The Supervisor pulls `image` at the add-on's `version`: the tag the workflow pushes.
    assert tags == [f"{image}:${{{{ needs.dist.outputs.version }}}}", f"{image}:latest"]


def test_the_github_release_comes_last_with_the_changelog_section() -> None:
    job = workflow("release.yml")["jobs"]["github-release"]
    assert set(job["needs"]) == {"dist", "pypi", "container", "addon"}
    assert job["permissions"] == {"contents": "write"}
    runs = " ".join(s.get("run", "") for s in job["steps"])
    assert 'scripts/release_info.py notes "$VERSION" >notes.md' in runs
    assert re.search(r'gh release create "\$TAG" dist/\*.*--notes-file notes\.md', runs)


# --- the add-on -------------------------------------------------------------------------------


def test_the_addon_pulls_a_prebuilt_image_and_never_installs_from_an_index() -> None:
    cfg = addon_config()
    assert "{arch}" in cfg["image"]
    assert not [p.name for p in ADDON.iterdir() if p.stem == "build"], "build.yaml is deprecated"
    dockerfile = (ADDON / "Dockerfile").read_text()
    assert "BUILD_FROM" not in dockerfile
    assert "cmc-mqtt==" not in dockerfile
    assert re.search(r"pip install .*/tmp/wheels/cmc_mqtt-\*\.whl", dockerfile)
    assert re.search(r'^LABEL io\.hass\.version="[^"]+" \\$', dockerfile, re.MULTILINE)
    assert 'io.hass.arch="${BUILD_ARCH}"' in dockerfile
    assert re.search(r'io\.hass\.type="app"', dockerfile)


def test_the_addons_health_check_reads_the_config_the_addon_writes(tmp_path: Path) -> None:
    """The watchdog acts on Docker's HEALTHCHECK: it must read the config `run.sh` writes."""
    dockerfile = (ADDON / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert match
    command = json.loads(match.group(1))
    assert command[:3] == ["/opt/cmc-mqtt/bin/python", "-m", "cmc_mqtt.health"]
    assert command[3] == "--config"
    options = supervisor_options(
        addon_config(), {"api_key": TEST_API_KEY, "mqtt_host": "127.0.0.1"}
    )
    (tmp_path / "options.json").write_text(json.dumps(options))
    written, _line = addon.prepare({addon.DATA_ENV: str(tmp_path)})
    assert Path(command[4]) == Path("/data") / written.relative_to(tmp_path)


def test_the_addon_folder_has_what_the_store_shows() -> None:
    for name in ("README.md", "DOCS.md", "CHANGELOG.md", "apparmor.txt", "icon.png", "logo.png"):
        assert (ADDON / name).is_file(), name
    readme = (ADDON / "README.md").read_text()
    assert readme.startswith("# cmc-mqtt\n")
    changelog = (ADDON / "CHANGELOG.md").read_text()
    assert re.findall(r"^## (\S+)$", changelog, re.MULTILINE)[0] == VERSION


def test_the_apparmor_profile_is_named_after_the_slug_and_writes_only_data_and_tmp() -> None:
    """The Supervisor reads the one top-level `profile NAME` (and renames it for the installed
    add-on); a second one, or another name, and it refuses the add-on."""
    text = (ADDON / "apparmor.txt").read_text()
    assert re.findall(r"^profile (\S+)", text, re.MULTILINE) == [addon_config()["slug"]]
    writable = re.findall(r"^\s+(\S+) \w*w\w*,$", text, re.MULTILINE)
    assert writable == ["/data/", "/data/**", "/tmp/", "/tmp/**", "/dev/null", "/dev/tty"]
    assert not re.search(r"^\s+(capability|mount|ptrace|file)\b", text, re.MULTILINE)


@pytest.mark.skipif(
    not shutil.which("apparmor_parser"),
    reason="apparmor_parser not installed (apt-get install apparmor)",
)
def test_apparmor_parses_the_profile() -> None:
    profile = str(ADDON / "apparmor.txt")
    result = subprocess.run(
        ["apparmor_parser", "--skip-kernel-load", "--skip-cache", "-Q", profile],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
