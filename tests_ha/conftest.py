"""Home Assistant test harness set-up, shared by both Home Assistant versions we test.

The repo root goes on sys.path and `custom_components` is imported before the `hass` fixture
runs; otherwise Home Assistant's own test config dir would shadow the integration.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import custom_components  # noqa: F401  (must precede the hass fixture)

pytest_plugins = ["pytest_homeassistant_custom_component"]

#: How Home Assistant words a deprecated call it found in our integration ("Detected that
#: custom integration 'cmc_mqtt' calls ..."): logged for custom integrations, never raised.
OUR_DEPRECATED_CALLS = "integration 'cmc_mqtt'"


def pytest_report_header() -> str:
    return f"Home Assistant {HA_VERSION}"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    return None


@pytest.fixture(autouse=True)
def no_deprecated_calls_of_ours(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Home Assistant only logs what a custom integration calls that will stop working; here
    that fails the test. (Deprecated calls from test code raise by themselves.)"""
    yield
    reports = [
        record.getMessage()
        for when in ("setup", "call")
        for record in caplog.get_records(when)
        if OUR_DEPRECATED_CALLS in record.getMessage()
    ]
    assert not reports, "\n".join(reports)


@pytest.fixture
async def mqtt_ready(
    hass: HomeAssistant, mock_hass_config: None, mqtt_mock_entry: Any, mqtt_client_mock: Any
) -> AsyncIterator[Any]:
    """Home Assistant's MQTT integration on the harness's fake paho client.

    Home Assistant 2024.5 and later run a periodic timer while the client's socket is open;
    the fake client never closes its socket, so the timer would outlive the test ("Lingering
    timer ... _async_start_misc_periodic"). At the end the socket closes, as paho reports it
    when a connection ends, and Home Assistant stops the timer itself. The harness's check
    for lingering timers stays on for everything else.
    """
    yield await mqtt_mock_entry()
    mqtt_client_mock.on_socket_close(mqtt_client_mock, None, Mock(fileno=Mock(return_value=-1)))
