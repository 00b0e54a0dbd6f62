"""Symbols looked up beyond the bundled table: in the coin names CoinMarketCap gave this
configuration before (its cached map, for `crypto_ids = ["SOL"]` in `run` and `check-config`),
or asked of CoinMarketCap's `/v1/cryptocurrency/map` (for `init`'s answers, which have a key).

Both read the map's entries as `rest.names` does: an entry without an id, a name and a symbol
is no coin.
"""

from __future__ import annotations

from typing import Any, Final

from ..config import Settings
from ..config.coin_ids import symbol_table
from ..model.coins import CoinInfo
from ..rest.client import RestError, get_json
from ..rest.names import (
    CACHE_FILE,
    MAP_PATH,
    MAX_CACHE_BYTES,
    MAX_CACHED_COINS,
    coin_from_entry,
)
from ..state.identity import reading_folder
from ..util.jsonfile import Unreadable, read_json
from ..util.secret import Secret

#: CoinMarketCap's status for a symbol it lists no coin under ("Invalid value for symbol").
NOT_LISTED: Final = 400


def cached_symbols(settings: Settings) -> dict[str, list[CoinInfo]]:
    """The coins of this configuration's cached CoinMarketCap map, by symbol; nothing when
    there is no cache or it cannot be read (a run sets such a file aside; this only reads)."""
    folder = reading_folder(settings, CACHE_FILE)
    if folder is None:
        return {}
    try:
        raw = read_json(folder / CACHE_FILE, max_bytes=MAX_CACHE_BYTES)
    except Unreadable:
        return {}
    entries = raw.get("coins") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        return {}
    return symbol_table(_coins(entries[:MAX_CACHED_COINS]))


def lookup_symbol(api_key: Secret, rest_url: str, symbol: str, timeout: float) -> list[CoinInfo]:
    """The coins CoinMarketCap lists under `symbol`, the best ranked first (none: it lists
    none); `RestError` when it gives no usable answer. The map costs no credits."""
    try:
        body = get_json(rest_url, MAP_PATH, {"symbol": symbol}, api_key, timeout=timeout)
    except RestError as exc:
        if exc.status == NOT_LISTED:
            return []
        raise
    entries = body.get("data") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise RestError("unexpected answer shape")
    found = [coin for coin in _coins(entries) if coin.symbol.upper() == symbol.upper()]
    return sorted(found, key=lambda coin: (coin.rank is None, coin.rank or 0, coin.id))


def _coins(entries: list[Any]) -> list[CoinInfo]:
    return [coin for entry in entries if (coin := coin_from_entry(entry)) is not None]
