"""Home Assistant test harness set-up.

The repo root goes on sys.path and `custom_components` is imported before the `hass` fixture
runs; otherwise Home Assistant's own test config dir would shadow the integration.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import custom_components  # noqa: F401  (must precede the hass fixture)

pytest_plugins = ["pytest_homeassistant_custom_component"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    return None
