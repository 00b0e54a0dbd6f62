"""Coins spread over connections within the key's limits, against a simulator that enforces them
and a real mosquitto."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.limits import Limits as ServerLimits
from cmc_mqtt.simulator.server import Behaviour
from cmc_mqtt.stream.pool import Limits, plan_layout
from cmc_mqtt.util.backoff import Backoff
from harness.helpers import TEST_API_KEY, Broker, retained, wait_until

from .conftest import FAST_TIMINGS, make_settings

MANY = list(range(1001, 1251))  # 250 coins


@pytest.mark.parametrize(
    ("current", "wanted", "limits", "layout", "left_out"),
    [
        pytest.param([], [1, 2, 3], Limits(2, 10), [(1, 2), (3,)], [], id="fill-in-order"),
        pytest.param(
            [(3,), (1, 2)],
            [1, 2, 3, 4],
            Limits(2, 10),
            [(3, 4), (1, 2)],
            [],
            id="coins-keep-their-connection",
        ),
        pytest.param(
            [(1, 2), (3, 4)],
            [2, 3, 4, 5],
            Limits(2, 10),
            [(2, 5), (3, 4)],
            [],
            id="a-removed-coin-makes-room",
        ),
        pytest.param(
            [(1,), (2,)], [1, 3], Limits(2, 10), [(1, 3), ()], [], id="an-emptied-connection-closes"
        ),
        pytest.param(
            [],
            [1, 2, 3, 4, 5],
            Limits(2, 2),
            [(1, 2), (3, 4)],
            [5],
            id="left-out-beyond-the-limits",
        ),
        pytest.param(
            [(1, 2, 3)],
            [1, 2, 3],
            Limits(2, 10),
            [(1, 2), (3,)],
            [],
            id="a-smaller-limit-moves-the-overflow",
        ),
        pytest.param(
            [(1,), (2,), (3,)],
            [1, 2, 3],
            Limits(5, 2),
            [(1, 3), (2,), ()],
            [],
            id="fewer-connections-move-the-last",
        ),
        pytest.param([(1, 1, 2)], [1, 2, 2], Limits(5, 1), [(1, 2)], [], id="no-duplicates"),
    ],
)
def test_plan_layout(
    current: list[tuple[int, ...]],
    wanted: list[int],
    limits: Limits,
    layout: list[tuple[int, ...]],
    left_out: list[int],
) -> None:
    assert plan_layout(current, wanted, limits) == (layout, left_out)


# --- end to end ---------------------------------------------------------------------------------

Run = Callable[..., Bridge]


@pytest.fixture
def run_bridge(broker: Broker, tmp_path: Path) -> Iterator[Callable[..., Bridge]]:
    """Starts a bridge on a simulator of the test's choosing; stops both afterwards."""
    started: list[tuple[Bridge, FakeStreamServer]] = []

    def run(server: FakeStreamServer, ids: list[int], **cmc: object) -> Bridge:
        settings = make_settings(
            broker, server, tmp_path / "cache", cmc={"crypto_ids": ids, **cmc},
            homeassistant={"discovery": False}, text={"enabled": False},
        )  # fmt: skip
        bridge = Bridge(settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5))
        started.append((bridge.start(), server))
        return bridge

    yield run
    for bridge, server in started:
        bridge.stop()
        server.stop()


def simulator(limits: ServerLimits) -> FakeStreamServer:
    return FakeStreamServer(
        api_key=TEST_API_KEY, fast_interval=1.0, slow_interval=1.0, limits=limits,
        behaviour=Behaviour(ping_interval_ms=1000),
    ).start()  # fmt: skip


def every_price(broker: Broker, ids: list[int]) -> dict[str, str]:
    wanted = {f"cmc/{cid}/p" for cid in ids}
    return retained(broker, "cmc/+/p", expect=lambda seen: wanted <= seen.keys(), timeout=30)


def test_250_coins_ride_on_3_connections_when_counted_per_id(
    run_bridge: Run, broker: Broker
) -> None:
    server = simulator(ServerLimits())
    bridge = run_bridge(server, MANY)
    every_price(broker, MANY)
    live = [c for c in server.live if c.subscribed]
    assert sorted(len(c.subscribed) for c in live) == [50, 100, 100]
    assert bridge.stream.left_out == ()
    info = bridge.stream.connections()
    assert [len(c["ids"]) for c in info] == [100, 100, 50]
    assert all(c["connected"] and c["sub_limit"] == 100 for c in info)


def test_counted_per_request_everything_fits_one_connection(
    run_bridge: Run, broker: Broker
) -> None:
    server = simulator(ServerLimits(counting="request"))
    bridge = run_bridge(server, MANY, max_connections=1)
    every_price(broker, MANY)
    assert server.accepted == 1
    assert bridge.stream.left_out == ()
    assert bridge.stream.limits.ids_per_connection > 250


def test_one_connection_killed_leaves_the_others_streaming(run_bridge: Run, broker: Broker) -> None:
    server = simulator(ServerLimits())
    bridge = run_bridge(server, MANY)
    every_price(broker, MANY)
    victim = next(c for c in server.live if 1001 in c.subscribed)
    victim.abort()
    sessions = bridge.stream.sessions
    wait_until(lambda: not sessions[0].online, timeout=10)
    # The others never noticed; the killed one reconnects on its own and takes its coins back.
    assert all(s.online for s in sessions[1:])
    assert all(s.attempts == 1 for s in sessions[1:])
    wait_until(lambda: sessions[0].online and sessions[0].attempts == 2, timeout=15)
    assert any(c is not victim and 1001 in c.subscribed for c in server.live)


def test_a_refused_subscribe_is_split_and_retried(
    run_bridge: Run, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    server = simulator(ServerLimits(sub_limit=40))
    bridge = run_bridge(server, MANY[:100])
    every_price(broker, MANY[:100])
    assert bridge.stream.limits.ids_per_connection == 40
    assert sorted(len(c.subscribed) for c in server.live if c.subscribed) == [20, 40, 40]
    assert "subscription limit reached" in caplog.text


def test_too_many_connections_lowers_the_count_and_streams_the_rest(
    run_bridge: Run, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    server = simulator(ServerLimits(max_connections=2))
    bridge = run_bridge(server, MANY)
    wait_until(lambda: len(bridge.stream.left_out) == 50, timeout=20)
    every_price(broker, MANY[:200])
    assert bridge.stream.limits.max_connections == 2
    assert len([c for c in server.live if c.subscribed]) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("50 coins do not fit" in w and "1201" in w for w in warnings)


def test_the_11th_connection_is_refused_and_its_coins_left_out(
    run_bridge: Run, broker: Broker
) -> None:
    server = simulator(ServerLimits(sub_limit=5))
    ids = MANY[:55]
    bridge = run_bridge(server, ids, max_connections=11)
    wait_until(lambda: len(bridge.stream.left_out) == 5, timeout=30)
    every_price(broker, [cid for cid in ids if cid not in bridge.stream.left_out])
    assert bridge.stream.limits == Limits(5, 10)
    assert len([c for c in server.live if c.subscribed]) == 10
