"""What users install: the wheel and sdist, the image recipes and the systemd unit. One version
everywhere and the release pipeline: tests/test_release.py."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from cmc_mqtt.version import VERSION
from harness.helpers import TEST_API_KEY

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
HOMEPAGE = PYPROJECT["project"]["urls"]["Homepage"]
UNIT = ROOT / "examples" / "cmc-mqtt.service"


def test_the_readme_names_the_repository_for_hacs_and_the_addon_store() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running it for good", 1)[1].split("\n## ", 1)[0]
    assert HOMEPAGE in section
    assert "HACS" in section
    releasing = (ROOT / "docs" / "releasing.md").read_text()
    assert re.search(r"git tag -a v(X\.Y\.Z|\d+\.\d+\.\d+)", releasing)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Run from `out`: from the checkout, setuptools' own build/ folder would shadow the package.
    probe = subprocess.run(
        [sys.executable, "-m", "build", "--version"],
        cwd=out,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip("the `build` package is not installed (pip install build): wheel not checked")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_the_wheel_holds_the_package_only(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    assert wheel.name == f"cmc_mqtt-{VERSION}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    info = f"cmc_mqtt-{VERSION}.dist-info/"
    assert [n for n in names if not n.startswith(("cmc_mqtt/", info))] == []
    assert "cmc_mqtt/py.typed" in names
    assert "cmc_mqtt/simulator/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    metadata = Parser().parsestr(zipfile.ZipFile(wheel).read(info + "METADATA").decode())
    assert metadata["Name"] == "cmc-mqtt"
    assert metadata["Version"] == VERSION
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert f"Homepage, {HOMEPAGE}" in metadata.get_all("Project-URL")
    entry_points = zipfile.ZipFile(wheel).read(info + "entry_points.txt").decode()
    assert re.search(r"^cmc-mqtt = cmc_mqtt\.cli:\w+$", entry_points, re.MULTILINE)
    # PEP 639: the licence as an SPDX expression, its text in the wheel.
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert zipfile.ZipFile(wheel).read(info + "licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()


def test_the_sdist_builds_the_same_package(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    top = f"cmc_mqtt-{VERSION}/"
    for needed in ("pyproject.toml", "README.md", "LICENSE", "PKG-INFO", "cmc_mqtt/version.py"):
        assert top + needed in names
    # The test suite needs the repository (harness, fixtures, services): not half of it here.
    assert not [n for n in names if n.startswith(top + "tests")]


def test_twine_check_passes(dist: Path) -> None:
    twine = shutil.which("twine") or (
        shutil.which("twine", path=str(Path(sys.executable).parent))
        if importlib.util.find_spec("twine")
        else None
    )
    if twine is None:
        pytest.skip("twine is not installed (pip install twine): `twine check` not run")
    result = subprocess.run(
        [twine, "check", "--strict", *map(str, dist.iterdir())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the image recipes -------------------------------------------------------------------------


def apt_packages(text: str) -> set[str]:
    match = re.search(r"apt-get install -y --no-install-recommends ([\w\s.-]+?)\s*\\", text)
    assert match, "no apt-get install line"
    return set(match.group(1).split())


def test_the_image_check_builds_what_the_dockerfiles_build() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    addon_dockerfile = (ROOT / "cmc-mqtt" / "Dockerfile").read_text()
    script = (ROOT / "scripts" / "check_image.sh").read_text()
    runtime = dockerfile.split("\nFROM ")[-1]
    addon_runtime = addon_dockerfile.split("\nFROM ")[-1]
    assert runtime.startswith("debian:bookworm-slim\n")
    assert addon_runtime.startswith("debian:bookworm-slim\n")
    included = re.search(r"debootstrap --variant=minbase --include=([\w,.-]+)", script)
    assert included
    assert re.search(r"^\s+bookworm ", script, re.MULTILINE)
    assert set(included.group(1).split(",")) == apt_packages(runtime)
    assert apt_packages(addon_runtime) == apt_packages(runtime)
    # Both install the one wheel into the same venv, as the script does.
    for text in (runtime, addon_runtime, script):
        assert "python3 -m venv /opt/cmc-mqtt" in text
        assert re.search(r"/opt/cmc-mqtt/bin/pip install .*/tmp/wheels/cmc_mqtt-\*\.whl", text)
    for line in ("useradd --uid 10001 --user-group", "/var/cache/cmc-mqtt"):
        assert line in runtime, line
        assert line in script, line
    assert re.search(r"^USER cmc$", runtime, re.MULTILINE)
    assert 'ENTRYPOINT ["cmc-mqtt"]' in runtime
    assert 'CMD ["run"]' in runtime
    assert 'CMD ["python", "-m", "cmc_mqtt.health"]' in runtime
    # The script runs each image's HEALTHCHECK as its Dockerfile states it.
    assert 'healthcheck "$REPO/Dockerfile"' in script
    assert 'healthcheck "$REPO/cmc-mqtt/Dockerfile"' in script
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE):
        for source in copied.split():
            assert (ROOT / source).exists(), source


def test_dockerignore_lets_in_only_what_the_build_copies() -> None:
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert {line[1:].rstrip("/") for line in lines if line.startswith("!")} == {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "cmc_mqtt",
    }


# --- the systemd unit --------------------------------------------------------------------------


def unit_lines(key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", UNIT.read_text(), re.MULTILINE)


def test_the_unit_is_hardened() -> None:
    text = UNIT.read_text()
    for line in (
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "CacheDirectory=cmc-mqtt",
        "RestartPreventExitStatus=2",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.MULTILINE), line
    assert "api_key:/etc/cmc-mqtt/api_key" in unit_lines("LoadCredential")
    assert "api_key" not in " ".join(unit_lines("ExecStart"))


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_analyze_verifies_the_unit_without_a_word(tmp_path: Path) -> None:
    # `verify` checks that ExecStart's program exists: point it at this environment's command.
    command = Path(sys.executable).parent / "cmc-mqtt"
    unit = tmp_path / "cmc-mqtt.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/cmc-mqtt", str(command)))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_units_credentials_and_cache_make_a_working_config(tmp_path: Path) -> None:
    """The unit's own lines, with systemd's `%d` (credentials) and `%C` (cache root) filled in
    as systemd would: the config without a key plus the key credential pass check-config."""
    credentials, cache = tmp_path / "credentials", tmp_path / "cache"
    credentials.mkdir()
    (credentials / "config.toml").write_text("[cmc]\ncrypto_ids = [1, 1027]\n")
    (credentials / "api_key").write_text(TEST_API_KEY + "\n")
    for path in credentials.iterdir():
        path.chmod(0o400)

    def fill(text: str) -> str:
        return text.replace("%d", str(credentials)).replace("%C", str(cache))

    env = {k: v for k, v in os.environ.items() if not k.startswith("CMC_")}
    for line in unit_lines("Environment"):
        for assignment in line.split():
            key, _, value = assignment.partition("=")
            env[key] = fill(value)
    (exec_start,) = unit_lines("ExecStart")
    argv = fill(exec_start).split()[1:]
    assert argv[0] == "run"
    result = subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "check-config", *argv[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "2 coins" in result.stdout
    assert TEST_API_KEY not in result.stdout + result.stderr
