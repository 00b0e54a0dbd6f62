"""Home Assistant test harness set-up, shared by both Home Assistant versions we test.

The repo root goes on sys.path and `custom_components` is imported before the `hass` fixture
runs; otherwise Home Assistant's own test config dir would shadow the integration.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import Mock, patch

import pytest
from homeassistant.config_entries import ConfigFlow, OptionsFlow
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowHandler

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


STRINGS = json.loads((ROOT / "custom_components/cmc_mqtt/strings.json").read_text())


def _texts_of(flow: FlowHandler, step_id: str) -> dict[str, Any]:
    """The strings.json section a flow's step is translated from."""
    if isinstance(flow, ConfigFlow):
        steps = STRINGS["config"]["step"]
    elif isinstance(flow, OptionsFlow):
        steps = STRINGS["options"]["step"]
    else:  # a repair's fix flow: the one issue that has one
        steps = STRINGS["issues"]["duplicate_entities"]["fix_flow"]["step"]
    texts: dict[str, Any] = steps.get(step_id, {})
    return texts


@pytest.fixture(autouse=True)
def forms_are_described() -> Iterator[None]:
    """Every form of ours a test shows has a title, and a name and a description for each of
    its fields in strings.json (hassfest cannot see which fields a step shows; this can)."""
    show = FlowHandler.async_show_form

    def checked(self: FlowHandler, **kwargs: Any) -> Any:
        if type(self).__module__.startswith("custom_components.cmc_mqtt"):
            step_id = kwargs.get("step_id") or ""
            texts = _texts_of(self, step_id)
            schema = kwargs.get("data_schema")
            fields = {str(key) for key in schema.schema} if schema is not None else set()
            assert texts.get("title"), f"{step_id}: no title in strings.json"
            assert fields <= set(texts.get("data", {})), f"{step_id}: a field has no name"
            assert fields <= set(texts.get("data_description", {})), f"{step_id}: undescribed"
        return show(self, **kwargs)

    with patch.object(FlowHandler, "async_show_form", checked):
        yield


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
