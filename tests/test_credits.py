"""Credits: the estimate, the count, the key's own figures, and the budget, end to end against the
simulator's billing and a real mosquitto."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_mock import MockerFixture

from cmc_mqtt import creditwatch
from cmc_mqtt.backoff import Backoff
from cmc_mqtt.bridge import Bridge
from cmc_mqtt.config import CreditSettings
from cmc_mqtt.credits import CreditMeter, estimate
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.limits import Limits
from cmc_mqtt.simulator.server import Behaviour
from harness.helpers import TEST_API_KEY, Broker, retained, wait_until

from .conftest import FAST_TIMINGS, make_settings

CREDITS = "cmc/bridge/credits"


def test_a_top_coin_costs_what_coinmarketcaps_guide_says() -> None:
    """ "a single top-500 asset … about 12,960 credits a month" at 0.025 per message."""
    prices = CreditSettings()
    top = estimate([1], {1: 1}, prices)
    assert top.messages == 518_400
    assert top.credits == pytest.approx(12_960)
    slow = estimate([9999], {9999: 2000}, prices)
    assert slow.credits == pytest.approx(4_320)
    unknown = estimate([9999], {}, prices)  # rank unknown: counted as a top coin
    assert unknown.credits == pytest.approx(12_960)
    per_subscription = estimate([1, 2], {}, CreditSettings(per_message=0, per_subscription=0.1))
    assert per_subscription.credits == pytest.approx(0.2)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_the_count_carries_over_a_restart_and_starts_afresh_each_month() -> None:
    clock = Clock(dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC))
    messages = [0]
    saved: list[tuple[str, float, float]] = []
    meter = CreditMeter(
        CreditSettings(), lambda: messages[0], baseline=estimate([1], {}, CreditSettings()),
        month_usage=("2026-11", 100.0), save=lambda m, c, r: saved.append((m, c, r)), clock=clock,
    )  # fmt: skip
    messages[0] = 400
    assert meter.used() == pytest.approx(110.0)
    assert not meter.roll()
    assert saved[-1] == ("2026-11", pytest.approx(110.0), 0.0)
    clock.now = dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=dt.UTC)
    assert meter.roll()
    assert meter.used() == 0.0
    messages[0] = 440
    assert meter.used() == pytest.approx(1.0)


# --- end to end ---------------------------------------------------------------------------------


@pytest.fixture
def run(broker: Broker, tmp_path: Path) -> Iterator[Callable[..., tuple[Bridge, FakeStreamServer]]]:
    started: list[tuple[Bridge, FakeStreamServer]] = []

    def start(
        limits: Limits | None = None, clock: Clock | None = None, **cmc: Any
    ) -> tuple[Bridge, FakeStreamServer]:
        server = FakeStreamServer(
            api_key=TEST_API_KEY, fast_interval=0.2, limits=limits,
            behaviour=Behaviour(ping_interval_ms=1000),
        ).start()  # fmt: skip
        settings = make_settings(
            broker, server, tmp_path / "cache",
            cmc={"rest_url": server.rest_url, "lookup_names": True, **cmc},
        )  # fmt: skip
        extra = {"clock": clock} if clock is not None else {}
        bridge = Bridge(
            settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5),
            info_interval=0.5, **extra,
        )  # fmt: skip
        started.append((bridge.start(), server))
        return bridge, server

    yield start
    for bridge, server in started:
        bridge.stop()
        server.stop()


def credits_seen(broker: Broker, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    def ok(seen: dict[str, str]) -> bool:
        return CREDITS in seen and check(json.loads(seen[CREDITS]))

    return dict(json.loads(retained(broker, CREDITS, expect=ok, timeout=20)[CREDITS]))


def test_credits_on_the_broker_beside_the_keys_own_figures(
    run: Callable[..., tuple[Bridge, FakeStreamServer]], broker: Broker
) -> None:
    bridge, server = run()
    credits = credits_seen(broker, lambda c: c["key"] is not None)
    assert credits["key"]["limit"] == 450_000
    assert credits["key"]["used"] + credits["key"]["left"] == 450_000
    assert credits["credits_per_message"] == 0.025
    assert credits["configured_estimate"] == pytest.approx(2 * 12_960)
    assert credits["projected"] >= credits["estimated_used"]
    wait_until(lambda: bridge.meter.used() >= 0.1)
    # What the bridge counted is what the simulator billed for the same messages.
    billed = server.ledger(TEST_API_KEY).used_month
    assert bridge.meter.used() == pytest.approx(billed, abs=0.2)


def test_credits_used_up_is_a_clear_status_and_the_values_stay(
    run: Callable[..., tuple[Bridge, FakeStreamServer]],
    broker: Broker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bridge, _ = run(limits=Limits(monthly_credits=2))  # 80 messages
    retained(broker, "cmc/1/p")
    retained(broker, "cmc/status", expect=lambda s: s.get("cmc/status") == "offline", timeout=30)
    assert "monthly CoinMarketCap credits are used up" in caplog.text
    values = retained(broker, "cmc/+/p")
    assert {"cmc/1/p", "cmc/1027/p"} <= values.keys()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "credits" in r.message]
    assert len(errors) == 1
    assert bridge.stream.sessions[0].last_error is not None


def test_a_budget_with_stop_closes_the_stream_and_the_new_month_opens_it(
    run: Callable[..., tuple[Bridge, FakeStreamServer]],
    broker: Broker,
    mocker: MockerFixture,
) -> None:
    mocker.patch.object(creditwatch, "ROLL_EVERY_S", 0.2)
    clock = Clock(dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC))
    # At 0.5 credits a message, 2 coins every 0.2 s spend the 40 credits in about 4 s.
    _, server = run(
        clock=clock, credits_per_message=0.5, monthly_credit_budget=40, on_budget="stop"
    )
    credits = credits_seen(broker, lambda c: c["stopped"])
    assert credits["estimated_used"] < 40
    retained(broker, "cmc/status", expect=lambda s: s.get("cmc/status") == "offline")
    assert {"cmc/1/p", "cmc/1027/p"} <= retained(broker, "cmc/+/p").keys()
    assert server.wait_for(lambda: not [c for c in server.live if c.subscribed])
    info = retained(
        broker, "cmc/bridge/info", expect=lambda s: "budget" in s.get("cmc/bridge/info", "")
    )
    assert "credit budget of 40 for this month reached" in info["cmc/bridge/info"]
    clock.now = dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=dt.UTC)
    # The month turns: a new connection streams again (and, at this test's pace, soon spends
    # the new month's budget too).
    assert server.wait_for(lambda: server.accepted >= 2, timeout=20)


def test_a_budget_that_the_projection_passes_warns_once(
    run: Callable[..., tuple[Bridge, FakeStreamServer]],
    broker: Broker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run(monthly_credit_budget=1000)  # two top coins project to about 25,920
    credits_seen(broker, lambda c: c["over_budget"])
    retained(
        broker,
        "cmc/bridge/info",
        expect=lambda s: "over the budget" in s.get("cmc/bridge/info", ""),
    )
    warnings = [r for r in caplog.records if "over the budget" in r.getMessage()]
    assert len(warnings) == 1
    assert "status" not in warnings[0].getMessage()
    assert retained(broker, "cmc/status")["cmc/status"] == "online"
