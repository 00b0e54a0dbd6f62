"""One stream connection's outage in the log: loud once, then quiet but never silent.

A warning when the connection first fails; INFO lines about 1, 5, 15 and 60 minutes into the
outage and hourly after that, with the last cause and when the next attempt comes; one line when
the connection is back.
"""

from __future__ import annotations

import logging
import time

from ..errors import StreamError

LOG = logging.getLogger(__name__)

#: Seconds into an outage at which it is reported again, then every hour.
OUTAGE_REPORTS = (60.0, 300.0, 900.0, 3600.0)


def _report_after(reports_made: int) -> float:
    if reports_made < len(OUTAGE_REPORTS):
        return OUTAGE_REPORTS[reports_made]
    return OUTAGE_REPORTS[-1] * (reports_made - len(OUTAGE_REPORTS) + 2)


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{seconds / 3600:.1f} h"


class OutageLog:
    """Says what one connection's outage needs said, when it needs saying."""

    def __init__(self, index: int) -> None:
        self._index = index
        self._since: float | None = None
        self._reports = 0

    @property
    def active(self) -> bool:
        return self._since is not None

    def failed(self, cause: StreamError, next_attempt_in: float) -> None:
        """An attempt failed with a transient error: the outage starts, or goes on."""
        now = time.monotonic()
        if self._since is None:
            self._since = now
            self._reports = 0
            LOG.warning(
                "stream connection %d failed: %s; reconnecting with backoff", self._index, cause
            )
        elif now - self._since >= _report_after(self._reports):
            self._reports += 1
            LOG.info(
                "stream connection %d still down after %s: %s; next attempt in %.0f s",
                self._index,
                _duration(now - self._since),
                cause,
                next_attempt_in,
            )
        else:
            LOG.debug(
                "stream %d still failing: %s; next attempt in %.1f s",
                self._index,
                cause,
                next_attempt_in,
            )

    def ended(self) -> bool:
        """The connection works again; True when that ended an outage (and said so)."""
        since, self._since = self._since, None
        if since is None:
            return False
        LOG.info(
            "stream connection %d restored after %.0f s", self._index, time.monotonic() - since
        )
        return True
