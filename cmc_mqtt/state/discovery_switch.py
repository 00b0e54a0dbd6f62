"""Whether the bridge announces itself to Home Assistant now: the configuration's
`[homeassistant] discovery`, unless a `discovery/set` request turned it the other way.

A request's word is remembered across restarts (the state file), together with the configured
value it replaced: when the configuration itself changes, the user's newer word there applies
again, as for holdings set over MQTT.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .memory import StateFile

LOG = logging.getLogger(__name__)


class DiscoverySwitch:
    def __init__(self, configured: bool, memory: StateFile) -> None:
        self._configured = configured
        self._memory = memory
        self._lock = threading.Lock()
        self._listeners: list[Callable[[bool], None]] = []
        saved = memory.discovery_switch()
        self._on = saved[0] if saved is not None and saved[1] == configured else configured
        if saved is not None and saved[1] != configured:
            LOG.info(
                "homeassistant.discovery changed in the configuration since it was switched over "
                "MQTT: the configuration's %s applies",
                str(configured).lower(),
            )
            memory.set_discovery_switch(None)  # the user's newer word, from now on

    @property
    def on(self) -> bool:
        return self._on

    def add_listener(self, callback: Callable[[bool], None]) -> None:
        """`callback(on)` after every change."""
        self._listeners.append(callback)

    def set(self, on: bool) -> bool:
        """Announce (or stop announcing) from now on; returns whether discovery is on."""
        with self._lock:
            changed, self._on = self._on != on, on
            self._memory.set_discovery_switch((on, self._configured))
        if changed:
            LOG.info("Home Assistant discovery turned %s over MQTT", "on" if on else "off")
            for callback in self._listeners:
                callback(on)
        return on
