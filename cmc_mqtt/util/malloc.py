"""One malloc arena for the bridge's threads (glibc's `M_ARENA_MAX`), asked for at start.

glibc gives each thread that allocates an arena of its own, so that threads allocating at the
same time need not wait for each other. The bridge's threads allocate almost only under Python's
GIL, one at a time, and gain nothing from them; the arenas' pages cost about 1.8 MB of peak RSS
at 10,000 coins (measured in one process: 46.0 against 44.2 MB with one arena), and loading
`ctypes` to ask costs 0.7 MB back. A `MALLOC_ARENA_MAX` the user has set is left to glibc;
without glibc's `mallopt` (musl, macOS) nothing happens.
"""

from __future__ import annotations

import os
import sys
from typing import Final

#: glibc's <malloc.h> name for the arena limit.
M_ARENA_MAX: Final = -8


def use_one_malloc_arena() -> bool:
    """Ask glibc for one arena before the threads start; whether it was granted."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        import ctypes  # noqa: PLC0415  (only here: the one caller of C)

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, 1))
    except (OSError, AttributeError):  # not glibc: no libc.so.6, or no mallopt in it
        return False
