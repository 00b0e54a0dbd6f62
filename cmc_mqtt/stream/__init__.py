"""CoinMarketCap's stream: the protocol without I/O, frames judged at one boundary, the reader,
one connection per session, and the pool that spreads the coins over connections within the
key's limits.

May import: `model`, `util`, `errors`, and websocket-client. Knows nothing of MQTT or the state:
quotes go to a `StreamSink`.
"""
