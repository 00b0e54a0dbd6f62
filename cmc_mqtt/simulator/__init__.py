"""A stand-in for CoinMarketCap's stream and the REST calls the bridge makes: tests, the
benchmark and the demo run against it."""

from __future__ import annotations

from .behaviour import Behaviour
from .billing import CreditLedger
from .limits import Limits
from .market import Market
from .options import add_simulator_arguments, limits_from_arguments, server_from_arguments
from .server import FakeStreamServer

__all__ = [
    "Behaviour",
    "CreditLedger",
    "FakeStreamServer",
    "Limits",
    "Market",
    "add_simulator_arguments",
    "limits_from_arguments",
    "server_from_arguments",
]
