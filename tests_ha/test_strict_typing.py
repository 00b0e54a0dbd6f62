"""Platinum's strict-typing: `mypy --strict` finds nothing in custom_components/cmc_mqtt against
the Home Assistant installed here, so the one run in each environment checks it against 2024.3
and the current version. The settings are mypy.ini's (strict for our code; how to read Home
Assistant's own modules)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from homeassistant.const import __version__ as HA_VERSION

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "mypy.ini"
#: Seconds at the most; a first run without a cache reads much of Home Assistant.
TIMEOUT_S = 900


def test_mypy_strict_finds_nothing() -> None:
    cache = Path(tempfile.gettempdir()) / f"cmc-mqtt-mypy-{HA_VERSION}-{sys.version_info[:2]}"
    command = [sys.executable, "-m", "mypy", "--config-file", str(CONFIG), "--cache-dir",
               str(cache), "--no-error-summary", "custom_components/cmc_mqtt"]  # fmt: skip
    run = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert (run.returncode, run.stdout + run.stderr) == (0, "")
