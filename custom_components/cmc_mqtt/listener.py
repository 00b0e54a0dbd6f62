"""The entry's ear on the bridge: the retained topics in which the bridge says how it is, kept
in the entry's runtime data, passed on to the entities that show it, and followed by the entry
itself where they change which entities exist.

- `<prefix>/status` (the stream; its last will says `offline`) and `<prefix>/<id>/status` (a
  coin's data fresh or stale), `<prefix>/fx/<cur>/status` (the rate fresh or stale),
  `<prefix>/<id>/status_<cur>` (a coin's amounts in the currency computed or not) and
  `<prefix>/portfolio/status`: availability. The bridge going away and coming back are each
  logged once.
- `<prefix>/bridge/info`: the bridge device's figures, its version on every device, what the
  entry follows (currency, holdings, and its coins where the entry follows them: `follow.py`),
  and whether the bridge's own discovery duplicates this entry's entities (`issues.py`).
- `<prefix>/bridge/credits`: the bridge device's figures, and the credit budget repair issue.
- `<prefix>/bridge/names`: what coins are called (`names.py`).
- `<prefix>/bridge/response/#`: answers to the entry's requests (`bridge_requests.py`).

Every subscription is released when the entry unloads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from . import ids, issues
from .bridge_requests import async_subscribe_answers
from .const import LOGGER, signal_bridge, signal_coin_availability, signal_portfolio
from .data import ONLINE, CmcMqttConfigEntry, CmcMqttData, runtime
from .devices import sync_devices
from .follow import remembered
from .info import parse_report
from .names import CoinName, parse_names

#: Handles MQTT messages on one topic (or topic filter).
Handler = Callable[[mqtt.ReceiveMessage], None]


class BridgeListener:
    """Subscribes for one loaded entry; every handler runs in the event loop."""

    def __init__(
        self, hass: HomeAssistant, entry: CmcMqttConfigEntry, names_seen: dict[int, CoinName]
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._data: CmcMqttData = runtime(entry)
        #: The bridge's last names for this prefix, kept through reloads (shared, updated).
        self._names_seen = names_seen

    async def async_start(self) -> None:
        prefix, money = self._data.prefix, self._data.money
        topics: dict[str, Handler] = {
            f"{prefix}/status": self._bridge_status,
            f"{prefix}/+/status": self._coin_status,
            f"{prefix}/bridge/info": self._bridge_info,
            f"{prefix}/bridge/credits": self._bridge_credits,
            f"{prefix}/bridge/names": self._bridge_names,
        }
        if (fx_topic := money.fx_status_topic(prefix)) is not None:
            topics[fx_topic] = self._fx_status
        if (amounts := money.amounts_status_filter(prefix)) is not None:
            topics[amounts] = self._amounts_status
        if money.portfolio_keys():
            topics[f"{prefix}/{ids.PORTFOLIO}/status"] = self._portfolio_status
        for topic, handler in topics.items():
            self._entry.async_on_unload(await mqtt.async_subscribe(self._hass, topic, handler))
        self._entry.async_on_unload(await async_subscribe_answers(self._hass, self._data))

    # --- availability ---------------------------------------------------------------------

    def _send(self, signal: str) -> None:
        async_dispatcher_send(self._hass, signal)

    def _every_coin_changed(self) -> None:
        for coin_id in self._data.coins:
            self._send(signal_coin_availability(self._entry.entry_id, coin_id))

    @callback
    def _bridge_status(self, message: mqtt.ReceiveMessage) -> None:
        data = self._data
        online = message.payload == ONLINE
        first, data.status_seen = not data.status_seen, True
        if online != data.bridge_online:
            data.bridge_online = online
            self._log_availability(online)
            self._every_coin_changed()
            self._send(signal_portfolio(self._entry.entry_id))
        elif not first:
            return
        elif not online:  # offline from the start: as unavailable as going offline
            self._log_availability(online)
        self._send(signal_bridge(self._entry.entry_id))

    def _log_availability(self, online: bool) -> None:
        data = self._data
        if not online and not data.offline_logged:
            data.offline_logged = True
            LOGGER.info("the cmc-mqtt bridge on '%s' is offline; sensors unavailable", data.prefix)
        elif online and data.offline_logged:
            data.offline_logged = False
            LOGGER.info("the cmc-mqtt bridge on '%s' is back online", data.prefix)

    @callback
    def _coin_status(self, message: mqtt.ReceiveMessage) -> None:
        self._a_coins_status(message, self._data.coin_online)

    @callback
    def _amounts_status(self, message: mqtt.ReceiveMessage) -> None:
        """Whether the bridge could compute a coin's amounts in the currency."""
        self._a_coins_status(message, self._data.amounts_online)

    def _a_coins_status(
        self, message: mqtt.ReceiveMessage, online_by_coin: dict[int, bool]
    ) -> None:
        """`<prefix>/<id>/status…`: that coin's entities redrawn when it changed."""
        level = message.topic.split("/")[-2]
        if not level.isdigit():
            return
        coin_id, online = int(level), message.payload == ONLINE
        if online_by_coin.get(coin_id) != online:
            online_by_coin[coin_id] = online
            self._send(signal_coin_availability(self._entry.entry_id, coin_id))

    @callback
    def _fx_status(self, message: mqtt.ReceiveMessage) -> None:
        """The rate's freshness: every coin's converted amounts go with it."""
        online = message.payload == ONLINE
        if online != self._data.fx_online:
            self._data.fx_online = online
            self._every_coin_changed()

    @callback
    def _portfolio_status(self, message: mqtt.ReceiveMessage) -> None:
        online = message.payload == ONLINE
        if online != self._data.portfolio_online:
            self._data.portfolio_online = online
            self._send(signal_portfolio(self._entry.entry_id))

    # --- what the bridge reports ------------------------------------------------------------

    @callback
    def _bridge_info(self, message: mqtt.ReceiveMessage) -> None:
        data = self._data
        before = data.version
        data.info = parse_report(message.payload)
        self._send(signal_bridge(self._entry.entry_id))
        if data.info is None:
            return
        if data.version != before:
            sync_devices(self._hass, self._entry)
        issues.check_duplicates(self._hass, self._entry)
        self._follow()

    @callback
    def _bridge_credits(self, message: mqtt.ReceiveMessage) -> None:
        self._data.credits = parse_report(message.payload)
        self._send(signal_bridge(self._entry.entry_id))
        issues.check_credit_budget(self._hass, self._entry)

    @callback
    def _bridge_names(self, message: mqtt.ReceiveMessage) -> None:
        """What the coins' devices, option lists and units are called."""
        names = parse_names(message.payload)
        if names is not None and names != self._data.names:
            self._data.names = names
            self._names_seen.clear()
            self._names_seen.update(names)
            sync_devices(self._hass, self._entry)

    # --- following the bridge ---------------------------------------------------------------

    @callback
    def _follow(self) -> None:
        """The bridge's currency, holdings or coins changed: saved in the entry, whose update
        listener reloads it with the entities that apply now. Not while a request waits for
        its answer (the reload would drop the subscription it comes on), but after it."""
        if waiting := [f for f in self._data.pending.values() if not f.done()]:
            self._entry.async_create_background_task(
                self._hass, self._follow_later(waiting), "cmc_mqtt follow"
            )
            return
        info = self._data.info
        if info is None:
            return
        entry = self._entry
        data, options = remembered(entry.data, entry.options, info)
        if (data, options) != (dict(entry.data), dict(entry.options)):
            self._hass.config_entries.async_update_entry(entry, data=data, options=options)

    async def _follow_later(self, waiting: list[asyncio.Future[Any]]) -> None:
        await asyncio.wait(waiting)  # answered, or given up on after REQUEST_TIMEOUT
        self._follow()
