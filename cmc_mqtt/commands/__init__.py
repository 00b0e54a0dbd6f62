"""The commands beside `run`: `init` (a starter config), `check-config` (the plan), `demo`.

May import everything below the entry points: `bridge`, `simulator` and the wings.
"""
