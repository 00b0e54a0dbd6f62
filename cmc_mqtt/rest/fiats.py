"""CoinMarketCap's fiat currencies: a code such as EUR resolved to CoinMarketCap's id.

The ids are CoinMarketCap's to give, so they come from `/v1/fiat/map` (1 credit "no matter
query size"), fetched once and cached on disk beside the coin names; a bundled table covers the
common codes when the map cannot be fetched (`model.fiats`), and says which of its ids are
verified.
"""

from __future__ import annotations

import logging
import threading
import time
from itertools import islice
from pathlib import Path
from typing import Any, Final

from ..model.coins import clean_text, is_coin_id
from ..model.fiats import BUNDLED_FIATS, Fiat
from ..util.jsonfile import (
    Unreadable,
    read_json,
    set_aside,
    summary,
    type_name,
    write_json_atomically,
)
from ..util.secret import Secret
from .client import Cancel, Cancelled, RestError
from .paid import Spend, get_paid_json

LOG = logging.getLogger(__name__)

FIAT_MAP_PATH: Final = "/v1/fiat/map"
CACHE_FILE: Final = "fiats.json"
CREDITS_FIAT_MAP: Final = 1
#: Bounds of the fiat cache (CoinMarketCap lists about a hundred).
MAX_FIATS: Final = 1_000
MAX_CACHE_BYTES: Final = 256 * 1024


class FiatDirectory:
    """Code -> CoinMarketCap fiat: the cached map, else the map fetched once (1 credit), else
    the bundled table. Thread-safe."""

    def __init__(self, cache_dir: Path | None, *, repair: bool = True) -> None:
        """`repair=False` only reads the cache: an unreadable one is ignored, not set aside."""
        self._path = cache_dir / CACHE_FILE if cache_dir else None
        self._repair = repair
        self._lock = threading.Lock()
        self._map: dict[str, Fiat] = {}
        self._fetched = False
        self._load()

    def known(self, code: str) -> Fiat | None:
        """Without a REST call: the cached map's entry, else the bundled one."""
        code = code.strip().upper()
        with self._lock:
            found = self._map.get(code)
        return found or BUNDLED_FIATS.get(code)

    def resolve(
        self,
        code: str,
        api_key: Secret,
        rest_url: str,
        *,
        timeout: float,
        cancel: Cancel | None,
        spend: Spend | None = None,
    ) -> Fiat | None:
        """The fiat for `code`; fetches the map (once per run, then cached) when the cache does
        not have it, telling `spend` its credit. None when CoinMarketCap does not list it.
        `Cancelled` passes through."""
        code = code.strip().upper()
        with self._lock:
            found, fetched = self._map.get(code), self._fetched
        if found is not None or fetched:
            return found
        try:
            entries = fetch_fiat_map(api_key, rest_url, timeout=timeout, cancel=cancel, spend=spend)
        except Cancelled:
            raise
        except (RestError, TypeError) as exc:
            bundled = BUNDLED_FIATS.get(code)
            LOG.warning(
                "could not fetch CoinMarketCap's fiat map (%s); %s",
                exc,
                f"using the bundled entry for {code}" if bundled else f"{code} is not bundled",
            )
            return bundled
        with self._lock:
            self._map = entries
            self._fetched = True
        self._save()
        return entries.get(code)

    def _load(self) -> None:
        """Read the cache like any input: an unreadable one is set aside (the map is fetched
        again, 1 credit); entries that are not fiats are left out, the file set aside and the
        rest saved again."""
        if self._path is None:
            return
        problems: list[str] = []
        try:
            self._map = _cached_fiats(read_json(self._path, max_bytes=MAX_CACHE_BYTES), problems)
        except Unreadable as exc:
            if self._repair:
                set_aside(self._path, "fiat cache", exc.reason)
            return
        if problems and self._repair:
            set_aside(self._path, "fiat cache", summary(problems), outcome="kept the rest")
            self._save()

    def _save(self) -> None:
        if self._path is None or not self._repair:
            return
        with self._lock:
            fiats = [
                {"id": f.id, "symbol": f.code, "name": f.name, "sign": f.sign}
                for f in sorted(self._map.values(), key=lambda f: f.id)
            ]
        try:
            write_json_atomically(
                self._path, {"saved": int(time.time()), "fiats": fiats}, max_bytes=MAX_CACHE_BYTES
            )
        except (OSError, ValueError) as exc:
            LOG.warning("could not write fiat cache %s: %s", self._path, exc)


def fetch_fiat_map(
    api_key: Secret,
    rest_url: str,
    *,
    timeout: float,
    cancel: Cancel | None = None,
    spend: Spend | None = None,
) -> dict[str, Fiat]:
    """`/v1/fiat/map` (1 credit, told to `spend`), by code. TypeError when the answer has
    another shape."""
    body = get_paid_json(
        rest_url,
        FIAT_MAP_PATH,
        {},
        api_key,
        price=CREDITS_FIAT_MAP,
        spend=spend,
        timeout=timeout,
        cancel=cancel,
    )
    entries = _fiats_from(body.get("data") if isinstance(body, dict) else None)
    if not entries:
        raise TypeError("unexpected answer shape")
    return entries


def _cached_fiats(raw: Any, problems: list[str]) -> dict[str, Fiat]:
    """The fiats of a cache file's content (None: no file); `Unreadable` when it is not a
    cache at all."""
    if raw is None:
        return {}
    entries = raw.get("fiats") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        shape = f'"fiats" as {type_name(entries)}' if isinstance(raw, dict) else type_name(raw)
        raise Unreadable(f'expected an object with a list "fiats", got {shape}')
    return _fiats_from(entries, problems)


def _fiats_from(entries: Any, problems: list[str] | None = None) -> dict[str, Fiat]:
    """Fiats by code from the map's entries (or the cache's); TypeError when `entries` is not a
    list. Entries that are not a fiat are left out, and counted in `problems` when given."""
    if not isinstance(entries, list):
        raise TypeError(f"expected a list of fiats, got {type_name(entries)}")
    found: dict[str, Fiat] = {}
    bad = 0
    for entry in islice(entries, MAX_FIATS):
        fiat = _fiat_from(entry)
        if fiat is None:
            bad += 1
        else:
            found[fiat.code] = fiat
    if problems is not None:
        if len(entries) > MAX_FIATS:
            problems.append(f"more than {MAX_FIATS:,} fiats")
        if bad:
            problems.append(f"{bad} entries that are not a fiat's id and code")
    return found


def _fiat_from(entry: Any) -> Fiat | None:
    if not isinstance(entry, dict) or not is_coin_id(entry.get("id")):
        return None
    code = clean_text(entry.get("symbol"), 8)
    if code is None or not (code.isascii() and code.isalpha()):
        return None
    name = clean_text(entry.get("name"), 64) or code
    sign = clean_text(entry.get("sign"), 8) or code
    return Fiat(entry["id"], code.upper(), name, sign, True)
