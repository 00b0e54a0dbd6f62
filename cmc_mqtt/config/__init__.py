"""The configuration: the frozen settings, the schema every source is checked against (a TOML
file, `CMC_MQTT_*` variables), one readable line per problem, and loading it.

Its modules, each importing only those above it in this list:
- `settings`: the frozen settings classes and their defaults, the literal choices;
- `validators`, `schema`: the bounds of every option and the voluptuous schemas;
- `problems`: voluptuous's errors as one line per key, and what of a refused config is valid;
- `files`: reading a file within its bound, writing one privately; `toml_text`: writing TOML;
- `broker`, `coin_ids`: a broker's address, and symbols in `crypto_ids`, as people write them;
- `keys`, `amounts`: the API key (wherever it came from) and the exact amounts;
- `parse`: one pass from a mapping to settings; `addon_options`: the add-on's options to it;
- `env_values`, `env`: the `CMC_MQTT_*` variables, their text as values and laid over the
  file (they need the schema, never the loader);
- `load`: the config file, with the variables laid over it.

May import: `money`, `displays` (the rules their options follow), `model`, `util`, `errors`.
"""

from .load import load_settings
from .parse import parse_settings
from .settings import (
    BUDGET_ACTIONS,
    DEFAULT_ENABLED,
    DEFAULT_REST_URL,
    DEFAULT_URL,
    DISCOVERY_MODES,
    LOG_LEVELS,
    PUBLISH_MODES,
    AwtrixSettings,
    BridgeSettings,
    BudgetAction,
    CreditSettings,
    DiscoveryMode,
    HomeAssistantSettings,
    LogLevel,
    MqttSettings,
    NamesSettings,
    PublishMode,
    Settings,
    StreamSettings,
    TextSettings,
    Throttle,
    TlsSettings,
)

__all__ = [
    "BUDGET_ACTIONS",
    "DEFAULT_ENABLED",
    "DEFAULT_REST_URL",
    "DEFAULT_URL",
    "DISCOVERY_MODES",
    "LOG_LEVELS",
    "PUBLISH_MODES",
    "AwtrixSettings",
    "BridgeSettings",
    "BudgetAction",
    "CreditSettings",
    "DiscoveryMode",
    "HomeAssistantSettings",
    "LogLevel",
    "MqttSettings",
    "NamesSettings",
    "PublishMode",
    "Settings",
    "StreamSettings",
    "TextSettings",
    "Throttle",
    "TlsSettings",
    "load_settings",
    "parse_settings",
]
