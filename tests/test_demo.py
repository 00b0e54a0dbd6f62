"""The demo and the embedded broker, as a new user runs them."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cmc_mqtt.coins import BUNDLED_COINS
from cmc_mqtt.demo import run_demo
from cmc_mqtt.embedded_broker import EmbeddedBroker, broker_answers
from cmc_mqtt.errors import CmcMqttError
from cmc_mqtt.simulator import FakeStreamServer

from .helpers import Broker, Subscriber, free_port, wait_until


def run_in_thread(
    port: int, out: io.StringIO
) -> tuple[threading.Thread, threading.Event, list[int]]:
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(run_demo(port=port, out=out, stop=stop, fast=0.2, slow=0.4)),
        daemon=True,
    )
    thread.start()
    return thread, stop, result


def test_demo_shows_every_coin_with_an_embedded_broker() -> None:
    out = io.StringIO()
    port = free_port()
    thread, stop, result = run_in_thread(port, out)
    try:
        names = [coin.label for coin in BUNDLED_COINS.values()]

        def table_complete() -> bool:
            frames = out.getvalue().split("\n\n")
            last = next((f for f in reversed(frames) if "Coin" in f), "")
            return all(name in last for name in names) and "waiting" not in last

        wait_until(table_complete, timeout=20)
        text = out.getvalue()
        assert "embedded broker" in text
        assert f"mosquitto_sub -h 127.0.0.1 -p {port}" in text
        assert "bridge: online" in text
        assert "\x1b[" not in text  # no terminal codes when output is not a terminal
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
    assert not broker_answers("127.0.0.1", port)  # the embedded broker went away with it


def test_demo_uses_a_broker_that_is_already_there(broker: Broker) -> None:
    out = io.StringIO()
    thread, stop, _ = run_in_thread(broker.port, out)
    sub = Subscriber(broker, "cmc/1/p")
    try:
        sub.wait_topic("cmc/1/p", timeout=15)
        assert "the broker already running there" in out.getvalue()
    finally:
        sub.close()
        stop.set()
        thread.join(10)


def test_demo_command_runs_and_exits_cleanly() -> None:
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "demo", "--port", str(port), "--duration", "3"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Bitcoin (BTC)" in result.stdout
    assert "Traceback" not in result.stderr


def test_run_with_an_embedded_broker(tmp_path: Path) -> None:

    port = free_port()
    with FakeStreamServer(fast_interval=0.2) as stream:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[cmc]\napi_key = "k"\nurl = "{stream.url}"\ncrypto_ids = [1]\nlookup_names = false\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nembedded = true\n'
        )
        config.chmod(0o600)
        proc = subprocess.Popen(
            [sys.executable, "-m", "cmc_mqtt", "run", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ},
        )  # fmt: skip
        try:
            wait_until(lambda: broker_answers("127.0.0.1", port), timeout=20)
            sub = Subscriber(Broker(port=port), "cmc/1/p")
            try:
                sub.wait_topic("cmc/1/p", timeout=15)
            finally:
                sub.close()
            # A client that vanishes without a goodbye is the broker's business, not the log's.
            vanishing = Subscriber(Broker(port=port), "cmc/#")
            vanishing.client.loop_stop()
            vanishing.client.socket().close()
            proc.send_signal(signal.SIGTERM)
            output = proc.communicate(timeout=10)[0]
            assert proc.returncode == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    # amqtt's and its state machine's narration stays out of the bridge's log.
    assert " amqtt" not in output, output
    assert " transitions" not in output, output
    assert "embedded MQTT broker listening" in output


def test_a_missing_optional_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The one thing that cannot exist here is a machine without amqtt installed.
    monkeypatch.setitem(sys.modules, "amqtt.broker", None)
    monkeypatch.setitem(sys.modules, "cmc_mqtt.conforming_broker", None)
    with pytest.raises(CmcMqttError, match=r"pip install 'cmc-mqtt\[demo\]'"):
        EmbeddedBroker("127.0.0.1", free_port()).start()
