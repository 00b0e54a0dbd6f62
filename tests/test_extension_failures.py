"""A bug in one extension (an extra beside the prices: displays, requests, credits, …) must not
stop the rest: the failure is counted and logged once, and prices keep flowing. Real bridge,
simulator and mosquitto; the failing extension is the one thing made up."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.mqtt.extension import Extension, Outbox
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.util.backoff import Backoff
from harness.helpers import Broker, Subscriber, retained, wait_until

from .conftest import FAST_TIMINGS, make_settings
from .test_currency_e2e import publish

POKE = "test/poke"


class Broken(Extension):
    """Raises from every hook after subscribing to a topic of its own."""

    def __init__(self) -> None:
        self.calls = 0

    def on_connected(self, out: Outbox) -> None:
        out.subscribe(POKE)
        self._fail()

    def on_message(self, topic: str, payload: bytes, retained: bool, out: Outbox) -> None:
        if topic == POKE:
            self._fail()

    def tick(self, now: float, out: Outbox) -> None:
        self._fail()

    def _fail(self) -> None:
        self.calls += 1
        raise RuntimeError("a bug in an extension")


def test_a_failing_extension_is_counted_logged_once_and_the_prices_flow_on(
    broker: Broker,
    stream: FakeStreamServer,
    tmp_path: Path,
    subscriber: Subscriber,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(broker, stream, tmp_path / "cache")
    bridge = Bridge(settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5),
                    info_interval=0.5)  # fmt: skip
    broken = Broken()
    bridge.publisher.extensions.insert(0, broken)  # before every other one: they still run
    with caplog.at_level(logging.ERROR, logger="cmc_mqtt.mqtt.extension_runner"), bridge.start():
        retained(broker, "cmc/+/p", expect=lambda s: {"cmc/1/p", "cmc/1027/p"} <= s.keys())
        wait_until(lambda: broken.calls >= 3)  # on_connected, then ticks
        publish(broker, POKE, "x")
        wait_until(lambda: broken.calls >= 6)
        first = subscriber.wait_topic("cmc/1/p")
        # Prices keep coming after the failures.
        assert subscriber.wait_for(lambda last: last.get("cmc/1/p") not in (None, first))

        def counted(seen: dict[str, str]) -> bool:
            info = json.loads(seen.get("cmc/bridge/info", "{}"))
            return int(info.get("extension_errors", 0)) >= 3

        retained(broker, "cmc/bridge/info", expect=counted)
        assert bridge.publisher.connected.is_set()
    logged = [r for r in caplog.records if "Broken." in r.getMessage()]
    # Once per failing hook, with its traceback.
    assert sorted(r.getMessage().split()[0] for r in logged) == [
        "Broken.on_connected",
        "Broken.on_message",
        "Broken.tick",
    ]
    assert all(r.exc_info for r in logged)
