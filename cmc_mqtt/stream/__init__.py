"""CoinMarketCap's stream: the protocol without I/O, frames judged at one boundary, the reader,
one connection per attempt (`connection`) kept up by its session's thread (`session`, with its
`subscriptions` book and `outage` log), and the pool that spreads the coins over sessions
(`fleet`) within the key's limits (`limits`, `layout`: pure planning).

May import: `model`, `util`, `errors`, and websocket-client. Knows nothing of MQTT or the state:
quotes go to a `StreamSink`.
"""
