"""Leaving the process: never through interpreter finalization while a thread of ours runs.

CPython tears down modules and frees objects while daemon threads may still be inside C code
(a socket read, TLS, a name lookup); that is a segmentation fault or a heap corruption at exit,
seen in the field as one crash in ten under load. Every component stops its own threads in a
bounded time; what still runs after that is named in the log and the process leaves with
`os._exit`, after flushing the log. The broker then publishes our last will (`offline`).
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import sys
import threading
import time
from typing import Final, NoReturn

LOG = logging.getLogger("cmc_mqtt")
#: How long threads still running at exit are waited for before the process leaves anyway.
EXIT_GRACE_S: Final = 0.5


def enable_crash_traces() -> None:
    """A native crash (SIGSEGV, SIGABRT, …) prints every thread's Python stack to stderr, where
    the log goes, so a crash report says where it happened."""
    faulthandler.enable(file=sys.stderr, all_threads=True)


def running_threads() -> list[threading.Thread]:
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and t.is_alive()]


def leave(status: int, grace: float = EXIT_GRACE_S) -> NoReturn:
    """Exit with `status`; through `os._exit` when threads are still running after `grace`."""
    deadline = time.monotonic() + grace
    for thread in running_threads():
        thread.join(max(0.0, deadline - time.monotonic()))
    left = running_threads()
    if not left:
        sys.exit(status)
    LOG.error(
        "threads still running at exit (%s); leaving without waiting for them",
        ", ".join(sorted(t.name for t in left)),
    )
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
