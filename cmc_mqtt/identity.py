"""Where one configuration keeps its memory: `state.json` (coins and holdings changed at run
time, the connection layout, the month's credits) and the caches of coin names and fiat ids.

Every part that remembers something asks here, so that which folder belongs to which
configuration is decided in one place.
"""

from __future__ import annotations

from pathlib import Path

from .config import Settings


def memory_dir(settings: Settings) -> Path | None:
    """The folder for this configuration's memory; None: remember nothing."""
    return settings.names.cache_dir
