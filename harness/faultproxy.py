"""A TCP proxy of the test suite's own, between the bridge and a peer (stream or broker).

It passes bytes through until told to misbehave: `cut()` drops every connection,
`refuse` turns new connections away, `stall` stops delivering in both directions while the
kernel keeps accepting bytes into its buffers (a half-open link: nothing is lost, nothing
arrives), `delay` slows every chunk. Loopback only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class FaultProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.refuse = False
        self.stall = False
        self.delay = 0.0
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._stopping = False
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._open += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, target), name="fault-pump", daemon=True
                ).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                while self.stall and not self._stopping:
                    time.sleep(0.02)  # stop reading: bytes pile up in the kernel buffers
                data = source.recv(65536)
                if not data:
                    break
                if self.delay:
                    time.sleep(self.delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(target)

    def _close(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
        with self._lock:
            if sock in self._open:
                self._open.remove(sock)

    def cut(self) -> None:
        """Drop every open connection, as a network failure would."""
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            self._close(sock)

    def heal(self) -> None:
        self.refuse = False
        self.stall = False
        self.delay = 0.0

    def close(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self.cut()
