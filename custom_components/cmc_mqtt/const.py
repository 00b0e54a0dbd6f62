"""Constants of the cmc_mqtt integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "cmc_mqtt"
LOGGER = logging.getLogger(__package__)

CONF_PREFIX: Final = "topic_prefix"
CONF_COINS: Final = "coins"
CONF_FIELDS: Final = "fields"
DEFAULT_PREFIX: Final = "cmc"

#: How long the config flow listens for the bridge's retained topics.
FIND_TIMEOUT: Final = 3.0

#: Dispatcher signal: availability of the bridge or a coin changed (formatted with entry id).
SIGNAL_AVAILABILITY: Final = "cmc_mqtt_availability_{}"

#: Data keys redacted from diagnostics, should any ever be seen.
TO_REDACT: Final = {"api_key", "password", "username", "X-CMC_PRO_API_KEY"}
