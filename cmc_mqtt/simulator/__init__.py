"""A stand-in for CoinMarketCap's stream and the REST calls the bridge makes: tests, the
benchmark and the demo run against it (`cmc-mqtt simulate` serves it alone).

Its parts, each importing only those below it: `wire` (WebSocket framing), `limits`, `billing`,
`behaviour`, `market`, `catalog` (what it knows and lists), `connection` (one client), `accounts`
(each key's credits and connections), `registry` (the open connections and their lock), `hub`
(what the parts may ask of the server), `protocol`, `rest`, `cadence`, `flood`, `serving` (the
parts, given a `Hub`), `server` (`FakeStreamServer`, the hub), `options` (the command's options).

May import: `stream` (the channel's name), `model` (the bundled coins and fiats), `errors`. It
sits beside the bridge and may import any wing below it, but answers the bridge with its own
code, never the bridge's: a fake that shared the client's rules would accept what they accept.
"""

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
