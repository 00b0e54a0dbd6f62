"""cmc-mqtt: live CoinMarketCap prices as retained MQTT topics, announced to Home Assistant."""

from __future__ import annotations

from .bridge import Bridge
from .config import Settings, load_settings
from .errors import CmcMqttError, ConfigError, FrameError, StreamError
from .fields import FIELDS, Field, FieldKind
from .version import VERSION as __version__

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
