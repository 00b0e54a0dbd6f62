"""The automation blueprints in blueprints/automation/cmc_mqtt/, loaded by Home Assistant's own
blueprint and automation integrations as a user's imported copy is, and triggered by what the
integration's sensors and the bridge's alerts do. Prices and alerts are the bridge's own
(bridge_messages.py, the bridge's alert payload)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_mock_service

from .bridge_messages import alert, live
from .helpers import BTC, add_entry, bridge_online, fire

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints" / "automation" / "cmc_mqtt"
CHANGE = "sensor.bitcoin_btc_change_24h"
#: scripts/ha_chroot.sh copies what the tests need into the chroot; until it copies the
#: blueprints too, they are tested in the 2024.3 run only.
pytestmark = pytest.mark.skipif(
    not BLUEPRINTS.is_dir(), reason="blueprints/ is not copied here (scripts/ha_chroot.sh)"
)


async def use_blueprint(
    hass: HomeAssistant, tmp_path: Path, name: str, inputs: dict[str, Any]
) -> list[ServiceCall]:
    """An automation from the blueprint, as imported into a config folder; the calls its
    actions make (a notify service standing in for the phone)."""
    folder = tmp_path / "blueprints" / "automation" / "cmc_mqtt"
    folder.mkdir(parents=True)
    shutil.copy(BLUEPRINTS / name, folder / name)
    hass.config.config_dir = str(tmp_path)
    calls = async_mock_service(hass, "notify", "phone")
    actions = [{"service": "notify.phone", "data": {"message": "{{ message }}"}}]
    blueprint = {"path": f"cmc_mqtt/{name}", "input": {**inputs, "actions": actions}}
    config = {"use_blueprint": blueprint}
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    await hass.async_block_till_done()
    assert len(hass.states.async_entity_ids("automation")) == 1
    return calls


async def test_every_blueprint_is_valid(hass: HomeAssistant, tmp_path: Path) -> None:
    """Read and validated by Home Assistant's own loader for automation blueprints."""
    names = sorted(path.name for path in BLUEPRINTS.glob("*.yaml"))
    assert names == ["bridge_alert.yaml", "coin_moves_by_percent.yaml", "price_crosses_level.yaml"]
    shutil.copytree(BLUEPRINTS, tmp_path / "blueprints" / "automation" / "cmc_mqtt")
    hass.config.config_dir = str(tmp_path)
    assert await async_setup_component(hass, "blueprint", {})
    for name in names:
        blueprint = await async_get_blueprints(hass).async_get_blueprint(f"cmc_mqtt/{name}")
        assert blueprint.metadata["source_url"].endswith(f"/blueprints/automation/cmc_mqtt/{name}")
        assert "actions" in blueprint.inputs


@pytest.mark.parametrize(
    ("name", "inputs", "field", "values", "messages"),
    [
        (
            "price_crosses_level.yaml",
            {"price": BTC, "level": 80000},
            "p",
            # from unavailable is no crossing; above again is nothing new
            ["79990.5", "80012.25", "80100", "79000"],
            ["Bitcoin (BTC) rose above 80000 USD: now 80012.25 USD.",
             "Bitcoin (BTC) fell below 80000 USD: now 79000 USD."],
        ),
        (
            "coin_moves_by_percent.yaml",
            {"change": CHANGE, "percent": 5},
            "p24h",
            ["1.5", "-6.25", "-7", "2", "5.5"],  # still past it at -7: nothing new
            ["Bitcoin (BTC) fell 6.25 % in 24 h (past 5 %).",
             "Bitcoin (BTC) rose 5.5 % in 24 h (past 5 %)."],
        ),
    ],
)  # fmt: skip
async def test_a_sensors_blueprint_notifies_once_a_crossing(
    hass: HomeAssistant,
    mqtt_ready: Any,
    tmp_path: Path,
    name: str,
    inputs: dict[str, Any],
    field: str,
    values: list[str],
    messages: list[str],
) -> None:
    await add_entry(hass, coins=[1], fields=[field])
    calls = await use_blueprint(hass, tmp_path, name, inputs)
    await bridge_online(hass, 1)
    for value in values:
        await fire(hass, f"cmc/1/{field}", value)
    await fire(hass, "cmc/status", "offline")
    await fire(hass, "cmc/status", "online")  # back as it was: nothing
    assert [call.data["message"] for call in calls] == messages


async def test_the_bridges_alerts_notify(
    hass: HomeAssistant, mqtt_ready: Any, tmp_path: Path
) -> None:
    calls = await use_blueprint(hass, tmp_path, "bridge_alert.yaml", {"prefix": "cmc"})
    await live(hass, *alert(1, "price", "up", "75000", "75012.3456", "EUR"))
    await live(hass, *alert(1027, "change", "down", "5", "-5.2"))
    await live(hass, "cmc/1/alert", "not json")  # ignored
    topic, payload = alert(1, "price", "up", "75000", "75012.3456", "EUR")
    await live(hass, topic.replace("cmc/", "other/"), payload)  # another bridge's
    await hass.async_block_till_done()
    assert [call.data["message"] for call in calls] == [
        "Coin 1: price rose above 75000 EUR (now 75012.35).",
        "Coin 1027: 24 h change fell below 5 % (now -5.2).",
    ]


async def test_the_default_action_is_a_notification_in_home_assistant(
    hass: HomeAssistant, mqtt_ready: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "blueprints" / "automation" / "cmc_mqtt"
    folder.mkdir(parents=True)
    shutil.copy(BLUEPRINTS / "bridge_alert.yaml", folder)
    hass.config.config_dir = str(tmp_path)
    created = async_mock_service(hass, "persistent_notification", "create")
    config = {"use_blueprint": {"path": "cmc_mqtt/bridge_alert.yaml", "input": {}}}
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    await hass.async_block_till_done()
    await live(hass, *alert(1, "price", "down", "60000", "59990.5"))
    await hass.async_block_till_done()
    assert [(call.data["title"], call.data["message"]) for call in created] == [
        ("cmc-mqtt alert", "Coin 1: price fell below 60000 USD (now 59990.5).")
    ]
