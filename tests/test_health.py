"""The container health check reads the bridge's retained state from a real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.health import check, probe_client_id
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import TEST_API_KEY, Broker, Subscriber, free_port, wait_until

from .conftest import make_settings


def test_healthy_while_the_bridge_streams_and_unhealthy_once_it_stops(
    start_bridge: Callable[..., Bridge], broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    settings = make_settings(broker, stream, tmp_path / "cache")
    bridge = start_bridge()
    # bridge/info may say the stream is connected before cmc/status is retained: healthy too,
    # but this test waits for the status itself.
    verdict = wait_until(lambda: (v := check(settings)).healthy and "is online" in v.reason and v)
    assert verdict.line().startswith("healthy: cmc/status is online (")
    bridge.stop()
    verdict = check(settings)
    assert not verdict.healthy
    assert "cmc/status is 'offline'" in verdict.reason


def test_the_probe_never_takes_the_bridges_place_on_the_broker(
    start_bridge: Callable[..., Bridge], broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    settings = make_settings(broker, stream, tmp_path / "cache")
    start_bridge()
    wait_until(lambda: check(settings).healthy)
    for _ in range(3):
        assert check(settings).healthy
    assert probe_client_id(settings) != settings.mqtt.client_id
    assert "already connected" not in broker.log.read_text()


def test_unhealthy_when_the_bridge_never_reached_the_broker(
    broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    verdict = check(make_settings(broker, stream, tmp_path / "cache"))
    assert not verdict.healthy
    assert verdict.reason.startswith("nothing retained on cmc/status or cmc/bridge/info")


def test_unhealthy_when_the_broker_is_unreachable(
    broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    settings = make_settings(broker, stream, tmp_path / "cache")
    broker.stop()
    verdict = check(settings, timeout=2.0)
    assert not verdict.healthy
    assert verdict.reason == f"cannot reach the broker 127.0.0.1:{broker.port}: connection refused"


def test_status_without_retain_falls_back_to_bridge_info(
    start_bridge: Callable[..., Bridge], broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    settings = make_settings(broker, stream, tmp_path / "cache", mqtt={"retain": False})
    status = Subscriber(broker, "cmc/status")
    try:
        start_bridge(mqtt={"retain": False})
        # Once the live `online` has gone by, nothing but the retained info is left to read.
        status.wait_topic("cmc/status", "online")
    finally:
        status.close()
    verdict = wait_until(lambda: (v := check(settings)).healthy and v)
    assert verdict.reason.startswith("cmc/bridge/info says the stream is connected")


def test_exit_codes_from_the_command_with_the_bridges_own_config(
    start_bridge: Callable[..., Bridge], broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[cmc]\napi_key = "{TEST_API_KEY}"\nurl = "{stream.url}"\ncrypto_ids = [1, 1027]\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nclient_id = "cmc-mqtt-test"\n'
    )
    config.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMC_")}

    def run(*extra: str, **more_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cmc_mqtt.health", "--config", str(config), *extra],
            env={**env, **more_env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert run().returncode == 1
    start_bridge()
    wait_until(lambda: run().returncode == 0, timeout=15)
    assert run().stdout.startswith("healthy: ")
    # The same variables as the bridge: another port is another (absent) broker.
    other = run("--timeout", "2", CMC_MQTT_MQTT_PORT=str(free_port()))
    assert other.returncode == 1
    assert other.stdout.startswith("unhealthy: cannot reach the broker")
    bad = run(CMC_MQTT_MQTT_PORT="x")
    assert (bad.returncode, bad.stderr.strip()) == (
        2,
        "CMC_MQTT_MQTT_PORT: expected an integer, got 'x'",
    )
    assert TEST_API_KEY not in run().stdout + run().stderr
