"""The bridge device's table, as this integration needs it.

This integration installs by copying its folder, so it cannot import the bridge package: this is
its own copy of the bridge's table (`cmc_mqtt/bridge_entities.py`, from which the bridge's
discovery payloads are made), and a test checks that the two agree row by row, but for one
column: the figures that change with every frame (frames, frames per second, the last frame's
time) are disabled by default here (NOISY), as Home Assistant's quality scale asks of noisy
diagnostics; they are one click away, and the stream's health is the `stream` entity. Both read
the same topics: `status` is `<prefix>/status`, `info` and `credits` are `<prefix>/bridge/info` and
`<prefix>/bridge/credits`, and a button asks `<prefix>/bridge/request/<action>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class BridgeEntityInfo:
    key: str  # unique id suffix and translation key
    name: str  # the English name (strings.json)
    platform: str  # "binary_sensor", "sensor" or "button"
    source: str  # "status", "info" or "credits"; "request" for a button
    path: tuple[str, ...]  # the value's place in the source's JSON; a button's action
    count: str | None = None  # the value is how many items of the list have this key true
    device_class: str | None = None
    unit: str | None = None
    state_class: str | None = None
    precision: int | None = None
    icon: str | None = None
    category: str = "diagnostic"
    enabled_by_default: bool = True


MEASUREMENT: Final = "measurement"
TOTAL: Final = "total_increasing"
#: Keys of the figures that change with every frame: disabled by default.
NOISY: Final = frozenset({"frames", "frame_rate", "last_frame"})

BRIDGE_ENTITIES: Final[tuple[BridgeEntityInfo, ...]] = (
    BridgeEntityInfo("stream", "Stream", "binary_sensor", "status", (),
                     device_class="connectivity"),
    BridgeEntityInfo("version", "Version", "sensor", "info", ("version",), icon="mdi:tag"),
    BridgeEntityInfo("connections", "Connections in use", "sensor", "info", ("connections",),
                     count="connected", state_class=MEASUREMENT),
    BridgeEntityInfo("frames", "Frames received", "sensor", "info", ("frames",),
                     state_class=TOTAL, icon="mdi:counter", enabled_by_default=False),
    BridgeEntityInfo("frame_rate", "Frames per second", "sensor", "info",
                     ("frames_per_second",), state_class=MEASUREMENT, icon="mdi:speedometer",
                     enabled_by_default=False),
    BridgeEntityInfo("reconnects", "Reconnects", "sensor", "info", ("reconnects",),
                     state_class=TOTAL, icon="mdi:restart"),
    BridgeEntityInfo("last_frame", "Last frame", "sensor", "info", ("last_frame_time",),
                     device_class="timestamp", enabled_by_default=False),
    BridgeEntityInfo("credits_used", "Credits used this month", "sensor", "credits",
                     ("estimated_used",), unit="credits", state_class=TOTAL, precision=0,
                     icon="mdi:cash"),
    BridgeEntityInfo("credits_left", "Credits left", "sensor", "credits", ("key", "left"),
                     unit="credits", state_class=MEASUREMENT, precision=0, icon="mdi:cash"),
    BridgeEntityInfo("credits_projected", "Credits projected this month", "sensor", "credits",
                     ("projected",), unit="credits", state_class=MEASUREMENT, precision=0,
                     icon="mdi:cash"),
    BridgeEntityInfo("over_budget", "Credit budget", "binary_sensor", "credits",
                     ("over_budget",), device_class="problem"),
    BridgeEntityInfo("republish", "Republish", "button", "request", ("republish",),
                     icon="mdi:upload", category="config"),
    BridgeEntityInfo("reconnect", "Reconnect stream", "button", "request", ("reconnect",),
                     device_class="restart", category="config"),
)  # fmt: skip


def on_platform(platform: str) -> tuple[BridgeEntityInfo, ...]:
    return tuple(e for e in BRIDGE_ENTITIES if e.platform == platform)


def value_of(entity: BridgeEntityInfo, payload: Mapping[str, Any] | None) -> Any:
    """The entity's value in its source's JSON; None where any part is missing or null (the
    same as the bridge's discovery template makes of it)."""
    value: Any = payload
    for part in entity.path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if entity.count is not None:
        items = value if isinstance(value, list) else []
        return sum(1 for item in items if isinstance(item, Mapping) and item.get(entity.count))
    return value
