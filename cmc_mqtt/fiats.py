"""CoinMarketCap's fiat currencies: a code such as EUR resolved to CoinMarketCap's id.

The ids are CoinMarketCap's to give, so they come from `/v1/fiat/map` (1 credit "no matter
query size"), fetched once and cached on disk beside the coin names; a bundled table covers the
common codes when the map cannot be fetched, and says which of its ids are verified.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .coins import clean_text
from .paidcall import Spend, get_paid_json
from .rest import Cancel, Cancelled, RestError
from .secret import Secret
from .statefile import write_json_atomically

LOG = logging.getLogger(__name__)

USD_ID: Final = 2781
FIAT_MAP_PATH: Final = "/v1/fiat/map"
CACHE_FILE: Final = "fiats.json"
CREDITS_FIAT_MAP: Final = 1


@dataclass(frozen=True, slots=True)
class Fiat:
    id: int
    code: str
    name: str
    sign: str
    verified: bool  # the id came from CoinMarketCap's map, or from its documentation


def _fiat(fid: int, code: str, name: str, sign: str, verified: bool = False) -> Fiat:
    return Fiat(fid, code, name, sign, verified)


#: Used when the map cannot be fetched. Verified (in CoinMarketCap's documentation or clients of
#: it): USD, AUD, BRL, EUR, GBP. The rest are UNVERIFIED (the ids run alphabetically by code from
#: AUD, which the verified ones fit); an unverified id is never sent, only its code.
BUNDLED_FIATS: Final[dict[str, Fiat]] = {
    f.code: f
    for f in (
        _fiat(2781, "USD", "United States Dollar", "$", True),
        _fiat(2782, "AUD", "Australian Dollar", "$", True),
        _fiat(2783, "BRL", "Brazilian Real", "R$", True),
        _fiat(2784, "CAD", "Canadian Dollar", "$"),
        _fiat(2785, "CHF", "Swiss Franc", "Fr"),
        _fiat(2787, "CNY", "Chinese Yuan", "¥"),
        _fiat(2789, "DKK", "Danish Krone", "kr"),
        _fiat(2790, "EUR", "Euro", "€", True),
        _fiat(2791, "GBP", "Pound Sterling", "£", True),
        _fiat(2792, "HKD", "Hong Kong Dollar", "$"),
        _fiat(2796, "INR", "Indian Rupee", "₹"),
        _fiat(2797, "JPY", "Japanese Yen", "¥"),
        _fiat(2798, "KRW", "South Korean Won", "₩"),
        _fiat(2801, "NOK", "Norwegian Krone", "kr"),
        _fiat(2802, "NZD", "New Zealand Dollar", "$"),
        _fiat(2805, "PLN", "Polish Złoty", "zł"),
        _fiat(2807, "SEK", "Swedish Krona", "kr"),
        _fiat(2808, "SGD", "Singapore Dollar", "S$"),
    )
}


class FiatDirectory:
    """Code -> CoinMarketCap fiat: the cached map, else the map fetched once (1 credit), else
    the bundled table. Thread-safe."""

    def __init__(self, cache_dir: Path | None) -> None:
        self._path = cache_dir / CACHE_FILE if cache_dir else None
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
        if self._path is None or not self._path.is_file():
            return
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
            entries = _fiats_from(raw.get("fiats"))
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            LOG.warning("ignoring unreadable fiat cache %s: %s", self._path, exc)
            return
        self._map = entries

    def _save(self) -> None:
        if self._path is None:
            return
        with self._lock:
            fiats = [
                {"id": f.id, "symbol": f.code, "name": f.name, "sign": f.sign}
                for f in sorted(self._map.values(), key=lambda f: f.id)
            ]
        try:
            write_json_atomically(self._path, {"saved": int(time.time()), "fiats": fiats})
        except OSError as exc:
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


def _fiats_from(entries: Any) -> dict[str, Fiat]:
    if not isinstance(entries, list):
        raise TypeError("expected a list of fiats")
    found: dict[str, Fiat] = {}
    for entry in entries:
        if not isinstance(entry, dict) or type(entry.get("id")) is not int:
            continue
        code = clean_text(entry.get("symbol"), 8)
        if code is None or not code.isalpha():
            continue
        name = clean_text(entry.get("name"), 64) or code
        sign = clean_text(entry.get("sign"), 8) or code
        found[code.upper()] = Fiat(entry["id"], code.upper(), name, sign, True)
    return found
