"""The demo and the embedded broker, as a new user runs them."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from cmc_mqtt.commands.demo import run_demo
from cmc_mqtt.errors import CmcMqttError
from cmc_mqtt.model.coins import BUNDLED_COINS
from cmc_mqtt.mqtt.embedded_broker import EmbeddedBroker, broker_answers
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import Broker, SilentServer, Subscriber, free_port, retained, wait_until
from harness.pki import PASSWORD, password_broker


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


def last_frame(text: str) -> str:
    return text.rsplit("cmc-mqtt demo: what", maxsplit=1)[-1]


def test_demo_shows_every_coin_with_an_embedded_broker() -> None:
    out = io.StringIO()
    port = free_port()
    thread, stop, result = run_in_thread(port, out)
    try:
        names = [coin.label for coin in BUNDLED_COINS.values()]

        def table_complete() -> bool:
            last = last_frame(out.getvalue())
            return all(name in last for name in names) and "waiting" not in last

        wait_until(table_complete, timeout=20)
        # The issue's own reproduction: a subscriber of a topic nobody publishes gets nothing
        # (amqtt alone sent it the whole retained store), one of cmc/1/p gets only that.
        embedded = SimpleNamespace(host="127.0.0.1", port=port)
        assert retained(embedded, "nothing/here", expect=lambda _: True) == {}  # type: ignore[arg-type]
        assert list(retained(embedded, "cmc/1/p")) == ["cmc/1/p"]  # type: ignore[arg-type]
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


def test_on_a_broker_already_there_the_demo_keeps_to_itself_and_leaves_no_trace(
    broker: Broker,
) -> None:
    # A real bridge's topics and Home Assistant config on the same broker: never touched.
    real = {"cmc/1/p": "81000.5", "homeassistant/sensor/cmc_mqtt/1_p/config": '{"name": "x"}'}
    keeper = Subscriber(broker, "nothing/here")
    for topic, payload in real.items():
        keeper.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    keeper.close()
    out = io.StringIO()
    thread, stop, result = run_in_thread(broker.port, out)
    try:
        stored = retained(
            broker,
            expect=lambda found: (
                "cmc_demo/1/p" in found and "homeassistant/sensor/cmc_demo/1_p/config" in found
            ),
            timeout=20,
        )
        assert all(stored[topic] == payload for topic, payload in real.items())
        wait_until(lambda: "the broker already running there" in out.getvalue())
        assert "-t 'cmc_demo/#'" in out.getvalue()
    finally:
        stop.set()
        thread.join(20)
    assert result == [0]
    assert retained(broker) == real  # everything the demo made is gone, nothing else is
    assert re.search(r"Cleared \d+ retained topics? the demo made", out.getvalue())


def test_a_refused_login_ends_the_demo_with_exit_2_and_a_login_works() -> None:
    broker, port = password_broker()
    try:
        refused = run_cli("demo", "--port", str(port), "--duration", "20")
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.count("\n") == 1, refused.stderr  # one line
        assert "refused the connection" in refused.stderr
        assert "--username and --password" in refused.stderr
        assert "Traceback" not in refused.stderr

        wrong = run_cli("demo", "--port", str(port), "--username", "cmc", "--password", "nope")
        assert wrong.returncode == 2
        assert "nope" not in wrong.stdout + wrong.stderr
        # The login was given: the demo says it was refused, not to give one.
        assert "the login given with --username and --password was refused" in wrong.stderr
        assert "give the broker's login" not in wrong.stderr

        ok = run_cli(
            "demo", "--port", str(port), "--username", "cmc", "--password", PASSWORD,
            "--duration", "3",
        )  # fmt: skip
        assert ok.returncode == 0, ok.stderr
        assert "Bitcoin (BTC)" in ok.stdout
        assert "mosquitto_sub -h 127.0.0.1 -p " in ok.stdout
        assert "-u cmc -P …" in ok.stdout
        assert PASSWORD not in ok.stdout + ok.stderr
        assert retained(broker, expect=lambda _: True) == {}
    finally:
        broker.cleanup()


def test_the_demo_takes_the_broker_and_login_of_a_config_file(tmp_path: Path) -> None:
    broker, port = password_broker()
    config = tmp_path / "config.toml"
    config.write_text(
        '[cmc]\napi_key = "k"\ncrypto_ids = [1]\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nusername = "cmc"\n'
        f'password = "{PASSWORD}"\ntopic_prefix = "mine"\n'
    )
    try:
        result = run_cli("demo", "--config", str(config), "--duration", "3")
        assert result.returncode == 0, result.stderr
        assert "Bitcoin (BTC)" in result.stdout
        assert "-t 'cmc_demo/#'" in result.stdout  # its own prefix, not the file's
        assert retained(broker, expect=lambda _: True) == {}
        bad = tmp_path / "bad.toml"
        bad.write_text("[mqtt]\nport = 0\n")
        result = run_cli("demo", "--config", str(bad))
        assert result.returncode == 2
        assert result.stderr.startswith("cmc-mqtt demo: mqtt.port: value must be at least 1")
        wrong = tmp_path / "wrong.toml"
        wrong.write_text(config.read_text().replace(PASSWORD, "not-the-password"))
        result = run_cli("demo", "--config", str(wrong), "--duration", "20")
        assert result.returncode == 2
        assert f"the login in {wrong}'s [mqtt] was refused" in result.stderr
        assert "not-the-password" not in result.stdout + result.stderr
    finally:
        broker.cleanup()


def test_a_busy_port_is_one_line_suggesting_another() -> None:
    busy = SilentServer()  # listens, but is no MQTT broker
    try:
        result = run_cli("demo", "--port", str(busy.port), "--duration", "20")
    finally:
        busy.close()
    assert result.returncode == 2
    assert result.stderr == (
        f"cmc-mqtt demo: could not start the embedded MQTT broker: 127.0.0.1:{busy.port} is "
        f"already in use by another program; try another: --port {busy.port + 1}\n"
    )
    assert result.stdout == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_warnings_stay_visible_under_the_table() -> None:
    screen = Terminal()
    thread, stop, _ = run_in_thread(free_port(), screen)
    try:
        wait_until(lambda: "bridge: online" in screen.getvalue(), timeout=20)
        logging.getLogger("cmc_mqtt.stream.session").warning("stream connection 0 lost: a test")

        def shown_under_the_table() -> bool:
            frame = screen.getvalue().split("\x1b[H\x1b[J")[-1]
            table_end = frame.find("bridge: online")
            return table_end >= 0 and frame.find("stream connection 0 lost") > table_end

        wait_until(shown_under_the_table, timeout=10)
        frame = screen.getvalue().split("\x1b[H\x1b[J")[-1]
        assert "mosquitto_sub -h 127.0.0.1" in frame  # the hints too, on every frame
    finally:
        stop.set()
        thread.join(20)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


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
    monkeypatch.setitem(sys.modules, "cmc_mqtt.mqtt.conforming_broker", None)
    with pytest.raises(CmcMqttError, match=r"pip install 'cmc-mqtt\[demo\]'"):
        EmbeddedBroker("127.0.0.1", free_port()).start()
