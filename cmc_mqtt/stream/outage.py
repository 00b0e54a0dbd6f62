"""One stream connection's outage in the log: loud once, then quiet but never silent.

A warning when the connection first fails; INFO lines about 1, 5, 15 and 60 minutes into the
outage and hourly after that, each with how long it has truly lasted, the last cause and when the
next attempt comes; one line when the connection is back. The reports are due at those times,
not when an attempt happens to fail: the session asks while it waits between attempts (and while
an attempt waits for the server), so a report comes late only by a handshake still under way.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from ..errors import StreamError

LOG = logging.getLogger(__name__)

#: Seconds into an outage at which it is reported again, then every hour.
OUTAGE_REPORTS = (60.0, 300.0, 900.0, 3600.0)
HOURLY = 3600.0


def next_report_after(elapsed: float) -> float:
    """Seconds into an outage of the first report due after `elapsed` seconds of it: the
    reports missed meanwhile (a long handshake) are not made up in a burst."""
    for due in OUTAGE_REPORTS:
        if due > elapsed:
            return due
    last = OUTAGE_REPORTS[-1]
    return last + HOURLY * (math.floor((elapsed - last) / HOURLY) + 1)


def describe_duration(seconds: float) -> str:
    """`45 s`, `1 min`, `1 min 42 s`, `1 h`, `2 h 5 min`: what a person reads in a log line."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    hours, rest = divmod(whole // 60, 60)
    return f"{hours} h" + (f" {rest} min" if rest else "")


class OutageLog:
    """Says what one connection's outage needs said, when it needs saying."""

    def __init__(self, index: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._index = index
        self._clock = clock
        self._since: float | None = None
        self._cause: StreamError | None = None
        #: When the next report is due (the clock's time); infinity outside an outage.
        self.next_report_at = math.inf

    @property
    def active(self) -> bool:
        return self._since is not None

    def failed(self, cause: StreamError, next_attempt_in: float) -> None:
        """An attempt failed with a transient error: the outage starts, or goes on."""
        now = self._clock()
        self._cause = cause
        if self._since is None:
            self._since = now
            self.next_report_at = now + next_report_after(0.0)
            LOG.warning(
                "stream connection %d failed: %s; reconnecting with backoff", self._index, cause
            )
            return
        LOG.debug(
            "stream %d still failing: %s; next attempt in %.1f s",
            self._index,
            cause,
            next_attempt_in,
        )

    def refused(self, cause: StreamError) -> None:
        """An attempt was refused for good (a person must act): no outage starts (the refusal
        has its own line), but one under way reports this cause from now on."""
        if self._since is not None:
            self._cause = cause

    def report_if_due(self, next_attempt_in: float | None = None) -> None:
        """The INFO line, when one is due; `next_attempt_in` None: an attempt is under way."""
        now = self._clock()
        if now < self.next_report_at or self._since is None:
            return
        elapsed = now - self._since
        self.next_report_at = self._since + next_report_after(elapsed)
        LOG.info(
            "stream connection %d still down after %s: %s; %s",
            self._index,
            describe_duration(elapsed),
            self._cause,
            "trying again now"
            if next_attempt_in is None
            else f"next attempt in {describe_duration(next_attempt_in)}",
        )

    def ended(self) -> bool:
        """The connection works again; True when that ended an outage (and said so)."""
        since, self._since = self._since, None
        self._cause = None
        self.next_report_at = math.inf
        if since is None:
            return False
        LOG.info(
            "stream connection %d restored after %s",
            self._index,
            describe_duration(self._clock() - since),
        )
        return True
