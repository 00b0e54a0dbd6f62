"""The bridge device's table: what Home Assistant shows about the bridge itself, zigbee2mqtt style.

Like the field table it is declarative, and the one source for both the bridge's discovery
payloads (`discovery.py` turns `source` and `path` into a value template) and the custom
integration, which keeps its own copy (`custom_components/cmc_mqtt/bridge_entities.py`, checked
equal by a test) and reads the same topics.

Sources: `status` is `<prefix>/status` (`online` while streaming, and the last will), `info` is
`<prefix>/bridge/info`, `credits` is `<prefix>/bridge/credits`; a button's `request` path names
the action it asks for on `<prefix>/bridge/request/<action>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: What a button sends: a request with no arguments (an empty payload would be ignored, as
#: that is how a retained request is cleared).
PRESS_PAYLOAD: Final = "{}"


@dataclass(frozen=True, slots=True)
class BridgeEntity:
    key: str  # unique id and object id suffix, translation key
    name: str  # entity name on the bridge device
    platform: str  # "binary_sensor" (on: True in the source), "sensor" or "button"
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
TOTAL: Final = "total_increasing"  # a count that only resets when the bridge restarts


def _info(
    key: str,
    name: str,
    value: str,
    state_class: str | None = None,
    icon: str | None = None,
    *,
    count: str | None = None,
    device_class: str | None = None,
    noisy: bool = False,
) -> BridgeEntity:
    """`noisy`: a figure that changes with every frame, disabled by default (a recorder would
    otherwise write it every few seconds for nothing)."""
    return BridgeEntity(
        key, name, "sensor", "info", (value,), count, device_class, None, state_class, None, icon,
        enabled_by_default=not noisy,
    )  # fmt: skip


def _credits(key: str, name: str, path: tuple[str, ...], state_class: str) -> BridgeEntity:
    return BridgeEntity(key, name, "sensor", "credits", path, None, None, "credits", state_class,
                        0, "mdi:cash")  # fmt: skip


def _button(key: str, name: str, *, device_class: str | None = None, icon: str | None = None
            ) -> BridgeEntity:  # fmt: skip
    return BridgeEntity(key, name, "button", "request", (key,), device_class=device_class,
                        icon=icon, category="config")  # fmt: skip


BRIDGE_ENTITIES: Final[tuple[BridgeEntity, ...]] = (
    BridgeEntity("stream", "Stream", "binary_sensor", "status", (), device_class="connectivity"),
    _info("version", "Version", "version", icon="mdi:tag"),
    _info("connections", "Connections in use", "connections", MEASUREMENT, count="connected"),
    _info("frames", "Frames received", "frames", TOTAL, "mdi:counter", noisy=True),
    _info(
        "frame_rate",
        "Frames per second",
        "frames_per_second",
        MEASUREMENT,
        "mdi:speedometer",
        noisy=True,
    ),
    _info("reconnects", "Reconnects", "reconnects", TOTAL, "mdi:restart"),
    _info("last_frame", "Last frame", "last_frame_time", device_class="timestamp", noisy=True),
    _credits("credits_used", "Credits used this month", ("estimated_used",), TOTAL),
    _credits("credits_left", "Credits left", ("key", "left"), MEASUREMENT),
    _credits("credits_projected", "Credits projected this month", ("projected",), MEASUREMENT),
    BridgeEntity(
        "over_budget",
        "Credit budget",
        "binary_sensor",
        "credits",
        ("over_budget",),
        device_class="problem",
    ),
    _button("republish", "Republish", icon="mdi:upload"),
    _button("reconnect", "Reconnect stream", device_class="restart"),
)

BRIDGE_ENTITIES_BY_KEY: Final = {e.key: e for e in BRIDGE_ENTITIES}
