"""cmc-mqtt: live CoinMarketCap prices as retained MQTT topics, announced to Home Assistant."""

from __future__ import annotations

from .config import Settings, load_settings
from .errors import CmcMqttError, ConfigError, FrameError, StreamError
from .model.fields import FIELDS, Field, FieldKind
from .version import VERSION as __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .bridge import Bridge


def __getattr__(name: str) -> object:
    # The bridge pulls in paho-mqtt 2.x; importing it lazily lets the pure modules (fields,
    # discovery) load where only paho 1.x exists, such as Home Assistant's own test env.
    if name == "Bridge":
        from .bridge import Bridge  # noqa: PLC0415 - deliberately lazy

        return Bridge
    raise AttributeError(name)


__all__ = [
    "FIELDS",
    "Bridge",
    "CmcMqttError",
    "ConfigError",
    "Field",
    "FieldKind",
    "FrameError",
    "Settings",
    "StreamError",
    "__version__",
    "load_settings",
]
