"""CoinMarketCap's REST API: the bounded, cancellable client, the worker thread every call runs
on, paid calls counted, coin names and fiat ids looked up and cached.

May import: `money` (a rate is offered to its keeper), `model`, `util`, `errors`.
"""
