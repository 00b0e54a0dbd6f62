"""What the bridge remembers across restarts, beside the coin name cache: coins added or removed
and holdings set at run time, which connection carries which coin, and the month's credit count.

One small JSON file in the configuration's own folder (`identity.memory_dir`), written whole
and atomically (`jsonfile`), so a crash mid-write leaves the last good copy. A change that
changes nothing writes nothing.

The file is an input like any other: every value read back is held to what the bridge would
have accepted when it was saved (ids in 1..2^31-1, at most `MAX_IDS` of them in a list, holding
amounts through `bounds.parse_amount`, credits finite within 0..`MAX_CREDITS`). A file that
cannot be read at all is set aside and the bridge starts without it; a file with values out of
bounds is set aside too, and what was valid in it is kept and saved again. Either way one log
line says so, and losing it costs a layout or a run-time change, never a start.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from itertools import islice
from pathlib import Path
from typing import Any, Final, TypeGuard

from ..errors import ConfigError
from ..model.bounds import HOLDING_PLACES, MAX_HOLDING, parse_amount, shown
from ..model.coins import MAX_COIN_ID, is_coin_id
from ..util.jsonfile import (
    Unreadable,
    dumps,
    read_json,
    set_aside,
    summary,
    type_name,
    write_json_atomically,
)

LOG = logging.getLogger(__name__)
STATE_FILE: Final = "state.json"
#: Bounds of what is read back (and so of what is written).
MAX_STATE_BYTES: Final = 8 * 1024 * 1024
MAX_IDS: Final = 100_000
MAX_SHARDS: Final = 1_000
MAX_HOLDINGS: Final = 10_000
MAX_CREDITS: Final = 1e12
MAX_OTHER_BYTES: Final = 64 * 1024

_MONTH: Final = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])")
_ID_KEY: Final = re.compile(r"[1-9][0-9]{0,9}")
_KNOWN: Final = ("added", "removed", "holdings", "layout", "usage", "discovery")

Holdings = dict[int, tuple[str, str | None]]
Usage = tuple[str, float, float]
#: A switch set over MQTT: (on, the configured value it replaced).
Switch = tuple[bool, bool]


class StateFile:
    """Thread-safe access to the remembered state; every change is written at once.

    `repair=False` reads only: nothing is set aside, written or logged, and `problem` says what
    a run would find wrong (for `check-config`)."""

    def __init__(self, folder: Path | None, *, repair: bool = True) -> None:
        """`folder`: the configuration's memory (`identity.memory_dir`); None: remember
        nothing."""
        self.path = folder / STATE_FILE if folder else None
        #: Why the file was (or would be) set aside; None when it was fine or absent.
        self.problem: str | None = None
        self._repair = repair
        self._lock = threading.Lock()
        self._added: list[int] = []
        self._removed: list[int] = []
        self._holdings: Holdings = {}
        self._layout: list[tuple[int, ...]] = []
        self._usage: Usage | None = None
        self._discovery: Switch | None = None
        self._other: dict[str, Any] = {}  # keys a later version wrote: kept as they are
        self._write_failed = False
        self._warned = False
        self._load()

    # --- reading --------------------------------------------------------------------------------

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            raw = read_json(self.path, max_bytes=MAX_STATE_BYTES)
        except Unreadable as exc:
            self._give_up(exc.reason, kept=False)
            return
        if raw is None:
            return
        if not isinstance(raw, dict):
            self._give_up(f"expected an object, got {type_name(raw)}", kept=False)
            return
        problems: list[str] = []
        self._added = id_list(raw.get("added", []), "added", problems)
        self._removed = id_list(raw.get("removed", []), "removed", problems)
        self._holdings = _holdings(raw.get("holdings", {}), problems)
        self._layout = _layout(raw.get("layout", []), problems)
        self._usage = _usage(raw.get("usage"), problems)
        self._discovery = _switch(raw.get("discovery"), "discovery", problems)
        self._other = _other(raw, problems)
        if problems:
            self._give_up(summary(problems), kept=True)
            with self._lock:
                self._save()

    def _give_up(self, reason: str, *, kept: bool) -> None:
        self.problem = reason
        if self._repair and self.path is not None:
            outcome = "kept what was valid in it" if kept else "started without it"
            set_aside(self.path, "state file", reason, outcome=outcome)

    # --- coins changed at run time --------------------------------------------------------------

    def coin_changes(self) -> tuple[list[int], list[int]]:
        """(added, removed) ids, as requested over MQTT."""
        with self._lock:
            return list(self._added), list(self._removed)

    def set_coin_changes(self, added: list[int], removed: list[int]) -> None:
        problems: list[str] = []
        new_added = id_list(list(added), "added", problems)
        new_removed = id_list(list(removed), "removed", problems)
        self._refused(problems)
        with self._lock:
            if (new_added, new_removed) == (self._added, self._removed):
                return
            self._added, self._removed = new_added, new_removed
            self._save()

    # --- holdings set at run time ---------------------------------------------------------------

    def holding_changes(self) -> Holdings:
        """Coin id -> (amount set over MQTT, the configured amount it replaced or None), both
        as exact decimal texts within `bounds.MAX_HOLDING`."""
        with self._lock:
            return dict(self._holdings)

    def set_holding_changes(self, changes: Holdings) -> None:
        problems: list[str] = []
        raw = {
            str(cid): {"amount": amount, "configured": configured}
            for cid, (amount, configured) in changes.items()
        }
        new = _holdings(raw, problems)
        self._refused(problems)
        with self._lock:
            if new == self._holdings:
                return
            self._holdings = new
            self._save()

    # --- the connection layout ------------------------------------------------------------------

    def layout(self) -> list[tuple[int, ...]]:
        with self._lock:
            return list(self._layout)

    def set_layout(self, layout: list[tuple[int, ...]]) -> None:
        problems: list[str] = []
        new = _layout([list(shard) for shard in layout], problems)
        self._refused(problems)
        with self._lock:
            if new == self._layout:
                return
            self._layout = new
            self._save()

    # --- credits ----------------------------------------------------------------------------------

    def month_usage(self) -> tuple[str | None, float, float]:
        """(month as "YYYY-MM", credits counted in it before this run, of which REST calls')."""
        with self._lock:
            usage = self._usage
        return (None, 0.0, 0.0) if usage is None else usage

    def set_month_usage(self, month: str, credits: float, rest: float = 0.0) -> None:
        problems: list[str] = []
        counts = {"credits": credits, "rest": rest}
        rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in counts.items()}
        new = _usage({"month": month, **rounded}, problems)
        self._refused(problems)
        with self._lock:
            if new is None or new == self._usage:
                return
            self._usage = new
            self._save()

    # --- Home Assistant discovery turned on or off at run time ----------------------------------

    def discovery_switch(self) -> Switch | None:
        """(on, the configured value it replaced), as last set over MQTT; None if never."""
        with self._lock:
            return self._discovery

    def set_discovery_switch(self, switch: Switch | None) -> None:
        """Remember a switch set over MQTT, or (None) forget it."""
        with self._lock:
            if switch == self._discovery:
                return
            self._discovery = switch
            self._save()

    # --- writing --------------------------------------------------------------------------------

    def _refused(self, problems: list[str]) -> None:
        """A value the bridge itself asked to keep was out of bounds: never written, and said
        once (then at debug level, as the same value may be offered every minute)."""
        if problems:
            log = LOG.debug if self._warned else LOG.warning
            log("not remembering %s", summary(problems))
            self._warned = True

    def _save(self) -> None:
        """Write everything (call with the lock held); a failure is logged once until a write
        succeeds again."""
        if self.path is None or not self._repair:
            return
        data: dict[str, Any] = {
            **self._other,
            "added": self._added,
            "removed": self._removed,
            "holdings": {
                str(cid): {"amount": amount, "configured": configured}
                for cid, (amount, configured) in sorted(self._holdings.items())
            },
            "layout": [list(shard) for shard in self._layout],
        }
        if self._usage is not None:
            month, credits, rest = self._usage
            data["usage"] = {"month": month, "credits": credits, "rest": rest}
        if self._discovery is not None:
            on, configured = self._discovery
            data["discovery"] = {"enabled": on, "configured": configured}
        try:
            write_json_atomically(self.path, data, max_bytes=MAX_STATE_BYTES)
        except (OSError, ValueError) as exc:
            if not self._write_failed:
                LOG.warning("could not write the state file %s: %s", self.path, exc)
            self._write_failed = True
        else:
            if self._write_failed:
                LOG.info("the state file %s is written again", self.path)
            self._write_failed = False


# --- validation: the same rules for what is read and what is written ----------------------------


def id_list(value: Any, key: str, problems: list[str], *, limit: int = MAX_IDS) -> list[int]:
    """Coin ids (exact integers in 1..2^31-1, at most `limit`), in order and without repeats;
    a problem for `key` when anything had to be left out."""
    if not isinstance(value, list):
        problems.append(f"{key}: expected a list of coin ids, got {type_name(value)}")
        return []
    if len(value) > limit:
        problems.append(f"{key}: more than {limit:,} ids")
    ids = [v for v in value[:limit] if is_coin_id(v)]
    if len(ids) < min(len(value), limit):
        bad = next(v for v in value if not is_coin_id(v))
        problems.append(f"{key}: {shown(bad)} is not a coin id (1 to {MAX_COIN_ID})")
    return list(dict.fromkeys(ids))


def _holdings(value: Any, problems: list[str]) -> Holdings:
    if not isinstance(value, dict):
        problems.append(f"holdings: expected an object, got {type_name(value)}")
        return {}
    if len(value) > MAX_HOLDINGS:
        problems.append(f"holdings: more than {MAX_HOLDINGS:,} coins")
    found: Holdings = {}
    for key, entry in islice(value.items(), MAX_HOLDINGS):
        if not (_ID_KEY.fullmatch(key) and int(key) <= MAX_COIN_ID):
            problems.append(f"holdings: {shown(key)} is not a coin id")
            continue
        if not isinstance(entry, dict):
            problems.append(f"holdings.{key}: expected an object, got {type_name(entry)}")
            continue
        amount = _amount(entry.get("amount"), f"holdings.{key}.amount", problems)
        configured = entry.get("configured")
        if configured is not None:
            configured = _amount(configured, f"holdings.{key}.configured", problems)
            if configured is None:
                continue
        if amount is not None:
            found[int(key)] = (amount, configured)
    return found


def _switch(value: Any, key: str, problems: list[str]) -> Switch | None:
    if value is None:
        return None
    if (
        isinstance(value, dict)
        and set(value) == {"enabled", "configured"}
        and all(isinstance(v, bool) for v in value.values())
    ):
        return value["enabled"], value["configured"]
    problems.append(f"{key}: expected {{enabled, configured}} as true or false")
    return None


def _other(raw: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Keys this version does not know (a later one wrote them): kept as they are, so a
    downgrade loses nothing, while they are small."""
    other = {key: value for key, value in raw.items() if key not in _KNOWN}
    if not other:
        return other
    try:
        size = len(dumps(other))
    except (ValueError, RecursionError):
        size = MAX_OTHER_BYTES + 1
    if size > MAX_OTHER_BYTES:
        problems.append(f"{len(other)} unknown keys, more than {MAX_OTHER_BYTES:,} bytes")
        return {}
    return other


def _amount(value: Any, key: str, problems: list[str]) -> str | None:
    """A holding's exact text, as `HoldingSet` keeps it; None (and a problem) when it is not
    text or not within `bounds.MAX_HOLDING`."""
    if not isinstance(value, str):
        problems.append(f"{key}: expected a number's text, got {type_name(value)}")
        return None
    try:
        number = parse_amount(value, key, maximum=MAX_HOLDING, places=HOLDING_PLACES)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None
    return format(number, "f")


def _layout(value: Any, problems: list[str]) -> list[tuple[int, ...]]:
    if not isinstance(value, list):
        problems.append(f"layout: expected a list of connections, got {type_name(value)}")
        return []
    if len(value) > MAX_SHARDS:
        problems.append(f"layout: more than {MAX_SHARDS:,} connections")
    shards: list[tuple[int, ...]] = []
    left = MAX_IDS
    for index, shard in enumerate(value[:MAX_SHARDS]):
        if left == 0:
            problems.append(f"layout: more than {MAX_IDS:,} ids in all")
            break
        ids = id_list(shard, f"layout[{index}]", problems, limit=left)
        left -= len(ids)
        shards.append(tuple(ids))
    return shards


def _usage(value: Any, problems: list[str]) -> Usage | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(f"usage: expected an object, got {type_name(value)}")
        return None
    month, credits, rest = value.get("month"), value.get("credits"), value.get("rest", 0.0)
    if not (isinstance(month, str) and _MONTH.fullmatch(month)):
        problems.append(f"usage.month: expected YYYY-MM, got {shown(month)}")
        return None
    if not _is_credits(credits, MAX_CREDITS):
        problems.append(f"usage.credits: expected a number from 0 to 10^12, got {shown(credits)}")
        return None
    if not _is_credits(rest, float(credits)):
        problems.append(f"usage.rest: expected a number from 0 to usage.credits, got {shown(rest)}")
        rest = 0.0
    return month, float(credits), float(rest)


def _is_credits(value: Any, most: float) -> TypeGuard[int | float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= most
    )
