"""Runtime data of one config entry: what the bridge says about itself and each coin."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from .money import Money
from .names import CoinName

ONLINE = "online"


@dataclass
class CmcMqttData:
    """What the entry knows while it is loaded, shared by its listener, entities and flows."""

    prefix: str
    coins: list[int]
    fields: list[str]
    bridge_online: bool = False
    status_seen: bool = False  # whether the bridge's status has been seen at all
    coin_online: dict[int, bool] = field(default_factory=dict)
    #: The bridge's last `bridge/info` and `bridge/credits` (None until seen, or not JSON).
    info: dict[str, Any] | None = None
    credits: dict[str, Any] | None = None
    #: The bridge's names of its coins (`bridge/names`), which beat the bundled table.
    names: dict[int, CoinName] = field(default_factory=dict)
    #: Requests waiting for the bridge's answer, by transaction.
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    #: The bridge's currency and holdings as the entry remembers them: which entities exist.
    money: Money = field(default_factory=Money)
    #: `<prefix>/fx/<cur>/status` and `<prefix>/portfolio/status`: offline, as a coin is, until
    #: the bridge's retained status says online.
    fx_online: bool = False
    portfolio_online: bool = False
    #: `<prefix>/<id>/status_<cur>`: a coin's amounts in the currency computed, by coin id
    #: (unavailable, as discovery's are, until the bridge says online).
    amounts_online: dict[int, bool] = field(default_factory=dict)

    #: Whether the bridge has been seen offline since it was last online: coming back is then
    #: logged (once), as going away was.
    offline_logged: bool = False

    @property
    def version(self) -> str | None:
        """The bridge's version, from its last `bridge/info`."""
        version = self.info.get("version") if self.info is not None else None
        return version if isinstance(version, str) and version else None

    def available(self, coin_id: int) -> bool:
        return self.bridge_online and self.coin_online.get(coin_id, False)

    def amounts_available(self, coin_id: int) -> bool:
        """A coin's amounts in the bridge's currency (its value in USD holdings included):
        while the coin is available and the bridge could compute them."""
        return self.available(coin_id) and self.amounts_online.get(coin_id, False)

    def converted_available(self, coin_id: int) -> bool:
        """A coin's amounts in the converted currency: only while the rate is fresh too."""
        return self.amounts_available(coin_id) and self.fx_online

    def portfolio_available(self) -> bool:
        return self.bridge_online and self.portfolio_online


@callback
def remember_money(hass: HomeAssistant, entry: ConfigEntry, money: Money) -> None:
    """The entry follows what the bridge converts to and holds: a change is saved in the
    entry's data, whose update listener reloads the entry with the entities that now apply."""
    if money != Money.from_entry(entry.data):
        hass.config_entries.async_update_entry(entry, data=money.to_entry(entry.data))


try:
    CmcMqttConfigEntry = ConfigEntry[CmcMqttData]  # type: ignore[type-arg,unused-ignore]
except TypeError:  # Home Assistant before 2024.4: ConfigEntry is not generic yet
    CmcMqttConfigEntry = ConfigEntry  # type: ignore[misc]


def runtime(entry: CmcMqttConfigEntry) -> CmcMqttData:
    """The loaded entry's data. Home Assistant 2024.3's ConfigEntry has no `runtime_data`
    attribute of its own yet (async_setup_entry sets it all the same), so it is read here
    only, typed for every version."""
    data: CmcMqttData = entry.runtime_data  # type: ignore[attr-defined,unused-ignore]
    return data
