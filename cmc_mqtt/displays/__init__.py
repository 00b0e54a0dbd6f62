"""What tickers and clocks show, pure: text templates and AWTRIX 3 payloads.

May import: `money`, `model`, `util`, `errors`. No I/O.
"""
