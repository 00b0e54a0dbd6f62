"""The MQTT side: one paho client, kept equal to the bridge state across broker restarts.

paho's `loop_start()` thread is not used: waking it for every publish costs more CPU than all
other work per frame. Whoever has new values publishes them: the stream thread, right after it
merged a quote, writes straight to paho's non-blocking socket (`wake`). The MQTT thread connects,
reads, keeps the connection alive, runs the once-a-second work, and finishes what the stream
thread could not: when the broker is behind, new values coalesce in the state until paho has
written everything it had, so a slow or stalled broker never grows paho's queue. One lock makes
the client and the extensions one thread's at a time.

Its parts: when to reconnect and what to log (`reconnects.py`), the broker as extensions see it
(`outbox.py`), running them (`extension_runner.py`), waking the MQTT thread (`wake.py`).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
import time
from typing import Any, Final

import paho.mqtt.client as mqtt

from ..config import MqttSettings
from ..model.topics import OFFLINE, QuoteMessage
from ..state.bridge_state import BridgeState
from ..util.backoff import Backoff
from .adapter import Extra, defer_writes, publish_qos0
from .client import make_client
from .extension import PublisherExtension
from .extension_runner import ExtensionRunner
from .outbox import MAX_PAYLOAD_BYTES, MAX_POSTED, BrokerOutbox
from .reconnects import ReconnectPolicy
from .wake import WakeSignal

__all__ = ["IDLE_WAIT_S", "MAX_PAYLOAD_BYTES", "MAX_POSTED", "TICK_INTERVAL_S", "MqttPublisher"]

LOG = logging.getLogger(__name__)
SHUTDOWN_FLUSH_S: Final = 0.5
TICK_INTERVAL_S: Final = 1.0
#: How long the thread sleeps when nothing happens; new quotes wake it sooner (`wake`).
IDLE_WAIT_S = 1.0


class MqttPublisher:
    """Keeps the broker's retained topics equal to the bridge state, across broker restarts."""

    def __init__(
        self,
        settings: MqttSettings,
        state: BridgeState,
        *,
        backoff: Backoff | None = None,
        connect_timeout: float = 3.0,
        extensions: list[PublisherExtension] | None = None,
    ) -> None:
        self._settings = settings
        self._state = state
        self._next_tick = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # The paho client and the extensions: touched only while holding this. Re-entrant
        # because an extension holding it may change the stream (the credit budget pausing
        # it), which wakes this publisher on the same thread.
        self._io = threading.RLock()
        self._wake = WakeSignal()
        self._ready = False
        self.connected = threading.Event()  # set while the broker has accepted us
        self._reconnects = ReconnectPolicy(settings, backoff or Backoff(0.5, 10.0))
        self.diagnosis = self._reconnects.diagnosis
        self.drops = self._reconnects.drops
        self._client = self._make_client(connect_timeout)
        self._outbox = BrokerOutbox(
            self._client, settings, state, self.drops, wake=self._wake.signal
        )
        self._extensions = ExtensionRunner(
            list(extensions or []), count_error=state.count_extension_error
        )

    @property
    def extensions(self) -> list[PublisherExtension]:
        """The extensions, in the order their hooks run; added to before `start` only."""
        return self._extensions.extensions

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._extensions.start()
        self._state.add_listener(self.wake)
        self._thread = threading.Thread(target=self._run, name="cmc-mqtt-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.5) -> bool:
        """Publish `offline`, disconnect cleanly and end the thread; True when it has ended.
        A thread still connecting (bounded by paho's connect timeout) keeps its sockets."""
        self._stopping.set()
        self._wake.signal()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
        self._state.remove_listener(self.wake)
        self._extensions.stop()
        self._wake.close()
        return True

    def wake(self) -> None:
        """Called by the stream thread when the state has something new: publish it here and
        now when the client is free; hand over to the MQTT thread only when it is busy or the
        broker is behind (a hand-off per quote costs more than the publishing itself)."""
        if self._io.acquire(blocking=False):
            try:
                self._pump()
                done = not self._ready or not (self._client.want_write() or self._state.has_pending)
            finally:
                self._io.release()
            if done:
                return  # published; or not connected, and the connect publishes everything
        self._wake.signal()

    def post(self, topic: str, payload: str, *, retain: bool = False) -> None:
        """Publish from any thread: sent by the MQTT thread on its next round (dropped when the
        broker is away, like any QoS 0 message; retained state is republished on reconnect)."""
        self._outbox.post(topic, payload, retain=retain)

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                if self._client.socket() is None:
                    delay = self._reconnects.wait_before_connecting()
                    if delay is None:
                        delay = self._connect()
                    if delay is not None:
                        self._stopping.wait(delay)
                        continue
                    self._reconnects.connecting()
                self._service_once()
            self._shutdown()
        except Exception:
            LOG.exception("MQTT publisher thread failed")
            raise

    def _connect(self) -> float | None:
        """Open the connection; on failure, the wait before the next attempt."""
        s = self._settings
        try:
            with self._io:  # blocks up to connect_timeout; the stream thread then only signals
                self._ready = False
                self._client.connect(s.host, s.port, keepalive=s.keepalive)
        except (OSError, ssl.SSLError, ValueError) as exc:
            return self._reconnects.unreachable(exc)
        return None

    def _service_once(self) -> None:
        client = self._client
        sock = client.socket()
        if sock is None:
            return
        writing = client.want_write()
        # Come straight back for more only when there is more to take and room to take it;
        # with unwritten data, wait for the socket to drain instead of spinning.
        more = self._state.has_pending and not writing and self._ready
        buffered = isinstance(sock, ssl.SSLSocket) and sock.pending()
        timeout = 0.0 if more or buffered else IDLE_WAIT_S
        fd, wake_fd = sock.fileno(), self._wake.fileno()
        wlist = [fd] if writing else []
        try:
            readable, _, _ = select.select([fd, wake_fd], wlist, [], timeout)
        except (OSError, ValueError):
            readable = []  # the stream thread closed the socket under us: reconnect
        if wake_fd in readable:
            self._wake.clear()
        with self._io:
            if client.socket() is not sock:
                return
            if fd in readable or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                client.loop_read()
            self._pump()
            if self._ready:
                self._outbox.send_posted()
            if self._ready and not client.want_write():
                self._tick()
            if client.want_write():
                client.loop_write()
            client.loop_misc()

    def _pump(self) -> None:
        """Publish what the state holds, in bounded batches, for as long as the broker takes
        it. Runs on either thread, holding the lock."""
        client = self._client
        state = self._state
        while self._ready:
            if client.want_write():
                client.loop_write()  # a failure here drops the connection: _ready goes False
                if client.want_write():
                    return  # the broker is behind: new values coalesce in the state meanwhile
            messages = state.take_pending()
            extras = self._outbox.collect()  # what extensions publish leaves with the batch
            try:
                self._extensions.on_batch(self._outbox)
            finally:
                self._outbox.stop_collecting()
            self._publish(messages, extras)
            if client.want_write():
                client.loop_write()
            if not state.has_pending:
                return

    def _publish(self, messages: list[QuoteMessage], extras: list[Extra]) -> None:
        """The state's batch, then what the extensions published after it (counted there)."""
        if not messages and not extras:
            return
        qos, retain = self._settings.qos, self._settings.retain
        if qos == 0:
            publish_qos0(self._client, messages, retain=retain, extras=extras)
        else:
            publish = self._client.publish
            for topic, payload in messages:
                publish(topic, payload, qos, retain)
        self._state.count_publishes(len(messages))

    def _tick(self) -> None:
        now = time.monotonic()
        if now < self._next_tick:
            return
        self._next_tick = now + TICK_INTERVAL_S
        self._reconnects.check_held()
        self._state.check_stale()
        self._extensions.tick(now, self._outbox)

    def _shutdown(self) -> None:
        with self._io:
            client = self._client
            if self._ready:
                client.publish(self._state.topics.status, OFFLINE, self._settings.qos, True)
                client.disconnect()
                _flush(client, time.monotonic() + SHUTDOWN_FLUSH_S)
            sock = client.socket()
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    # --- paho callbacks: inside loop_read/loop_write/loop_misc, by whoever holds the I/O lock ---

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            self._reconnects.refused(reason)
            return
        self._ready = True
        self._reconnects.accepted()
        self.connected.set()
        self._extensions.on_connected(self._outbox)
        self._state.mark_all_pending()  # published in bounded batches right after this

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        payload, retained = bytes(message.payload), bool(message.retain)
        self._extensions.on_message(message.topic, payload, retained, self._outbox)

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        was_ready = self._ready
        self._ready = False
        self.connected.clear()
        self._wake.signal()  # the stream thread may have seen it first: the MQTT thread reconnects
        if was_ready and not self._stopping.is_set():
            self._reconnects.lost(reason)

    # --- set-up -------------------------------------------------------------------------------

    def _make_client(self, connect_timeout: float) -> mqtt.Client:
        s = self._settings
        client = make_client(s, s.client_id, connect_timeout=connect_timeout)
        client.will_set(self._state.topics.status, OFFLINE, qos=s.qos, retain=True)
        # Bounded: QoS>0 messages beyond this are refused rather than queued forever.
        client.max_queued_messages_set(max(1000, 20 * len(self._state.crypto_ids)))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_socket_open = _no_delay
        client.on_message = self._on_message
        defer_writes(client)  # publish() queues; this object's owner thread writes
        return client


def _flush(client: mqtt.Client, deadline: float) -> None:
    """Write what paho still holds (the `offline` and the DISCONNECT), until `deadline`."""
    while client.socket() is not None and client.want_write():
        if time.monotonic() > deadline:
            break
        sock = client.socket()
        if sock is not None:
            select.select([], [sock], [], 0.1)
        client.loop_write()


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    """paho leaves Nagle's algorithm on; each quote is a burst of small packets that would
    wait for the broker's delayed ACK (tens of milliseconds) before leaving."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
