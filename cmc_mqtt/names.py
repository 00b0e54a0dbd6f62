"""Coin names: config overrides, then CoinMarketCap's `/v1/cryptocurrency/map` (cached on
disk), then the bundled table, then "CMC #<id>".

The lookup runs beside the stream, never in front of it: the bridge publishes with the names it
has and republishes discovery when better ones arrive.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from .coins import MAX_NAME, MAX_SLUG, MAX_SYMBOL, CoinInfo, clean_text, coin_info
from .rest import Cancel, Cancelled, RestError, get_json
from .secret import Secret
from .statefile import write_json_atomically

LOG = logging.getLogger(__name__)
PAGE_LIMIT: Final = 5000
MAX_PAGES: Final = 10
CACHE_FILE: Final = "coins.json"

__all__ = ["CACHE_FILE", "CoinDirectory", "clean_text", "fetch_map"]


class CoinDirectory:
    """Thread-safe id → name lookup whose answers improve while the bridge runs."""

    def __init__(self, overrides: dict[int, CoinInfo], cache_dir: Path | None) -> None:
        self._overrides = dict(overrides)
        self._cache_path = cache_dir / CACHE_FILE if cache_dir else None
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
        if self._cache_path is None or not self._cache_path.is_file():
            return
        try:
            raw = json.loads(self._cache_path.read_text(encoding="utf-8"))
            coins = [_coin_from(entry) for entry in raw.get("coins", [])]
        except (OSError, ValueError, AttributeError) as exc:
            LOG.warning("ignoring unreadable coin name cache %s: %s", self._cache_path, exc)
            return
        with self._lock:
            self._fetched.update({c.id: c for c in coins if c is not None})

    def _save_cache(self) -> None:
        if self._cache_path is None:
            return
        with self._lock:
            coins = [
                {"id": c.id, "name": c.name, "symbol": c.symbol, "slug": c.slug, "rank": c.rank}
                for c in sorted(self._fetched.values(), key=lambda c: c.id)
            ]
        try:
            write_json_atomically(self._cache_path, {"saved": int(time.time()), "coins": coins})
        except OSError as exc:
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
        body = get_json(
            rest_url, "/v1/cryptocurrency/map", params, api_key, timeout=timeout, cancel=cancel
        )
        entries = body.get("data") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise TypeError("unexpected answer shape")
        for entry in entries:
            coin = _coin_from(entry)
            if coin is not None and coin.id in wanted:
                found[coin.id] = coin
        ids = [e["id"] for e in entries if isinstance(e, dict) and type(e.get("id")) is int]
        last_id = max(ids, default=0)
        if len(entries) < PAGE_LIMIT or found.keys() >= wanted or last_id >= highest_wanted:
            break
        start += PAGE_LIMIT
    return found


def _coin_from(entry: Any) -> CoinInfo | None:
    if not isinstance(entry, dict) or type(entry.get("id")) is not int:
        return None
    name = clean_text(entry.get("name"), MAX_NAME)
    symbol = clean_text(entry.get("symbol"), MAX_SYMBOL)
    if name is None or symbol is None:
        return None
    slug = clean_text(entry.get("slug"), MAX_SLUG)
    if slug is not None and not re.fullmatch(r"[a-z0-9-]+", slug):
        slug = None
    rank = entry.get("rank")
    return CoinInfo(entry["id"], name, symbol, slug, rank if type(rank) is int else None)
