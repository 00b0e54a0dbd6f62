"""Coin names: config overrides, then CoinMarketCap's `/v1/cryptocurrency/map` (cached on
disk), then the bundled table, then "CMC #<id>".

The lookup runs beside the stream, never in front of it: the bridge publishes with the names it
has and republishes discovery when better ones arrive.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path
from typing import Any, Final

from ..model.coins import (
    MAX_NAME,
    MAX_SLUG,
    MAX_SYMBOL,
    CoinInfo,
    clean_text,
    coin_info,
    is_coin_id,
)
from ..util.jsonfile import (
    Unreadable,
    read_json,
    set_aside,
    summary,
    type_name,
    write_json_atomically,
)
from ..util.secret import Secret
from .client import Cancel, Cancelled, RestError, get_json

__all__ = ["CACHE_FILE", "CoinDirectory", "clean_text", "fetch_map"]

LOG = logging.getLogger(__name__)
PAGE_LIMIT: Final = 5000
MAX_PAGES: Final = 10
CACHE_FILE: Final = "coins.json"
MAP_PATH: Final = "/v1/cryptocurrency/map"
#: Bounds of the name cache: more coins than CoinMarketCap lists, far fewer bytes than would
#: strain a Raspberry Pi to read.
MAX_CACHED_COINS: Final = 50_000
MAX_CACHE_BYTES: Final = 8 * 1024 * 1024


class CoinDirectory:
    """Thread-safe id → name lookup whose answers improve while the bridge runs."""

    def __init__(
        self, overrides: dict[int, CoinInfo], cache_dir: Path | None, *, repair: bool = True
    ) -> None:
        """`repair=False` only reads the cache: an unreadable one is ignored, not set aside."""
        self._overrides = dict(overrides)
        self._cache_path = cache_dir / CACHE_FILE if cache_dir else None
        self._repair = repair
        self._fetched: dict[int, CoinInfo] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._load_cache()

    def get(self, coin_id: int) -> CoinInfo:
        if coin_id in self._overrides:
            return self._overrides[coin_id]
        with self._lock:
            fetched = self._fetched.get(coin_id)
        return fetched or coin_info(coin_id)

    def add_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def update(self, coins: Iterable[CoinInfo]) -> bool:
        """Merge fetched names; True (and listeners told) when anything changed."""
        changed = False
        with self._lock:
            for coin in coins:
                if self._fetched.get(coin.id) != coin:
                    self._fetched[coin.id] = coin
                    changed = True
        if changed:
            for listener in self._listeners:
                listener()
        return changed

    # --- the REST lookup ----------------------------------------------------------------------

    def refresh(
        self,
        api_key: Secret,
        rest_url: str,
        ids: Iterable[int],
        timeout: float,
        cancel: Cancel | None = None,
    ) -> bool:
        """Fetch names for `ids`; on any failure keep what we have. True when names changed.
        Runs on the REST worker's thread, never in front of the stream."""
        wanted = set(ids) - set(self._overrides)
        if not wanted:
            return False
        try:
            found = fetch_map(api_key, rest_url, wanted, timeout, cancel)
        except Cancelled:
            LOG.debug("coin name lookup cancelled")
            return False
        except (RestError, TypeError) as exc:
            LOG.warning(
                "could not look up coin names at CoinMarketCap (%s); using %s names",
                exc,
                "cached" if self._fetched else "bundled",
            )
            return False
        LOG.info("looked up names for %d of %d coins", len(found), len(wanted))
        changed = self.update(found.values())
        self._save_cache()
        return changed

    # --- the disk cache -----------------------------------------------------------------------

    def _load_cache(self) -> None:
        """Read the cache like any input: an unreadable one is set aside and the names come
        from the map again; entries that are not names (or too many) are left out, the file set
        aside and the rest saved again."""
        path = self._cache_path
        if path is None:
            return
        problems: list[str] = []
        try:
            coins = _cached_coins(read_json(path, max_bytes=MAX_CACHE_BYTES), problems)
        except Unreadable as exc:
            if self._repair:
                set_aside(path, "coin name cache", exc.reason)
            return
        with self._lock:
            self._fetched.update({c.id: c for c in coins})
        if problems and self._repair:
            set_aside(path, "coin name cache", summary(problems), outcome="kept the rest")
            self._save_cache()

    def _save_cache(self) -> None:
        if self._cache_path is None or not self._repair:
            return
        with self._lock:
            kept = sorted(self._fetched.values(), key=lambda c: c.id)[:MAX_CACHED_COINS]
        coins = [
            {"id": c.id, "name": c.name, "symbol": c.symbol, "slug": c.slug, "rank": c.rank}
            for c in kept
        ]
        try:
            write_json_atomically(
                self._cache_path,
                {"saved": int(time.time()), "coins": coins},
                max_bytes=MAX_CACHE_BYTES,
            )
        except (OSError, ValueError) as exc:
            LOG.warning("could not write coin name cache %s: %s", self._cache_path, exc)


def fetch_map(
    api_key: Secret, rest_url: str, wanted: set[int], timeout: float, cancel: Cancel | None = None
) -> dict[int, CoinInfo]:
    """Page through `/v1/cryptocurrency/map` sorted by id until every wanted id was seen."""
    found: dict[int, CoinInfo] = {}
    start = 1
    highest_wanted = max(wanted)
    for _ in range(MAX_PAGES):
        params: dict[str, str | int] = {
            "listing_status": "active", "start": start, "limit": PAGE_LIMIT, "sort": "id",
        }  # fmt: skip
        body = get_json(rest_url, MAP_PATH, params, api_key, timeout=timeout, cancel=cancel)
        entries = body.get("data") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise TypeError("unexpected answer shape")
        for entry in entries:
            coin = coin_from_entry(entry)
            if coin is not None and coin.id in wanted:
                found[coin.id] = coin
        ids = [e["id"] for e in entries if isinstance(e, dict) and type(e.get("id")) is int]
        last_id = max(ids, default=0)
        if len(entries) < PAGE_LIMIT or found.keys() >= wanted or last_id >= highest_wanted:
            break
        start += PAGE_LIMIT
    return found


def _cached_coins(raw: Any, problems: list[str]) -> list[CoinInfo]:
    """The coins of a cache file's content (None: no file); `Unreadable` when it is not a
    cache at all."""
    if raw is None:
        return []
    entries = raw.get("coins") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        shape = f'"coins" as {type_name(entries)}' if isinstance(raw, dict) else type_name(raw)
        raise Unreadable(f'expected an object with a list "coins", got {shape}')
    if len(entries) > MAX_CACHED_COINS:
        problems.append(f"more than {MAX_CACHED_COINS:,} coins")
    coins = [coin_from_entry(entry) for entry in islice(entries, MAX_CACHED_COINS)]
    bad = sum(coin is None for coin in coins)
    if bad:
        problems.append(f"{bad} entries that are not a coin's id, name and symbol")
    return [coin for coin in coins if coin is not None]


def coin_from_entry(entry: Any) -> CoinInfo | None:
    """One entry of the map as a coin, its texts cleaned and bounded; None when it lacks an
    id, a name or a symbol."""
    if not isinstance(entry, dict) or not is_coin_id(entry.get("id")):
        return None
    name = clean_text(entry.get("name"), MAX_NAME)
    symbol = clean_text(entry.get("symbol"), MAX_SYMBOL)
    if name is None or symbol is None:
        return None
    slug = clean_text(entry.get("slug"), MAX_SLUG)
    if slug is not None and not re.fullmatch(r"[a-z0-9-]+", slug):
        slug = None
    rank = entry.get("rank")  # a place in a list of coins: bounded like their ids
    return CoinInfo(entry["id"], name, symbol, slug, rank if is_coin_id(rank) else None)
