"""Real-process helpers for the tests: a mosquitto broker and an MQTT subscriber."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

TEST_API_KEY = "test-key-5f3c9a1e-do-not-log"
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy; fail with a clear message."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
    )
    if found is None:
        raise RuntimeError(
            "mosquitto is not installed: install the Debian package 'mosquitto' "
            "(scripts/test.sh does this when run as root)"
        )
    return found


class Broker:
    """A real mosquitto on a free loopback port; `restart()` keeps the port, loses retained data."""

    def __init__(
        self, extra_config: str = "", port: int | None = None, *, persistence: bool = False
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        # Mosquitto drops to its own user after reading the config: the folder must be readable.
        self.dir = Path(tempfile.mkdtemp(prefix="cmc-mosq-"))
        self.dir.chmod(0o755)
        self.extra_config = extra_config  # further listeners, after the plain one
        self.persistence = persistence
        self.log = self.dir / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        config = self.dir / "mosquitto.conf"
        store = (
            f"persistence true\npersistence_location {self.dir}/\n"
            if self.persistence
            else ("persistence false\n")
        )
        config.write_text(
            f"per_listener_settings true\n{store}"
            f"listener {self.port} {self.host}\nallow_anonymous true\n{self.extra_config}\n"
        )
        config.chmod(0o644)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [mosquitto_binary(), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start listening") from None
                time.sleep(0.02)

    def stop(self, *, graceful: bool = False) -> None:
        """Kill it (as a crash would), or stop it gracefully so a persistent store is saved."""
        if self.process is not None and self.process.poll() is None:
            if graceful:
                self.process.terminate()
            else:
                self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self, *, graceful: bool = False) -> None:
        self.stop(graceful=graceful)
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Subscriber:
    """What an MQTT subscriber sees: the last payload per topic and every message in order."""

    def __init__(self, broker: Broker, topic: str = "#") -> None:
        self.last: dict[str, str] = {}
        self.messages: list[tuple[str, str, bool]] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self._topic = topic
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-sub-{free_port()}")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("subscriber did not subscribe")

    def _on_connect(self, client: mqtt.Client, *_args: Any) -> None:
        client.subscribe(self._topic)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        payload = msg.payload.decode("utf-8", "replace")
        with self._cond:
            self.last[msg.topic] = payload
            self.messages.append((msg.topic, payload, bool(msg.retain)))
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[dict[str, str]], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(self.last)
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = sorted(self.last)[:20]
                    raise AssertionError(f"not seen within {timeout} s; topics so far: {seen}")
                self._cond.wait(remaining)

    def wait_topic(self, topic: str, value: str | None = None, timeout: float = 10.0) -> str:
        def check(last: dict[str, str]) -> str | None:
            got = last.get(topic)
            if got is None or (value is not None and got != value):
                return None
            return got

        return str(self.wait_for(check, timeout))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def retained(
    broker: Broker,
    topic: str = "#",
    expect: Callable[[dict[str, str]], Any] = bool,
    timeout: float = 10.0,
) -> dict[str, str]:
    """The whole retained store under `topic`, as a new subscriber sees it, once `expect` holds.

    Each read is complete, not a guess: after subscribing, a marker is published to a private
    topic; the broker delivers retained messages when the subscription is made, so when the
    marker comes back everything retained has arrived. Reads repeat until `expect` holds.
    """
    deadline = time.monotonic() + timeout
    while True:
        snapshot = _read_retained(broker, topic)
        if expect(snapshot):
            return snapshot
        if time.monotonic() > deadline:
            raise AssertionError(f"retained store never matched; last read: {sorted(snapshot)}")
        time.sleep(0.05)


def retained_json(
    broker: Broker,
    topic: str,
    expect: Callable[[Any], Any] = bool,
    timeout: float = 10.0,
) -> Any:
    """The retained JSON on `topic` (one topic, no wildcard), once `expect` holds for it."""

    def matches(seen: dict[str, str]) -> bool:
        return topic in seen and bool(expect(json.loads(seen[topic])))

    return json.loads(retained(broker, topic, expect=matches, timeout=timeout)[topic])


def _read_retained(broker: Broker, topic: str) -> dict[str, str]:
    marker_topic = f"test/marker/{uuid.uuid4().hex}"
    sub = Subscriber(broker, topic)
    try:
        sub.client.subscribe(marker_topic)
        sub.client.publish(marker_topic, "done")
        sub.wait_for(lambda last: marker_topic in last)
        with sub._cond:
            return {t: p for t, p, was_retained in sub.messages if was_retained and p}
    finally:
        sub.close()


class SilentServer:
    """Accepts connections and reads them, never answers: a REST endpoint on a bad day, or a
    port somebody else holds."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)  # held open, never read past the kernel's buffer
            self.accepted += 1

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for conn in self._conns:
            conn.close()
        self._thread.join(2)
