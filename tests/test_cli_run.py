"""`cmc-mqtt run` as a user runs it: a real process, signals, its log output."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.util.redact import RedactingFormatter
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY, Broker, Subscriber

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[cmc]
api_key = "{key}"
url = "{url}"
crypto_ids = [1, 1027, 74]
[mqtt]
host = "127.0.0.1"
port = {port}
client_id = "cmc-mqtt-cli-test"
[log]
level = "debug"
"""


def run_until_price(cwd: Path, env: dict[str, str], broker: Broker) -> tuple[int, str]:
    """`cmc-mqtt run` in `cwd` until Bitcoin's price reaches `broker`, then SIGTERM: its exit
    code and its output."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmc_mqtt", "run"], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    sub = Subscriber(broker, "cmc/1/p")
    try:
        sub.wait_topic("cmc/1/p", timeout=20)
    finally:
        sub.close()
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=10)[0]
    return proc.returncode, output


@pytest.fixture
def bridge_process(
    tmp_path: Path, broker: Broker, stream: FakeStreamServer
) -> Iterator[subprocess.Popen[str]]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(key=TEST_API_KEY, url=stream.url, port=broker.port))
    config.chmod(0o600)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmc_mqtt", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CMC_API_KEY": ""},
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def test_sigterm_publishes_offline_and_exits_cleanly(
    bridge_process: subprocess.Popen[str], subscriber: Subscriber
) -> None:
    subscriber.wait_topic("cmc/status", "online", timeout=15)
    subscriber.wait_topic("cmc/74/p")
    bridge_process.send_signal(signal.SIGTERM)
    assert bridge_process.wait(timeout=5) == 0  # a deadline for the test, not a benchmark
    subscriber.wait_topic("cmc/status", "offline")
    output = bridge_process.stdout.read() if bridge_process.stdout else ""
    assert "Traceback" not in output
    assert "subscribed to 3 coins" in output
    assert TEST_API_KEY not in output  # not even at debug level


def test_ctrl_c_also_exits_cleanly(
    bridge_process: subprocess.Popen[str], subscriber: Subscriber
) -> None:
    subscriber.wait_topic("cmc/status", "online", timeout=15)
    bridge_process.send_signal(signal.SIGINT)
    assert bridge_process.wait(timeout=5) == 0
    subscriber.wait_topic("cmc/status", "offline")


def test_a_killed_bridge_is_reported_offline_by_its_last_will(
    bridge_process: subprocess.Popen[str], subscriber: Subscriber
) -> None:
    subscriber.wait_topic("cmc/status", "online", timeout=15)
    bridge_process.kill()
    bridge_process.wait(5)
    subscriber.wait_topic("cmc/status", "offline")
    assert subscriber.messages[-1][:2] == ("cmc/status", "offline")


def test_version_and_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "--version"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stdout.startswith("cmc-mqtt ")


def formatted(message: str, *secrets: str) -> str:
    formatter = RedactingFormatter("%(message)s", [Secret(s) for s in secrets])
    return formatter.format(logging.LogRecord("t", logging.INFO, __file__, 1, message, (), None))


def test_the_log_masks_a_key_wherever_it_appears() -> None:
    text = formatted(f"url?key={TEST_API_KEY}, in /etc/{TEST_API_KEY}.toml", TEST_API_KEY)
    assert TEST_API_KEY not in text
    assert text == f"url?key={Secret.MASK}, in /etc/{Secret.MASK}.toml"


def test_a_short_secret_is_masked_only_as_a_word_of_its_own() -> None:
    # A broker password "k" must not turn "broker" into "bro**********er".
    assert formatted("connected to MQTT broker", "k") == "connected to MQTT broker"
    assert formatted("password k refused", "k") == f"password {Secret.MASK} refused"
    assert formatted("login cmc:pw1@host", "pw1") == f"login cmc:{Secret.MASK}@host"


def test_placeholder_keys_are_no_secrets() -> None:
    text = "examples/simulator.toml: connected to the simulator, the demo"
    assert formatted(text, "simulator", "demo") == text


def test_the_simulator_example_logs_its_file_name_and_no_chmod_warning(
    tmp_path: Path, broker: Broker
) -> None:
    stream = FakeStreamServer(fast_interval=0.2).start()  # takes any key, as `simulate` does
    example = (ROOT / "examples" / "simulator.toml").read_text()
    config = tmp_path / "simulator.toml"
    config.write_text(
        example.replace("ws://127.0.0.1:8765/v1", stream.url).replace("1883", str(broker.port))
    )
    config.chmod(0o644)  # as a fresh clone has it
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmc_mqtt", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "CMC_API_KEY": ""},
    )  # fmt: skip
    try:
        sub = Subscriber(broker, "cmc/status")
        try:
            sub.wait_topic("cmc/status", "online", timeout=15)
        finally:
            sub.close()
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=10)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
        stream.stop()
    assert "chmod" not in output
    assert Secret.MASK not in output
    assert f" with {config}: " in output  # the file it read, named in full


def test_run_help_names_the_key_variable_and_where_the_config_is_looked_for() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "run", "--help"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "CMC_API_KEY" in text
    assert "./config.toml" in text
    assert "CMC_MQTT_" in text
    assert "cmc-mqtt init" in text
