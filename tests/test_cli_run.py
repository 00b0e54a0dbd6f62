"""`cmc-mqtt run` as a user runs it: a real process, signals, its log output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmc_mqtt.simulator import FakeStreamServer

from .helpers import TEST_API_KEY, Broker, Subscriber

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
