"""What the bridge remembers across restarts, beside the coin name cache: coins added or removed
and holdings set at run time, which connection carries which coin, and the month's credit count.

One small JSON file, written whole and atomically, so a crash mid-write leaves the last good
copy. An unreadable file is reported and ignored: losing it costs a layout, never a value.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Final

LOG = logging.getLogger(__name__)
STATE_FILE: Final = "state.json"


def write_json_atomically(path: Path, data: Any) -> None:
    """Replace `path` with `data` as JSON; readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class StateFile:
    """Thread-safe access to the remembered state; every change is written at once."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.path = cache_dir / STATE_FILE if cache_dir else None
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {}
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.is_file():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            LOG.warning("ignoring unreadable state file %s: %s", self.path, exc)
            return
        if isinstance(data, dict):
            self._data = data

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            write_json_atomically(self.path, self._data)
        except OSError as exc:
            LOG.warning("could not write state file %s: %s", self.path, exc)

    # --- coins changed at run time --------------------------------------------------------------

    def coin_changes(self) -> tuple[list[int], list[int]]:
        """(added, removed) ids, as requested over MQTT."""
        with self._lock:
            return _ids(self._data.get("added")), _ids(self._data.get("removed"))

    def set_coin_changes(self, added: list[int], removed: list[int]) -> None:
        with self._lock:
            self._data["added"], self._data["removed"] = list(added), list(removed)
            self._save()

    # --- holdings set at run time ---------------------------------------------------------------

    def holding_changes(self) -> dict[int, tuple[str, str | None]]:
        """Coin id -> (amount set over MQTT, the configured amount it replaced or None), both
        as exact decimal texts."""
        with self._lock:
            raw = self._data.get("holdings")
        if not isinstance(raw, dict):
            return {}
        changes: dict[int, tuple[str, str | None]] = {}
        for key, entry in raw.items():
            if not (isinstance(key, str) and key.isdigit() and isinstance(entry, dict)):
                continue
            amount, configured = entry.get("amount"), entry.get("configured")
            if isinstance(amount, str) and (configured is None or isinstance(configured, str)):
                changes[int(key)] = (amount, configured)
        return changes

    def set_holding_changes(self, changes: dict[int, tuple[str, str | None]]) -> None:
        with self._lock:
            self._data["holdings"] = {
                str(cid): {"amount": amount, "configured": configured}
                for cid, (amount, configured) in sorted(changes.items())
            }
            self._save()

    # --- the connection layout ------------------------------------------------------------------

    def layout(self) -> list[tuple[int, ...]]:
        with self._lock:
            raw = self._data.get("layout")
        if not isinstance(raw, list):
            return []
        return [tuple(_ids(shard)) for shard in raw]

    def set_layout(self, layout: list[tuple[int, ...]]) -> None:
        with self._lock:
            if self._data.get("layout") == [list(s) for s in layout]:
                return
            self._data["layout"] = [list(s) for s in layout]
            self._save()

    # --- credits ----------------------------------------------------------------------------------

    def month_usage(self) -> tuple[str | None, float, float]:
        """(month as "YYYY-MM", credits counted in it before this run, of which REST calls')."""
        with self._lock:
            usage = self._data.get("usage")
        if not isinstance(usage, dict):
            return None, 0.0, 0.0
        month, credits, rest = usage.get("month"), usage.get("credits"), usage.get("rest", 0.0)
        if not isinstance(month, str) or not isinstance(credits, int | float) or credits < 0:
            return None, 0.0, 0.0
        if not isinstance(rest, int | float) or not 0 <= rest <= credits:
            rest = 0.0
        return month, float(credits), float(rest)

    def set_month_usage(self, month: str, credits: float, rest: float = 0.0) -> None:
        with self._lock:
            self._data["usage"] = {
                "month": month,
                "credits": round(credits, 3),
                "rest": round(rest, 3),
            }
            self._save()


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    return [v for v in value if type(v) is int and 0 < v < 2**31]
