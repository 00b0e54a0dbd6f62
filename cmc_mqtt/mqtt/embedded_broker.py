"""An MQTT broker inside the bridge's process, for the demo and for people without a broker.

amqtt (an optional extra: `pip install 'cmc-mqtt[demo]'`) runs on its own thread and event
loop, corrected where it departs from MQTT (conforming_broker.py; tests/test_broker_conformance.py
runs the same cases against it and mosquitto). When a broker already answers on the port, the
caller uses that one instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
from typing import Any

from ..errors import CmcMqttError, PortBusyError

LOG = logging.getLogger(__name__)


def _connect_packet(client_id: bytes) -> bytes:
    """MQTT 3.1.1 CONNECT: protocol "MQTT" level 4, clean session, keepalive 5 s."""
    body = b"\x00\x04MQTT\x04\x02\x00\x05" + len(client_id).to_bytes(2, "big") + client_id
    return bytes([0x10, len(body)]) + body


_PROBE_CONNECT = _connect_packet(b"cmc-probe")


def broker_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when an MQTT broker accepts a connection at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(_PROBE_CONNECT)
            reply = sock.recv(4)
            sock.sendall(b"\xe0\x00")  # DISCONNECT
    except OSError:
        return False
    return len(reply) >= 2 and reply[0] == 0x20


def _os_error(exc: BaseException) -> OSError | None:
    """The operating system's refusal behind amqtt's BrokerError, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        try:
            from .conforming_broker import ConformingBroker  # noqa: PLC0415 - an optional extra
        except ImportError as exc:
            raise CmcMqttError(
                "the embedded MQTT broker needs the optional extra: pip install 'cmc-mqtt[demo]'"
            ) from exc
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Everyone may connect (the listener's address is the access control), and no
            # other plugin: no $SYS topics, no persistence.
            "plugins": {"cmc_mqtt.mqtt.conforming_broker.OpenAuth": {}},
        }
        # amqtt narrates every step at INFO (through `transitions` too) and logs a failed start
        # with a traceback; the bridge's log says what matters in its own words.
        logging.getLogger("transitions").setLevel(logging.WARNING)
        amqtt_log = logging.getLogger("amqtt")
        amqtt_log.setLevel(logging.CRITICAL)
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                # Built on its own thread: amqtt's constructor needs that thread's event loop.
                self._broker = ConformingBroker(config, loop=loop)
                loop.run_until_complete(self._broker.start())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                # Its executor threads (name look-ups) are not daemons: end them here.
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

        self._thread = threading.Thread(target=run, name="cmc-mqtt-broker", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or failure:
            self.stop()
            where = f"{self.host}:{self.port}"
            cause = _os_error(failure[0]) if failure else None
            if cause is not None and cause.errno == errno.EADDRINUSE:
                raise PortBusyError("the embedded MQTT broker", self.host, self.port) from cause
            reason = f": {cause.strerror if cause is not None else failure[0]}" if failure else ""
            raise CmcMqttError(f"could not start the embedded MQTT broker on {where}{reason}")
        amqtt_log.setLevel(logging.WARNING)
        LOG.info("embedded MQTT broker listening on %s:%d", self.host, self.port)
        return self

    def stop(self, timeout: float = 1.0) -> bool:
        """Shut the broker down and end its thread; True when it has ended. Bounded: amqtt's
        shutdown can wait on clients that never leave."""
        loop, thread = self._loop, self._thread
        if loop is not None and loop.is_running() and self._broker is not None:
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout)
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # already stopped and closed
                loop.call_soon_threadsafe(loop.stop)
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
