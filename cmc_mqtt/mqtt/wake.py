"""How any thread wakes the MQTT thread out of its `select`: one byte in a socket pair, at most
one pending, so a wake costs a lock and a flag when one is already on its way."""

from __future__ import annotations

import contextlib
import socket
import threading


class WakeSignal:
    """A wake-up the MQTT thread selects on beside the broker's socket."""

    def __init__(self) -> None:
        # Socket objects, not raw pipe fds: once closed they cannot alias a reused fd number.
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._pending = False  # a byte is in the pair; guarded by _lock
        self._lock = threading.Lock()

    def fileno(self) -> int:
        return self._reader.fileno()

    def signal(self) -> None:
        """Wake the MQTT thread; cheap when repeated (one byte in the pair at most)."""
        with self._lock:
            if self._pending:
                return
            self._pending = True
            # A full pair means a wake is already pending; a closed one means shutdown.
            with contextlib.suppress(OSError):
                self._writer.send(b"x")

    def clear(self) -> None:
        """The MQTT thread saw the wake-up: the next `signal` sends a byte again. A wake sent
        meanwhile waits for the lock, and then finds the flag clear."""
        with self._lock:
            with contextlib.suppress(OSError):
                self._reader.recv(4096)
            self._pending = False

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
