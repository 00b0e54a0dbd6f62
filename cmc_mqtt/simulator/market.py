"""Plausible moving quotes: a random walk per coin, seeded from real-shaped values."""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Final

from ..model.coins import BUNDLED_COINS
from ..stream.frames import CHANNEL

#: Starting price, 24 h volume and circulating supply of the bundled coins (shaped like the
#: documented example frames).
SEEDS: Final[dict[int, tuple[float, float, int]]] = {
    1: (81187.93284788371, 29932025976.79, 20028706),
    1027: (3118.2482178476344, 14165776702.8, 120700000),
    825: (1.000196696388024, 2340978591.92, 158000000000),
    52: (2.4315642862823457, 7090175135.86, 58900000000),
    1839: (611.6948006994712, 3422821202.57, 140890000),
    5426: (177.88678599805155, 2757173462.95, 512000000),
    3408: (0.9996525913358048, 2256545243.44, 61000000000),
    74: (0.2141253679644425, 858394308.22, 148000000000),
    2010: (0.741962371427975, 2006494808.81, 35900000000),
    6636: (4.507444952518561, 508211021.88, 1520000000),
}
STABLECOINS: Final = frozenset({825, 3408})
#: Percent-change fields and the spread of their starting values.
CHANGE_SPREAD: Final = (
    ("p24h", 4.0), ("p7d", 10.0), ("p30d", 20.0), ("p60d", 25.0), ("p3m", 30.0),
    ("p1y", 60.0), ("pytd", 40.0),
)  # fmt: skip


@dataclass(slots=True)
class CoinTrack:
    cid: int
    rank: int
    price: float
    volume: float
    supply: int
    volatility: float  # relative standard deviation of one step
    references: dict[str, float] = field(default_factory=dict)  # price the change is against
    first_price: float = 0.0


class Market:
    """Coins ranked like CoinMarketCap: bundled coins first, then by id."""

    def __init__(self, seed: int | None = None, *, volatility: float = 0.0008) -> None:
        self._rng = random.Random(seed)
        self._volatility = volatility
        self._coins: dict[int, CoinTrack] = {}
        self._ranks = {cid: rank for rank, cid in enumerate(BUNDLED_COINS, start=1)}

    def rank(self, cid: int) -> int:
        return self._ranks.get(cid, len(BUNDLED_COINS) + cid)

    def coin(self, cid: int) -> CoinTrack:
        track = self._coins.get(cid)
        if track is None:
            track = self._new_coin(cid)
            self._coins[cid] = track
        return track

    def _new_coin(self, cid: int) -> CoinTrack:
        rng = self._rng
        if cid in SEEDS:
            price, volume, supply = SEEDS[cid]
        else:
            price = 10 ** rng.uniform(-6, 3)
            supply = int(10 ** rng.uniform(6, 11))
            volume = price * supply * rng.uniform(0.005, 0.2)
        volatility = self._volatility / 20 if cid in STABLECOINS else self._volatility
        track = CoinTrack(cid, self.rank(cid), price, volume, supply, volatility)
        stable = cid in STABLECOINS
        for key, spread in CHANGE_SPREAD:
            change = rng.uniform(-spread, spread) / (2000 if stable else 100)
            track.references[key] = price / (1 + change)
        track.first_price = price / (rng.uniform(0.95, 1.05) if stable else rng.uniform(50, 5000))
        return track

    def step(self, cid: int) -> dict[str, float | int]:
        """Move one coin one push further and return its `data` object."""
        t = self.coin(cid)
        rng = self._rng
        t.price *= math.exp(rng.gauss(0, t.volatility))
        if t.cid in STABLECOINS:
            t.price += (1.0 - t.price) * 0.05  # pegged: drift back to one dollar
        t.volume = max(0.0, t.volume * math.exp(rng.gauss(0, t.volatility / 2)))
        data: dict[str, float | int] = {
            "cid": t.cid,
            "p": t.price,
            "vu": round(t.volume, 2),
            "mc": round(t.price * t.supply, 2),
            "cs": t.supply,
        }
        for key, _ in CHANGE_SPREAD:
            data[key] = round((t.price / t.references[key] - 1) * 100, 12)
        data["pall"] = round((t.price / t.first_price - 1) * 100, 8)
        data["fdv24h"] = data["p24h"]
        return data

    def frame(self, cid: int, ts_ms: int) -> str:
        """A complete `data` frame as the server would send it."""
        return quote_frame(self.step(cid), ts_ms)


def now_ms() -> int:
    """A frame's `ts`: milliseconds since the epoch."""
    return int(time.time() * 1000)


def quote_frame(data: dict[str, Any], ts_ms: int) -> str:
    """The `data` envelope around one coin's quote."""
    body = {
        "type": "data",
        "channel": CHANNEL,
        "params": {"crypto_ids": data.get("cid")},
        "data": data,
        "ts": ts_ms,
    }
    return json.dumps(body, separators=(",", ":"))
