"""What the integration's tests share: entries, broker messages, registry look-ups."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.cmc_mqtt.const import (
    CONF_COINS,
    CONF_FIELDS,
    CONF_PREFIX,
    DOMAIN,
    ENTRY_VERSION,
)

BTC = "sensor.bitcoin_btc_price"
HA_RELEASE = tuple(int(part) for part in HA_VERSION.split(".")[:2])


def mock_entry(
    coins: list[int] | None = None,
    fields: list[str] | None = None,
    prefix: str = "cmc",
    **kwargs: Any,
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"cmc-mqtt ({prefix})",
        unique_id=prefix,
        version=kwargs.pop("version", ENTRY_VERSION),
        data={CONF_PREFIX: prefix},
        options={CONF_COINS: coins or [1, 1027], CONF_FIELDS: fields or ["p", "p24h", "cs"]},
        **kwargs,
    )


async def add_entry(
    hass: HomeAssistant,
    coins: list[int] | None = None,
    fields: list[str] | None = None,
    prefix: str = "cmc",
) -> MockConfigEntry:
    entry = mock_entry(coins, fields, prefix)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def fire(hass: HomeAssistant, topic: str, payload: str) -> None:
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()


async def bridge_online(hass: HomeAssistant, *coins: int, prefix: str = "cmc") -> None:
    await fire(hass, f"{prefix}/status", "online")
    for cid in coins:
        await fire(hass, f"{prefix}/{cid}/status", "online")


async def answer_find(
    hass: HomeAssistant,
    mqtt: Any,
    step: Any,
    info: dict[str, Any] | None,
    prefix: str = "cmc",
) -> dict[str, Any]:
    """Run a flow step that looks for the bridge, answering as the broker would: with the
    bridge's retained info once the flow has subscribed to it."""
    task = asyncio.ensure_future(step)
    topic = f"{prefix}/bridge/info"
    for _ in range(500):
        calls = [c.args[0] for c in mqtt.async_subscribe.call_args_list]
        if topic in calls or task.done():
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the flow never subscribed to the bridge's info topic")
    if info is not None:
        async_fire_mqtt_message(hass, topic, json.dumps(info), retain=True)
    result: dict[str, Any] = await asyncio.wait_for(task, 10)
    return result


def device_with(
    hass: HomeAssistant, config_entry_id: str, identifier: tuple[str, str]
) -> dr.DeviceEntry | None:
    """The config entry's device with this identifier, through an API both versions have
    (`async_get_device` is deprecated now: identifiers are unique per config entry only)."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), config_entry_id)
    return next((d for d in devices if identifier in d.identifiers), None)
