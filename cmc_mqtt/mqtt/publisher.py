"""The MQTT side: one paho client, kept equal to the bridge state across broker restarts.

paho's `loop_start()` thread is not used: waking it for every publish costs more CPU than all
other work per frame. Whoever has new values publishes them: the stream thread, right after it
merged a quote, writes straight to paho's non-blocking socket (`wake`). The MQTT thread connects,
reads, keeps the connection alive, runs the once-a-second work, and finishes what the stream
thread could not: when the broker is behind, new values coalesce in the state until paho has
written everything it had, so a slow or stalled broker never grows paho's queue. One lock makes
the client and the extensions one thread's at a time.
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

from ..config.load import MqttSettings
from ..model.topics import OFFLINE, Message
from ..state.bridge_state import BridgeState
from ..util.backoff import Backoff
from .adapter import defer_writes, publish_qos0
from .client import make_client
from .diagnosis import ConnectionDiagnosis, Drops
from .extension import Extension, PublisherExtension

LOG = logging.getLogger(__name__)
SHUTDOWN_FLUSH_S: Final = 0.5
TICK_INTERVAL_S: Final = 1.0
#: The largest payload the bridge writes (README: "Limits"): brokers may refuse larger
#: packets and drop the client that sends one; one beyond it is refused here, counted and
#: logged, never sent. Every payload the bridge builds stays far below it.
MAX_PAYLOAD_BYTES: Final = 256 * 1024
#: Messages other threads may leave for this one to send (answers to requests); beyond it
#: they are dropped, as QoS 0 messages to an unreachable broker are.
MAX_POSTED: Final = 1000
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
        self.extensions = list(extensions or [])
        self._failed_extensions: set[tuple[str, str]] = set()
        self._batch_extensions: list[PublisherExtension] = []
        self._next_tick = 0.0
        self._state = state
        self._backoff = backoff or Backoff(0.5, 10.0)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # The paho client and the extensions: touched only while holding this. Re-entrant
        # because an extension holding it may change the stream (the credit budget pausing
        # it), which wakes this publisher on the same thread.
        self._io = threading.RLock()
        # Socket objects, not raw pipe fds: once closed they cannot alias a reused fd number.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_flag = False  # a wake byte is in the pipe; guarded by _wake_lock
        self._wake_lock = threading.Lock()
        self._posted: list[tuple[str, str, bool]] = []  # from other threads, sent by this one
        self._posted_lock = threading.Lock()
        self._ready = False
        self._outage_logged = False
        self._back_off = False  # the broker dropped us soon after accepting us: wait first
        self._oversized_logged: set[str] = set()
        self.connected = threading.Event()  # set while the broker has accepted us
        # The first attempt's outcome: a refused login or an untrusted certificate then is a
        # configuration mistake the CLI reports with exit code 2 instead of retrying forever.
        self.diagnosis = ConnectionDiagnosis(settings)
        self.drops = Drops(settings)
        self._client = self._make_client(connect_timeout)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        for extension in self.extensions:
            extension.start()
        # Run after every batch, on the hot path: only the extensions that do something then.
        self._batch_extensions = [e for e in self.extensions if _overrides(e, "on_batch")]
        self._state.add_listener(self.wake)
        self._thread = threading.Thread(target=self._run, name="cmc-mqtt-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.5) -> bool:
        """Publish `offline`, disconnect cleanly and end the thread; True when it has ended.
        A thread still connecting (bounded by paho's connect timeout) keeps its sockets."""
        self._stopping.set()
        self._signal()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
        self._state.remove_listener(self.wake)
        for extension in self.extensions:
            extension.stop()
        self._wake_r.close()
        self._wake_w.close()
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
        self._signal()

    def post(self, topic: str, payload: str, *, retain: bool = False) -> None:
        """Publish from any thread: sent by the MQTT thread on its next round (dropped when the
        broker is away, like any QoS 0 message; retained state is republished on reconnect)."""
        with self._posted_lock:
            if len(self._posted) >= MAX_POSTED:
                return
            self._posted.append((topic, payload, retain))
        self._signal()

    def _send_posted(self) -> None:
        with self._posted_lock:
            posted, self._posted = self._posted, []
        for topic, payload, retain in posted:
            self.publish(topic, payload, retain=retain)

    def _signal(self) -> None:
        """Wake the MQTT thread; cheap when repeated (one byte in the pipe at most)."""
        with self._wake_lock:
            if self._wake_flag:
                return
            self._wake_flag = True
            # A full pipe means a wake is already pending; a closed one means shutdown.
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                if self._client.socket() is None:
                    if self.diagnosis.awaiting_connack:
                        # Closed before the broker accepted us (a refused login, a missing
                        # client certificate): a failed attempt, so back off like one.
                        message = self.diagnosis.closed_before_accepted()
                        if message is not None:
                            self._log_outage(message)
                        self._stopping.wait(self._backoff.next_delay())
                        continue
                    if self._back_off:
                        self._back_off = False
                        self._stopping.wait(self._backoff.next_delay())
                        continue
                    if not self._connect():
                        self._stopping.wait(self._backoff.next_delay())
                        continue
                    self.diagnosis.connecting()
                self._service_once()
            self._shutdown()
        except Exception:
            LOG.exception("MQTT publisher thread failed")
            raise

    def _connect(self) -> bool:
        s = self._settings
        try:
            with self._io:  # blocks up to connect_timeout; the stream thread then only signals
                self._ready = False
                self._client.connect(s.host, s.port, keepalive=s.keepalive)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._log_outage(self.diagnosis.unreachable(exc))
            return False
        return True

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
        fd = sock.fileno()
        wlist = [fd] if writing else []
        try:
            readable, _, _ = select.select([fd, self._wake_r.fileno()], wlist, [], timeout)
        except (OSError, ValueError):
            readable = []  # the stream thread closed the socket under us: reconnect
        if self._wake_r.fileno() in readable:
            with self._wake_lock:  # a wake sent meanwhile waits, and then finds the flag clear
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
                self._wake_flag = False
        with self._io:
            if client.socket() is not sock:
                return
            if fd in readable or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                client.loop_read()
            self._pump()
            if self._ready:
                self._send_posted()
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
            self._publish(state.take_pending())
            self._each_extension("on_batch", extensions=self._batch_extensions)
            if client.want_write():
                client.loop_write()
            if not state.has_pending:
                return

    def _publish(self, messages: list[Message]) -> None:
        if not messages:
            return
        qos, retain = self._settings.qos, self._settings.retain
        if qos == 0:
            publish_qos0(self._client, messages, retain=retain)
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
        if self.drops.held():
            LOG.info("the MQTT connection holds again")
            self._backoff.reset()
            self._outage_logged = False
        self._state.check_stale()
        self._each_extension("tick", now)

    # --- the Outbox extensions use ------------------------------------------------------------

    def publish(self, topic: str, payload: str, *, retain: bool = True) -> None:
        size = len(payload)
        if size > MAX_PAYLOAD_BYTES // 4:  # up to 4 bytes a character in UTF-8
            size = len(payload.encode("utf-8", "surrogatepass"))
            if size > MAX_PAYLOAD_BYTES:
                self._refuse_oversized(topic, size)
                return
        self.drops.sent(size)
        if self._settings.qos == 0:
            publish_qos0(self._client, ((topic, payload),), retain=retain)
        else:
            self._client.publish(topic, payload, self._settings.qos, retain)
        self._state.count_publishes(1)

    def _refuse_oversized(self, topic: str, size: int) -> None:
        self._state.count_oversized_payload()
        if topic not in self._oversized_logged and len(self._oversized_logged) < 100:
            self._oversized_logged.add(topic)
            LOG.error(
                "not publishing %s: %d bytes, more than the %d a payload may have (a bug: "
                "counted in bridge/info as oversized_payloads)",
                topic,
                size,
                MAX_PAYLOAD_BYTES,
            )

    def subscribe(self, topic: str) -> None:
        self._client.subscribe(topic, qos=0)

    def unsubscribe(self, topic: str) -> None:
        self._client.unsubscribe(topic)

    def republish_state(self) -> None:
        self._state.mark_all_pending()

    def _shutdown(self) -> None:
        with self._io:
            self._disconnect()

    def _disconnect(self) -> None:
        client = self._client
        if self._ready:
            client.publish(self._state.topics.status, OFFLINE, self._settings.qos, True)
            client.disconnect()
            deadline = time.monotonic() + SHUTDOWN_FLUSH_S
            while client.socket() is not None and client.want_write():
                if time.monotonic() > deadline:
                    break
                sock = client.socket()
                if sock is not None:
                    select.select([], [sock], [], 0.1)
                client.loop_write()
        sock = client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    # --- paho callbacks: inside loop_read/loop_write/loop_misc, by whoever holds the I/O lock ---

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            self._log_outage(self.diagnosis.refused(reason))
            return
        self.diagnosis.accepted()
        self.drops.accepted()
        self._ready = True
        if self.drops.in_a_row:
            # Dropped soon after the last acceptance: restored only once this one holds.
            LOG.debug("accepted again by the MQTT broker (dropped %d times)", self.drops.in_a_row)
        elif self._outage_logged:
            LOG.info("MQTT connection restored; republishing all retained values")
        else:
            LOG.info("connected to MQTT broker %s:%d", self._settings.host, self._settings.port)
        if not self.drops.in_a_row:
            self._backoff.reset()
            self._outage_logged = False
        self.connected.set()
        self._each_extension("on_connected")
        self._state.mark_all_pending()  # published in bounded batches right after this

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        payload, retained = bytes(message.payload), bool(message.retain)
        self._each_extension("on_message", message.topic, payload, retained)

    def _each_extension(
        self, hook: str, *args: object, extensions: list[PublisherExtension] | None = None
    ) -> None:
        """Call `hook(*args, self)` on every extension (or those given). One that raises is
        counted (`extension_errors` in `bridge/info`) and logged once with its traceback, and
        the rest go on: a bug in one extra must not stop every value from being published."""
        for extension in self.extensions if extensions is None else extensions:
            try:
                getattr(extension, hook)(*args, self)
            except Exception:
                self._state.count_extension_error()
                failure = (type(extension).__name__, hook)
                if failure not in self._failed_extensions:
                    self._failed_extensions.add(failure)
                    LOG.exception(
                        "%s.%s failed; carrying on without it this time (counted in bridge/info "
                        "as extension_errors, logged once)",
                        *failure,
                    )

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        was_ready = self._ready
        self._ready = False
        self.connected.clear()
        self._signal()  # the stream thread may have seen it first: the MQTT thread reconnects
        if not was_ready or self._stopping.is_set():
            return
        cause = self.drops.dropped(reason)
        if cause is not None:
            self._back_off = True
            self._log_outage(f"{cause}; reconnecting with backoff")
        else:
            self._log_outage(f"lost the MQTT connection ({reason}); reconnecting")

    def _log_outage(self, message: str) -> None:
        """One warning per outage; repeats go to debug so a long outage does not flood logs."""
        if self._outage_logged:
            LOG.debug(message)
        else:
            self._outage_logged = True
            LOG.warning(message)

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


def _overrides(extension: PublisherExtension, hook: str) -> bool:
    """Whether `extension` does anything in `hook` (the base `Extension`'s hooks do nothing)."""
    return getattr(type(extension), hook, None) is not getattr(Extension, hook)


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    """paho leaves Nagle's algorithm on; each quote is a burst of small packets that would
    wait for the broker's delayed ACK (tens of milliseconds) before leaving."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
