"""Fixtures: a real mosquitto per test, the fake stream server, and a bridge wired to both."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.config import Settings, parse_settings
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.server import Behaviour
from cmc_mqtt.stream.session import StreamTimings
from cmc_mqtt.util.backoff import Backoff
from harness.helpers import TEST_API_KEY, Broker, Subscriber

#: Quick retries so tests finish fast; the policy (not the numbers) is what they check.
FAST_TIMINGS = StreamTimings(
    connect_timeout=3.0,
    welcome_timeout=1.0,
    ack_timeout=3.0,
    recv_timeout=0.1,
    backoff_initial=0.05,
    backoff_cap=0.5,
    stagger=0.05,
)


@pytest.fixture(autouse=True)
def _api_key_never_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test doubles as a leak test: the API key must not reach any log record."""
    caplog.set_level(logging.DEBUG)
    yield
    leaked = [r.getMessage() for r in caplog.records if TEST_API_KEY in r.getMessage()]
    assert not leaked, f"API key leaked into logs: {leaked[:3]}"


@pytest.fixture
def broker() -> Iterator[Broker]:
    b = Broker().start()
    yield b
    b.cleanup()


@pytest.fixture
def stream() -> Iterator[FakeStreamServer]:
    server = FakeStreamServer(
        api_key=TEST_API_KEY,
        fast_interval=0.2,
        slow_interval=0.4,
        behaviour=Behaviour(ping_interval_ms=1000),
    ).start()
    yield server
    server.stop()


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(broker)
    yield sub
    sub.close()


def make_settings(
    broker: Broker, stream: FakeStreamServer, cache_dir: Path, **sections: Any
) -> Settings:
    raw: dict[str, Any] = {
        "cmc": {
            "api_key": TEST_API_KEY,
            "url": stream.url,
            "crypto_ids": [1, 1027],
            "lookup_names": False,
            "cache_dir": str(cache_dir),
        },
        "mqtt": {"host": broker.host, "port": broker.port, "client_id": "cmc-mqtt-test"},
        "homeassistant": {},
    }
    for name, values in sections.items():
        if isinstance(values, dict):
            raw.setdefault(name, {}).update(values)
        else:
            raw[name] = values  # an array of tables, such as [[awtrix]]
    return parse_settings(raw, environ={})


@pytest.fixture
def start_bridge(
    broker: Broker, stream: FakeStreamServer, tmp_path: Path
) -> Iterator[Callable[..., Bridge]]:
    bridges: list[Bridge] = []

    def start(timings: StreamTimings = FAST_TIMINGS, **sections: Any) -> Bridge:
        settings = make_settings(broker, stream, tmp_path / "cache", **sections)
        bridge = Bridge(
            settings, stream_timings=timings, mqtt_backoff=Backoff(0.05, 0.5), info_interval=0.5
        )
        bridges.append(bridge.start())
        return bridge

    yield start
    for bridge in bridges:
        bridge.stop()
