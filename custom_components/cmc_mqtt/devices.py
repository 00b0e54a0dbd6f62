"""The entry's devices: one per coin, the bridge (a service: software, not hardware) and the
portfolio, described as the bridge's own discovery describes them, so that either way of
bringing the bridge into Home Assistant shows the same devices.

What the bridge says later (its coins' names, its version) reaches devices made before it
through the device registry: `sync_devices`.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.typing import UNDEFINED, UndefinedType

from . import ids
from .const import DOMAIN
from .data import CmcMqttConfigEntry, CmcMqttData, runtime
from .fields import coin_label, coin_page

BRIDGE_DEVICE_NAME = "cmc-mqtt bridge"  # as the bridge's own discovery names it
PROJECT_URL = "https://github.com/cmc-mqtt/cmc-mqtt"


def _identifiers(prefix: str, owner: ids.Owner) -> set[tuple[str, str]]:
    return {(DOMAIN, ids.device_identifier(prefix, owner))}


def _with_version(device: DeviceInfo, version: str | None) -> DeviceInfo:
    """Left out while unknown: the registry then keeps the version it had."""
    if version is not None:
        device["sw_version"] = version
    return device


def coin_device(data: CmcMqttData, coin_id: int) -> DeviceInfo:
    """Named as known when the entity is made; `sync_devices` follows later names."""
    device = DeviceInfo(
        identifiers=_identifiers(data.prefix, coin_id),
        name=coin_label(coin_id, data.names),
        manufacturer="CoinMarketCap",
        model="Cryptocurrency",
    )
    page = coin_page(coin_id, data.names)
    if page is not None:
        device["configuration_url"] = page
    return _with_version(device, data.version)


def bridge_device(data: CmcMqttData) -> DeviceInfo:
    device = DeviceInfo(
        identifiers=_identifiers(data.prefix, ids.BRIDGE),
        name=BRIDGE_DEVICE_NAME,
        manufacturer="cmc-mqtt",
        model="CoinMarketCap stream bridge",
        configuration_url=PROJECT_URL,
        entry_type=DeviceEntryType.SERVICE,
    )
    return _with_version(device, data.version)


def portfolio_device(data: CmcMqttData) -> DeviceInfo:
    """As the bridge's discovery describes its "Portfolio" device."""
    device = DeviceInfo(
        identifiers=_identifiers(data.prefix, ids.PORTFOLIO),
        name="Portfolio",
        manufacturer="cmc-mqtt",
        model="Portfolio",
    )
    return _with_version(device, data.version)


def _coin_of(prefix: str, device: dr.DeviceEntry) -> int | None:
    for domain, value in device.identifiers:
        parsed = ids.parse(prefix, value) if domain == DOMAIN else None
        if parsed is not None and parsed[1] is None and isinstance(parsed[0], int):
            return parsed[0]
    return None


@callback
def sync_devices(hass: HomeAssistant, entry: CmcMqttConfigEntry) -> None:
    """The bridge's names or version arrived or changed after the devices were made: the
    registry follows (a coin's name and page; every device's software version), never
    overwriting a name the user gave (that is kept apart, as `name_by_user`)."""
    data = runtime(entry)
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        version: str | UndefinedType = UNDEFINED
        if data.version is not None and device.sw_version != data.version:
            version = data.version
        name: str | UndefinedType = UNDEFINED
        page: str | UndefinedType | None = UNDEFINED
        coin_id = _coin_of(data.prefix, device)
        if coin_id is not None:
            label, url = coin_label(coin_id, data.names), coin_page(coin_id, data.names)
            if (device.name, device.configuration_url) != (label, url):
                name, page = label, url
        if version is not UNDEFINED or name is not UNDEFINED:
            registry.async_update_device(
                device.id, sw_version=version, name=name, configuration_url=page
            )
