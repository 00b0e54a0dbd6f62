"""When the publisher tries the broker again, and what it says about it: a backoff after every
failed attempt and after a connection the broker dropped soon after accepting it, one warning per
outage (repeats at debug level so a long outage does not flood the log), and "restored" and
"holds again" once. Why an attempt failed is `diagnosis.py`'s to say.
"""

from __future__ import annotations

import logging

from ..config import MqttSettings
from ..util.backoff import Backoff
from .diagnosis import ConnectionDiagnosis, Drops

LOG = logging.getLogger(__name__)


class ReconnectPolicy:
    """Told each step of the MQTT thread's connection; says how long to wait before the next."""

    def __init__(self, settings: MqttSettings, backoff: Backoff) -> None:
        self._where = f"{settings.host}:{settings.port}"
        self._backoff = backoff
        # The first attempt's outcome: a refused login or an untrusted certificate then is a
        # configuration mistake the CLI reports with exit code 2 instead of retrying forever.
        self.diagnosis = ConnectionDiagnosis(settings)
        self.drops = Drops(settings)
        self._outage_logged = False
        self._back_off = False  # the broker dropped us soon after accepting us: wait first

    def wait_before_connecting(self) -> float | None:
        """With no connection: seconds to wait first (the last one failed), or None to connect
        now."""
        if self.diagnosis.awaiting_connack:
            # Closed before the broker accepted us (a refused login, a missing client
            # certificate): a failed attempt, so back off like one.
            message = self.diagnosis.closed_before_accepted()
            if message is not None:
                self._log_outage(message)
            return self._backoff.next_delay()
        if self._back_off:
            self._back_off = False
            return self._backoff.next_delay()
        return None

    def unreachable(self, exc: BaseException) -> float:
        """The connection could not be opened; returns the wait before the next attempt."""
        self._log_outage(self.diagnosis.unreachable(exc))
        return self._backoff.next_delay()

    def connecting(self) -> None:
        self.diagnosis.connecting()

    def refused(self, reason: object) -> None:
        self._log_outage(self.diagnosis.refused(reason))

    def accepted(self) -> None:
        self.diagnosis.accepted()
        self.drops.accepted()
        if self.drops.in_a_row:
            # Dropped soon after the last acceptance: restored only once this one holds.
            LOG.debug("accepted again by the MQTT broker (dropped %d times)", self.drops.in_a_row)
            return
        if self._outage_logged:
            LOG.info("MQTT connection restored; republishing all retained values")
        else:
            LOG.info("connected to MQTT broker %s", self._where)
        self._backoff.reset()
        self._outage_logged = False

    def lost(self, reason: object) -> None:
        """An accepted connection ended (not by us)."""
        cause = self.drops.dropped(reason)
        if cause is not None:
            self._back_off = True
            self._log_outage(f"{cause}; reconnecting with backoff")
        else:
            self._log_outage(f"lost the MQTT connection ({reason}); reconnecting")

    def check_held(self) -> None:
        """About once a second while connected: after dropped connections, say once when one
        lasts."""
        if self.drops.held():
            LOG.info("the MQTT connection holds again")
            self._backoff.reset()
            self._outage_logged = False

    def _log_outage(self, message: str) -> None:
        if self._outage_logged:
            LOG.debug(message)
        else:
            self._outage_logged = True
            LOG.warning(message)
