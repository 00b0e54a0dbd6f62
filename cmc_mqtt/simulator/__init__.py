"""A stand-in for CoinMarketCap's stream: tests, the benchmark and the demo run against it."""

from __future__ import annotations

from .market import Market
from .server import FakeStreamServer

__all__ = ["FakeStreamServer", "Market"]
