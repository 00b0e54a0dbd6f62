"""A broker that accepts the bridge and then drops it (a packet over its limit, the client id
taken over): the bridge backs off like after any failed attempt, names the likely cause once, and
counts the drops in bridge/info; real mosquitto, the simulator."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.util.backoff import Backoff
from harness.helpers import Broker, retained_json, wait_until

from .conftest import FAST_TIMINGS, make_settings


def test_a_broker_that_drops_the_bridge_after_accepting_it_gets_backoff_and_a_cause(
    tmp_path: Path, stream: FakeStreamServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker that accepts the bridge and closes the connection at its first large message
    (here: a limit on packet size below a discovery config's) must not be hammered with a
    reconnect loop: the bridge backs off, says why once, and counts the drops."""
    limited = Broker(extra_config="max_packet_size 600").start()
    try:
        settings = make_settings(limited, stream, tmp_path / "cache")
        bridge = Bridge(settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5))
        with bridge:
            wait_until(lambda: bridge.publisher.drops.total >= 4, timeout=20)
            started, before = time.monotonic(), limited.log.read_text().count("New client")
            wait_until(lambda: time.monotonic() - started > 3, timeout=10)
            connects = limited.log.read_text().count("New client") - before
        assert connects <= 3 / 0.25 + 2  # backing off (0.25-0.5 s a wait), not a tight loop
        report = bridge.publisher.drops.report()
        assert "max_packet_size" in str(report["last_drop"])
        warnings = [
            r.getMessage() for r in caplog.records
            if r.name == "cmc_mqtt.mqtt.reconnects" and r.levelno == logging.WARNING
        ]  # fmt: skip
        assert len(warnings) == 1, warnings
        assert "after accepting it" in warnings[0]
    finally:
        limited.cleanup()


def test_a_client_id_taken_over_again_and_again_gets_backoff(
    broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    """Another client with the bridge's client id, reconnecting whenever it is kicked out: the
    two would take turns as fast as they can connect; the bridge waits longer each time."""
    settings = make_settings(broker, stream, tmp_path / "cache")
    squatter = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=settings.mqtt.client_id)
    squatter.reconnect_delay_set(0.01, 0.01)
    bridge = Bridge(settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5))
    with bridge:
        wait_until(bridge.publisher.connected.is_set)
        squatter.connect(broker.host, broker.port)
        squatter.loop_start()
        try:
            wait_until(lambda: bridge.publisher.drops.total >= 3, timeout=20)
            started, before = time.monotonic(), bridge.publisher.drops.total
            wait_until(lambda: time.monotonic() - started > 3, timeout=10)
            drops = bridge.publisher.drops.total - before
        finally:
            squatter.loop_stop()
            squatter.disconnect()
        assert drops <= 3 / 0.25 + 2
        assert "client_id" in str(bridge.publisher.drops.report()["last_drop"])


def test_bridge_info_reports_the_mqtt_connection(
    broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> None:
    settings = make_settings(broker, stream, tmp_path / "cache")
    with Bridge(settings, stream_timings=FAST_TIMINGS, info_interval=0.5):
        info = retained_json(broker, "cmc/bridge/info", lambda i: "mqtt" in i)
    assert info["mqtt"] == {"drops": 0, "last_drop": None}
    assert json.dumps(info["oversized_payloads"]) == "0"
