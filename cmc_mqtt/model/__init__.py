"""The facts everything else builds on, as data and pure functions: the field table, the
bundled coins, the book of every topic the bridge writes, reads or sweeps, and the bounds of
every amount that enters.

May import: `util`, `errors`. No I/O.
"""
