"""README is where users start: short, and every command in its quick start and install
sections works. Those that can run here are run (in a clean clone, with `sudo` dropped and
system folders moved into a temporary one); those that cannot (docker, apt, systemd) are checked
for the names and versions they use. A command added to those sections without either fails
`test_every_command_is_run_or_checked`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from cmc_mqtt.config import load_settings
from cmc_mqtt.version import VERSION
from harness.helpers import TEST_API_KEY, free_port

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
HOMEPAGE = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Homepage"]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
SECTIONS = ("Quick start: the demo", "Running it for good")
MAX_LINES = 400

QUICK_START = (
    "python3 -m venv .venv && .venv/bin/pip install -q '.[demo]' && .venv/bin/cmc-mqtt demo"
)
TEST_COMMAND = "bash scripts/test.sh"
PIPX = "sudo PIPX_HOME=/opt/pipx PIPX_BIN_DIR=/usr/local/bin pipx"
CLONE = f"git clone {HOMEPAGE} && cd cmc-mqtt"
DOCKER_RUN = (
    "docker run -d --name cmc-mqtt --restart unless-stopped "
    "-e CMC_API_KEY=your-key -e CMC_MQTT_CMC_CRYPTO_IDS=1,1027 -e CMC_MQTT_MQTT_HOST=192.168.1.10 "
    f"ghcr.io/cmc-mqtt/cmc-mqtt:{VERSION}"
)
#: Run by test_the_pi_install_from_a_clone_configures_and_checks, in this order.
PI_FROM_A_CLONE = (
    CLONE,
    f"{PIPX} install .",
    "sudo install -d -m 0700 /etc/cmc-mqtt",
    "sudo sh -c 'umask 077; cat > /etc/cmc-mqtt/api_key'                   # paste the key, Ctrl-D",
    "printf '[cmc]\\ncrypto_ids = [1, 1027]\\n\\n[mqtt]\\nhost = \"localhost\"\\n' "
    "| sudo sh -c 'umask 077; cat > /etc/cmc-mqtt/config.toml'",
    "sudo CMC_MQTT_CMC_API_KEY_FILE=/etc/cmc-mqtt/api_key cmc-mqtt check-config "
    "--config /etc/cmc-mqtt/config.toml",
    "sudo cp examples/cmc-mqtt.service /etc/systemd/system/",
)
RUN = (QUICK_START, *PI_FROM_A_CLONE)
#: Not runnable here: each is checked by test_the_commands_that_cannot_run_here_name_what_exists.
CHECKED = (
    "sudo apt install pipx",
    f"{PIPX} install {PROJECT}",
    DOCKER_RUN,
    "sudo systemctl daemon-reload && sudo systemctl enable --now cmc-mqtt",
)


def section(title: str) -> str:
    parts = README.split(f"\n## {title}\n", 1)
    assert len(parts) == 2, f"README has no section '## {title}'"
    return parts[1].split("\n## ", 1)[0]


def shell_commands(text: str) -> list[str]:
    """Every command of the ```sh blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        joined = re.sub(r"\\\n\s*", "", block)
        commands.extend(line.strip() for line in joined.splitlines() if line.strip())
    return commands


def readme_commands() -> list[str]:
    return [c for title in SECTIONS for c in shell_commands(section(title))]


def clone(into: Path) -> Path:
    """A clean clone at this checkout's commit, as a user gets from GitHub."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(into)], check=True, timeout=120)
    subprocess.run(["git", "checkout", "-q", "--detach", head], cwd=into, check=True, timeout=60)
    return into


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= MAX_LINES


def test_the_readme_keeps_its_two_commands() -> None:
    assert shell_commands(section("Quick start: the demo")) == [QUICK_START]
    assert TEST_COMMAND in shell_commands(README)


def test_every_command_is_run_or_checked() -> None:
    assert sorted(readme_commands()) == sorted(RUN + CHECKED)


def test_the_readmes_links_lead_somewhere() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if target.startswith("https://"):
            continue
        assert (ROOT / target).exists(), target


def wait_for_price(log: Path, process: subprocess.Popen[bytes], timeout: float) -> str:
    price = re.compile(r"^Bitcoin \(BTC\) +\$[0-9][0-9,.]* .* online$", re.MULTILINE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = price.search(log.read_text(errors="replace"))
        if found:
            return found.group(0)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"no price from the demo: {log.read_text(errors='replace')[-2000:]}")


@pytest.mark.timeout(400)
def test_the_quick_start_command_sets_up_and_runs_the_demo(tmp_path: Path) -> None:
    """The quick start, word for word, in a fresh clone; only the broker port is chosen (1883
    may be taken here). `exec` makes the demo the process that Ctrl-C (SIGINT) reaches."""
    checkout = clone(tmp_path / "cmc-mqtt")
    command = QUICK_START.replace(
        "&& .venv/bin/cmc-mqtt demo", f"&& exec .venv/bin/cmc-mqtt demo --port {free_port()}"
    )
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", command], cwd=checkout, stdout=out, stderr=subprocess.STDOUT, env=env
        )
        try:
            wait_for_price(log, process, timeout=300)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0, log.read_text()[-2000:]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "Traceback" not in log.read_text()


@pytest.mark.timeout(400)
def test_the_pi_install_from_a_clone_configures_and_checks(tmp_path: Path) -> None:
    """The Raspberry Pi section from a clone, as one shell session: `sudo` dropped, /etc, /opt
    and /usr/local moved under a temporary folder, the clone made from this checkout, pipx from
    the test environment, the key typed on standard input."""
    system = tmp_path / "system"
    (system / "etc" / "systemd" / "system").mkdir(parents=True)
    pipx = Path(sys.executable).parent / "pipx"
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    replacements = {
        CLONE: f"git clone -q {ROOT} cmc-mqtt && cd cmc-mqtt && git checkout -q --detach {head}"
    }
    lines = ["set -euo pipefail"]
    for command in PI_FROM_A_CLONE:
        line = replacements.get(command, command)
        line = re.sub(r"(^|&& |\| )sudo ", r"\1", line)
        line = line.replace("/etc/", f"{system}/etc/").replace("/opt/pipx", f"{system}/opt/pipx")
        line = line.replace("/usr/local/bin", f"{system}/bin")
        line = re.sub(r"(^|\s)pipx ", rf"\1{pipx} ", line)
        lines.append(line)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CMC_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{system}/bin:{env['PATH']}"
    env["HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        ["bash", "-c", "\n".join(lines)], cwd=tmp_path, input=TEST_API_KEY + "\n",
        capture_output=True, text=True, timeout=380, check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "config.toml: OK (2 coins, broker localhost:1883" in result.stdout
    assert TEST_API_KEY not in result.stdout + result.stderr
    config = system / "etc" / "cmc-mqtt"
    assert config.stat().st_mode & 0o777 == 0o700
    assert (config / "api_key").stat().st_mode & 0o777 == 0o600
    assert (config / "config.toml").stat().st_mode & 0o777 == 0o600
    assert (config / "api_key").read_text().strip() == TEST_API_KEY
    said = subprocess.run(
        [str(system / "bin" / "cmc-mqtt"), "--version"], capture_output=True, text=True, check=True
    )
    assert said.stdout.strip() == f"cmc-mqtt {VERSION}"
    assert (system / "etc" / "systemd" / "system" / "cmc-mqtt.service").is_file()


def test_the_commands_that_cannot_run_here_name_what_exists(tmp_path: Path) -> None:
    # pipx from PyPI: the package's own name, installed where the systemd unit runs it from.
    assert PROJECT == "cmc-mqtt"
    unit = (ROOT / "examples" / "cmc-mqtt.service").read_text()
    assert "ExecStart=/usr/local/bin/cmc-mqtt run" in unit
    # systemctl: the unit is named as the file copied.
    assert (ROOT / "examples" / "cmc-mqtt.service").exists()
    # docker: the image the release workflow pushes, at this version; its variables are options.
    registry = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())["env"]
    assert DOCKER_RUN.endswith(f"{registry['REGISTRY']}/cmc-mqtt:{VERSION}")
    variables = dict(re.findall(r"-e (\w+)=(\S+)", DOCKER_RUN))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMC_")} | variables
    checked = subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "check-config"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "2 coins, broker 192.168.1.10:1883" in checked.stdout
    # compose: the same image and version.
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert compose["services"]["cmc-mqtt"]["image"] == f"{registry['REGISTRY']}/cmc-mqtt:{VERSION}"
    # The add-on store and HACS: the repository's address, and what they read there.
    running = section("Running it for good")
    assert running.count(HOMEPAGE) >= 2
    assert yaml.safe_load((ROOT / "repository.yaml").read_text())["url"] == HOMEPAGE
    assert (ROOT / "hacs.json").exists()
    addon_image = yaml.safe_load((ROOT / "cmc-mqtt" / "config.yaml").read_text())["image"]
    assert f"`{addon_image}`" in running


def test_the_readmes_configuration_example_is_valid(tmp_path: Path) -> None:
    (example,) = re.findall(r"^```toml\n(.*?)^```$", section("Configuration"), re.M | re.S)
    key = tmp_path / "api_key"
    key.write_text(TEST_API_KEY + "\n")
    key.chmod(0o600)
    config = tmp_path / "config.toml"
    config.write_text(example.replace("/etc/cmc-mqtt/api_key", str(key)))
    config.chmod(0o600)
    settings = load_settings(config, environ={})
    assert settings.stream.crypto_ids == (1, 1027, 52)
    assert settings.fx.currency == "EUR"


def test_every_image_reference_in_the_documentation_is_this_version() -> None:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for tag in re.findall(r"ghcr\.io/cmc-mqtt/[\w{}.-]+:(\d[\w.]*)", path.read_text()):
            assert tag == VERSION, f"{path.name}: an image tagged {tag}"
