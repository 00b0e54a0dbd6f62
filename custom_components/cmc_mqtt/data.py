"""Runtime data of one config entry: what the bridge says about itself and each coin."""

from __future__ import annotations

from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry

ONLINE = "online"


@dataclass
class CmcMqttData:
    prefix: str
    coins: list[int]
    fields: list[str]
    bridge_online: bool = False
    coin_online: dict[int, bool] = field(default_factory=dict)

    def available(self, coin_id: int) -> bool:
        return self.bridge_online and self.coin_online.get(coin_id, False)


try:
    CmcMqttConfigEntry = ConfigEntry[CmcMqttData]
except TypeError:  # Home Assistant before 2024.4: ConfigEntry is not generic yet
    CmcMqttConfigEntry = ConfigEntry  # type: ignore[misc]
