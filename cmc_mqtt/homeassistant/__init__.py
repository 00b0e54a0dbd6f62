"""Home Assistant MQTT discovery, pure: the payloads for every coin, the bridge device and the
portfolio, and entity ids slugified as Home Assistant slugifies.

May import: `config` (its settings), `money`, `model`, `util`, `errors`. No I/O.
"""
