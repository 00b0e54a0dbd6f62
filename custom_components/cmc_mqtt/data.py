"""Runtime data of one config entry: what the bridge says about itself and each coin."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry

ONLINE = "online"


@dataclass
class CmcMqttData:
    prefix: str
    coins: list[int]
    fields: list[str]
    bridge_online: bool = False
    status_seen: bool = False  # whether the bridge's status has been seen at all
    coin_online: dict[int, bool] = field(default_factory=dict)
    #: The bridge's last `bridge/info` and `bridge/credits` (None until seen, or not JSON).
    info: dict[str, Any] | None = None
    credits: dict[str, Any] | None = None
    #: Requests waiting for the bridge's answer, by transaction.
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)

    def available(self, coin_id: int) -> bool:
        return self.bridge_online and self.coin_online.get(coin_id, False)


try:
    CmcMqttConfigEntry = ConfigEntry[CmcMqttData]
except TypeError:  # Home Assistant before 2024.4: ConfigEntry is not generic yet
    CmcMqttConfigEntry = ConfigEntry  # type: ignore[misc]
