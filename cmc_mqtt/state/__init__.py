"""What the bridge knows and remembers: the state of every coin (also the publish queue), what
one configuration remembers across restarts and where, the coins and holdings changed at run
time, the credit meter, discovery switched on or off.

May import: `stream` (frames in, the pool the coins apply to), `rest`, `homeassistant`,
`config`, `money`, `model`, `util`, `errors`.
"""
