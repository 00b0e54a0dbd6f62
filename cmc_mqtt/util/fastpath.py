"""The one switch for both dependency adapters' fast paths (`stream.ws_adapter`, `mqtt.adapter`).

Outside the `CMC_MQTT_` namespace on purpose: those variables are configuration options.
"""

from __future__ import annotations

import os
from typing import Final

#: Set to 1 to use the dependencies' public APIs only (tests and the benchmark compare both).
DISABLE_ENV: Final = "CMC_NO_FAST_PATH"


def wanted() -> bool:
    """False when the switch turns the fast paths off."""
    return os.environ.get(DISABLE_ENV) != "1"
