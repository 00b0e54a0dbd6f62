"""Why the MQTT broker connection failed, in words that name the setting to check, and whether
the first attempt's failure is a configuration mistake (a refused login, an untrusted
certificate) that `cmc-mqtt run` reports with exit code 2 instead of retrying forever.

A broker that is unreachable or closes before accepting us may still be booting: that is an
outage, retried with backoff, never fatal.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from ..config import MqttSettings


class ConnectionDiagnosis:
    def __init__(self, settings: MqttSettings) -> None:
        self._where = f"{settings.host}:{settings.port}"
        self._tls_without_cert = settings.tls.enabled and settings.tls.certfile is None
        #: Set once the first attempt's outcome is known.
        self.first_attempt = threading.Event()
        #: The configuration mistake the first attempt revealed, if it revealed one.
        self.fatal_error: str | None = None
        self._ever_connected = False
        self._awaiting_connack = False  # connected at TCP level, no CONNACK yet
        self._refusal: str | None = None

    @property
    def awaiting_connack(self) -> bool:
        return self._awaiting_connack

    def connecting(self) -> None:
        """The TCP (and TLS) connection is up; the broker's answer is awaited."""
        self._awaiting_connack = True
        self._refusal = None

    def unreachable(self, exc: BaseException) -> str:
        message = f"cannot reach MQTT broker {self._where}: {describe_connect_error(exc)}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            self._fatal(f"{message}; check mqtt.ca_certs (or mqtt.insecure)")
        else:
            self.first_attempt.set()  # keep trying: a broker still booting
        return message

    def refused(self, reason: Any) -> str:
        """The broker's CONNACK said no; the connection closes next."""
        self._refusal = (
            f"MQTT broker {self._where} refused the connection: {reason} "
            "(check mqtt.username / mqtt.password)"
        )
        return self._refusal

    def closed_before_accepted(self) -> str | None:
        """The socket closed while the broker's answer was awaited: the refusal (already
        reported) is final on a first attempt; a silent close may be a broker restarting.
        Returns what to report, if anything new."""
        self._awaiting_connack = False
        if self._refusal is not None:
            self._fatal(self._refusal)
            return None
        self.first_attempt.set()
        message = f"MQTT broker {self._where} closed the connection before accepting it"
        if self._tls_without_cert:
            message += " (does it require a client certificate? see mqtt.certfile/keyfile)"
        return message

    def accepted(self) -> None:
        self._awaiting_connack = False
        self._ever_connected = True
        self.first_attempt.set()

    def _fatal(self, message: str) -> None:
        if not self._ever_connected and not self.first_attempt.is_set():
            self.fatal_error = message
        self.first_attempt.set()


def describe_connect_error(exc: BaseException) -> str:
    """A failed broker connection in a few words, for the log and the health check."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)


#: A connection the broker ends sooner than this after accepting it was not a working one: the
#: next attempt waits (backoff), as after a refused one, instead of reconnecting at once.
STABLE_AFTER_S: Final = 30.0
#: A message at least this large, sent just before the broker closed the connection, is the
#: likely reason (brokers close on a packet over their limit: mosquitto's `max_packet_size`).
LARGE_MESSAGE_BYTES: Final = 16 * 1024


class Drops:
    """Connections the broker closed soon after accepting them, and the likely cause: a message
    larger than it takes, another client taking over the client id, an ACL. Such a broker
    accepts every new connection and drops it again, so reconnecting at once would loop
    thousands of times a second; the publisher backs off instead, and says why once."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        stable_after: float = STABLE_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._where = f"{settings.host}:{settings.port}"
        self._client_id = settings.client_id
        self._stable_after = stable_after
        self._clock = clock
        self._accepted_at: float | None = None
        self._largest = 0  # the largest message sent on this connection, in bytes
        self.in_a_row = 0  # connections in a row that the broker dropped soon
        self.total = 0
        self.last_cause: str | None = None

    def accepted(self) -> None:
        self._accepted_at = self._clock()
        self._largest = 0

    def sent(self, size: int) -> None:
        self._largest = max(self._largest, size)

    def dropped(self, reason: object) -> str | None:
        """The connection ended; the likely cause when the broker ended it soon after accepting
        it (the next attempt should wait), else None."""
        accepted, self._accepted_at = self._accepted_at, None
        if accepted is None:
            return None
        lived = self._clock() - accepted
        if lived >= self._stable_after:
            return None
        self.in_a_row += 1
        self.total += 1
        self.last_cause = self._cause(reason, lived)
        return self.last_cause

    def held(self) -> bool:
        """True once when a connection has lasted long enough after dropped ones (the broker
        takes us again): call about once a second."""
        accepted = self._accepted_at
        if not self.in_a_row or accepted is None:
            return False
        if self._clock() - accepted < self._stable_after:
            return False
        self.in_a_row = 0
        return True

    def _cause(self, reason: object, lived: float) -> str:
        what = (
            f"MQTT broker {self._where} closed the connection {lived:.1f} s after accepting it "
            f"({reason}), after messages of up to {self._largest:,} bytes"
        )
        size = "does the broker limit message size (mosquitto: max_packet_size)?"
        others = (
            f"another client using mqtt.client_id {self._client_id!r}? an ACL refusing a "
            "topic of ours? (the broker's log says)"
        )
        if self._largest >= LARGE_MESSAGE_BYTES:
            return f"{what}: {size} or {others}"
        return f"{what}: {others} or {size}"

    def report(self) -> dict[str, object]:
        """For `bridge/info`: how often the broker dropped the bridge soon, and why last."""
        return {"drops": self.total, "last_drop": self.last_cause}
