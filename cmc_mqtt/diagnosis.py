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
from typing import Any

from .config import MqttSettings


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
