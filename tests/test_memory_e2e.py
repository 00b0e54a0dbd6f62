"""Memory end to end (real mosquitto, the simulator's stream and REST API, real bridges): two
configurations sharing one cache folder never see each other's coins, holdings, credits or
names; a corrupt memory never stops the start, and prices flow."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.config import Settings
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.server import Behaviour
from cmc_mqtt.state.identity import memory_path
from cmc_mqtt.util.backoff import Backoff
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY, Broker, retained, retained_json, wait_until

from .conftest import FAST_TIMINGS, make_settings
from .test_bridge_requests import ask

OTHER_KEY = "other-key-8d1e0c47-do-not-log"
Run = Callable[..., Bridge]


@pytest.fixture
def other_stream() -> Iterator[FakeStreamServer]:
    """A second CoinMarketCap: another key, another URL."""
    server = FakeStreamServer(
        api_key=OTHER_KEY, fast_interval=0.2, slow_interval=0.4,
        behaviour=Behaviour(ping_interval_ms=1000),
    ).start()  # fmt: skip
    yield server
    server.stop()


def configuration(
    broker: Broker, server: FakeStreamServer, cache: Path, prefix: str = "cmc", **sections: Any
) -> Settings:
    """The simulator's stream and REST API at `server`, with its key, under `prefix`."""
    sections["cmc"] = {"rest_url": server.rest_url, "lookup_names": True,
                       **sections.get("cmc", {})}  # fmt: skip
    sections["mqtt"] = {"topic_prefix": prefix, "client_id": f"cmc-mqtt-{prefix}"}
    sections["homeassistant"] = {"node_id": prefix}
    settings = make_settings(broker, server, cache, **sections)
    if server.api_key is not None and server.api_key != TEST_API_KEY:
        key = Secret(server.api_key)
        settings = replace(settings, stream=replace(settings.stream, api_key=key))
    return settings


@pytest.fixture
def run(broker: Broker, tmp_path: Path) -> Iterator[Run]:
    bridges: list[Bridge] = []

    def start(server: FakeStreamServer, prefix: str = "cmc", **sections: Any) -> Bridge:
        settings = configuration(broker, server, tmp_path / "cache", prefix, **sections)
        bridge = Bridge(
            settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5),
            info_interval=0.5,
        )  # fmt: skip
        bridges.append(bridge.start())
        retained(broker, f"{prefix}/1/p")  # prices flow, and the requests are subscribed
        return bridge

    yield start
    for bridge in bridges:
        bridge.stop()


def info(broker: Broker, prefix: str, expect: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    return dict(retained_json(broker, f"{prefix}/bridge/info", expect, timeout=20))


def every_file(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_two_configurations_sharing_a_cache_folder_never_see_each_others_memory(
    broker: Broker,
    stream: FakeStreamServer,
    other_stream: FakeStreamServer,
    run: Run,
    tmp_path: Path,
) -> None:
    eur = {"currency": "EUR"}  # the rate's REST calls are counted and saved at once
    simulated = run(stream, cmc=eur)
    added = ask(broker, "cmc/bridge/request/coins/add", json.dumps({"ids": [4242]}))
    assert added["status"] == "ok", added
    held = ask(broker, "cmc/bridge/request/holdings/set", json.dumps({"holdings": {"1": "0.5"}}))
    assert held["status"] == "ok", held
    wait_until(lambda: simulated.memory.month_usage()[1] >= 2)
    names = retained_json(broker, "cmc/bridge/names", lambda n: "4242" in n)
    assert names["4242"]["name"] == "Simulated Coin 4242"

    # Another key, URL and prefix, on the same broker and cache folder, while the first runs.
    other = run(other_stream, prefix="other", cmc={"crypto_ids": [1, 1027]})
    assert other.state.crypto_ids == (1, 1027)
    assert other.holding_set.wanted() == {}
    # Nothing of the first's (2 credits and more, REST ones among them); its own first
    # subscriptions (0.025 credits) may be saved already: the first tick saves the count.
    _month, credits_used, rest_used = other.memory.month_usage()
    assert credits_used < 1.0
    assert rest_used == 0.0
    assert other.meter.rest_used() == 0.0
    # Its own messages only, read at one instant (used() then stream_used() are two reads,
    # and a message may arrive between them).
    credits = json.loads(other.meter.payload(stopped=False))
    assert credits["estimated_used"] == credits["stream_used"]
    assert other.names.get(4242).name == "CMC #4242"
    other_info = info(broker, "other", lambda i: "crypto_ids" in i)
    assert other_info["crypto_ids"] == [1, 1027]
    assert "4242" not in retained_json(broker, "other/bridge/names")
    assert other.memory.path is not None
    assert simulated.memory.path is not None
    assert other.memory.path.parent != simulated.memory.path.parent
    assert other.memory.path.parent.parent == simulated.memory.path.parent.parent

    # The first configuration's memory is whole after a restart, beside the other's.
    simulated.stop()
    again = run(stream, cmc=eur)
    assert again.state.crypto_ids == (1, 1027, 4242)
    assert again.holding_set.report() == {"1": "0.5"}
    assert again.memory.month_usage()[1] >= 2
    assert again.names.get(4242).name == "Simulated Coin 4242"

    for name, content in every_file(tmp_path / "cache").items():
        assert TEST_API_KEY.encode() not in content, name
        assert OTHER_KEY.encode() not in content, name
        assert TEST_API_KEY not in name
        assert OTHER_KEY not in name


CORRUPT: dict[str, bytes] = {
    "state.json": b'{"added": [NaN], "usage": {"month": "2026-12", "credits": 1e999}}',
    "coins.json": b'{"coins": 5}',
    "fiats.json": b"[" * 100_000,
}


def test_a_corrupt_memory_still_starts_the_bridge_and_prices_flow(
    broker: Broker,
    stream: FakeStreamServer,
    run: Run,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    eur = {"currency": "EUR"}
    folder = memory_path(configuration(broker, stream, tmp_path / "cache", cmc=eur))
    assert folder is not None
    folder.mkdir(parents=True)
    for name, content in CORRUPT.items():
        (folder / name).write_bytes(content)
    os.mkfifo(folder / ".state-1-left.tmp")  # nothing of ours may block on it
    bridge = run(stream, cmc=eur)
    retained(broker, "cmc/1/p_eur")  # the fiat map fetched again, the rate applied
    assert bridge.state.crypto_ids == (1, 1027)
    for name, content in CORRUPT.items():
        lines = [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.WARNING and f"{name} cannot be used" in r.getMessage()
        ]
        assert len(lines) == 1, (name, lines)
        [aside] = folder.glob(f"{name}.corrupt-*")
        assert aside.read_bytes() == content
    # What is written now is valid JSON without NaN, and holds what the bridge spent.
    wait_until(lambda: bridge.memory.month_usage()[1] >= 1)
    assert bridge.memory.path is not None
    saved = json.loads(
        bridge.memory.path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} written")
    )
    assert saved["added"] == []
