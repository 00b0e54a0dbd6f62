"""Home Assistant entity ids as the bridge announces them (`default_entity_id`).

Its own module because both `discovery.py` and `money_configs.py` need it, and discovery.py
imports money_configs.py.
"""

from __future__ import annotations

import re
from typing import Final

DEFAULT_NODE_ID: Final = "cmc_mqtt"


def slugify(text: str) -> str:
    """Home Assistant's entity-id shape: lower case, runs of other characters become one '_'."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def entity_id(node_id: str, platform: str, device: str, name: str) -> str:
    """The id Home Assistant 2024.3 derives by itself (device name + entity name), so the ids
    match on every version; a second bridge (another node_id) gets its node id in front."""
    base = slugify(f"{device} {name}")
    if node_id != DEFAULT_NODE_ID:
        base = f"{slugify(node_id)}_{base}"
    return f"{platform}.{base}"
