"""Credits: the estimate, the count, the key's own figures, and the budget, end to end against the
simulator's billing and a real mosquitto."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_mock import MockerFixture

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.config import CreditSettings
from cmc_mqtt.extensions import credit_watch as creditwatch
from cmc_mqtt.mqtt import publisher
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.limits import Limits
from cmc_mqtt.simulator.server import Behaviour
from cmc_mqtt.state.credit_meter import CreditMeter, estimate
from cmc_mqtt.util.backoff import Backoff
from harness.helpers import TEST_API_KEY, Broker, Subscriber, retained, retained_json, wait_until

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


def test_a_running_count_is_saved_at_most_once_a_minute(mocker: MockerFixture) -> None:
    """A busy bridge passes a credit every few seconds; the state file (on an SD card, often)
    is rewritten at most once a minute, and at exit whatever the time."""
    monotonic = mocker.patch("cmc_mqtt.state.credit_meter.time.monotonic", return_value=1000.0)
    messages = [0]
    saved: list[tuple[str, float, float]] = []
    meter = CreditMeter(
        CreditSettings(), lambda: messages[0], baseline=estimate([1], {}, CreditSettings()),
        month_usage=("2026-11", 0.0), save=lambda m, c, r: saved.append((m, c, r)),
        clock=Clock(dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)),
    )  # fmt: skip
    messages[0] = 40  # one whole credit
    meter.checkpoint()
    assert [c for _, c, _ in saved] == [pytest.approx(1.0)]
    for seconds in (5, 30, 59):  # credits pass, the minute does not
        monotonic.return_value = 1000.0 + seconds
        messages[0] += 40
        meter.checkpoint()
    assert len(saved) == 1
    monotonic.return_value = 1060.0
    meter.checkpoint()
    assert [c for _, c, _ in saved] == [pytest.approx(1.0), pytest.approx(4.0)]
    messages[0] += 40
    meter.checkpoint(force=True)  # the exit: at once
    assert saved[-1][1] == pytest.approx(5.0)


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
        limits: Limits | None = None,
        clock: Clock | None = None,
        fx: dict[str, Any] | None = None,
        server: FakeStreamServer | None = None,
        **cmc: Any,
    ) -> tuple[Bridge, FakeStreamServer]:
        """`fx`: rate settings below what the configuration allows (a call every second);
        `server`: the one a bridge ran against before (the same configuration, its memory)."""
        if server is None:
            server = FakeStreamServer(
                api_key=TEST_API_KEY, fast_interval=0.2, limits=limits,
                behaviour=Behaviour(ping_interval_ms=1000),
            ).start()  # fmt: skip
        settings = make_settings(
            broker, server, tmp_path / "cache",
            cmc={"rest_url": server.rest_url, "lookup_names": True, **cmc},
        )  # fmt: skip
        if fx:
            settings = dataclasses.replace(settings, fx=dataclasses.replace(settings.fx, **fx))
        extra = {"clock": clock} if clock is not None else {}
        bridge = Bridge(
            settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5),
            info_interval=0.5, **extra,
        )  # fmt: skip
        started.append((bridge.start(), server))
        return bridge, server

    yield start
    for bridge, server in started:
        if bridge not in stopped:
            bridge.stop()
        server.stop()


#: Bridges a test stopped itself (a restart), not to be stopped again.
stopped: set[Bridge] = set()


def credits_seen(broker: Broker, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    return dict(retained_json(broker, CREDITS, check, timeout=20))


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


# --- paid REST calls (the exchange rate) ---------------------------------------------------------

EUR = {"currency": "EUR"}
#: The rate every 15 minutes: 2,880 calls in 30 days and the fiat map once.
FX_MONTH = 2881


def fx_meter(
    clock: Clock, messages: list[int], **kwargs: Any
) -> tuple[CreditMeter, list[tuple[str, float, float]]]:
    saved: list[tuple[str, float, float]] = []
    prices = CreditSettings()
    meter = CreditMeter(
        prices, lambda: messages[0], baseline=estimate([1], {}, prices, rest=FX_MONTH),
        save=lambda m, c, r: saved.append((m, c, r)), clock=clock, **kwargs,
    )  # fmt: skip
    return meter, saved


def test_rest_credits_count_in_the_month_and_are_saved_at_once() -> None:
    clock = Clock(dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC))
    messages = [0]
    meter, saved = fx_meter(clock, messages, month_usage=("2026-11", 100.0))
    messages[0] = 400  # 10 credits of stream
    meter.spend_rest(1, "/v1/fiat/map")
    meter.spend_rest(1, "/v2/tools/price-conversion")
    assert meter.used() == pytest.approx(112.0)
    assert (meter.stream_used(), meter.rest_used()) == (pytest.approx(110.0), 2.0)
    # Saved with each call, not a minute later: a restart at once still carries them.
    assert saved[-1] == ("2026-11", pytest.approx(112.0), 2.0)
    restarted, _ = fx_meter(clock, [0], month_usage=saved[-1])
    assert restarted.used() == pytest.approx(112.0)
    assert restarted.rest_used() == 2.0
    # A state file written before REST credits were counted: the total only.
    older, _ = fx_meter(clock, [0], month_usage=("2026-11", 100.0))
    assert (older.used(), older.rest_used()) == (100.0, 0.0)
    payload = json.loads(meter.payload(stopped=False))
    assert payload["estimated_used"] == pytest.approx(112.0)
    assert (payload["stream_used"], payload["rest_used"]) == (pytest.approx(110.0), 2.0)
    assert payload["configured_estimate"] == pytest.approx(12_960 + FX_MONTH)
    assert payload["stream_estimate"] == pytest.approx(12_960)
    assert payload["rest_estimate"] == FX_MONTH


def test_the_projection_includes_the_rate_before_and_after_observing() -> None:
    start = dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC)
    clock = Clock(start)
    messages = [0]
    meter, _ = fx_meter(clock, messages)
    month = 30 * 86400.0
    # At once: the configuration's estimate, the rate's calls included.
    assert meter.projected() == pytest.approx(12_960 + FX_MONTH, rel=1e-3)
    # Five minutes on, the start's lump (the map and the first call) is no rate: the estimate
    # still stands for the calls, while the stream's own count is trusted.
    meter.spend_rest(1, "/v1/fiat/map")
    meter.spend_rest(1, "/v2/tools/price-conversion")
    clock.now = start + dt.timedelta(seconds=300)
    messages[0] = 60  # one coin every 5 s
    assert meter.rest_rate() == pytest.approx(FX_MONTH / month)
    assert meter.projected() == pytest.approx(12_960 + FX_MONTH, rel=1e-3)
    # Half a day of calls on, their own pace is taken: here half the estimate (calls failing
    # with errors that cost nothing, say).
    for _ in range(48):
        meter.spend_rest(1, "/v2/tools/price-conversion")
    clock.now = start + dt.timedelta(hours=24)
    messages[0] = 24 * 720
    assert meter.rest_rate() == pytest.approx(50 / 86400)
    left = (30 * 86400 - 86400) * 50 / 86400
    assert meter.projected() == pytest.approx(432 + 50 + 12_960 * 29 / 30 + left, rel=1e-3)


def test_a_rate_call_just_after_the_month_turned_counts_in_the_new_month() -> None:
    clock = Clock(dt.datetime(2026, 11, 30, 23, 59, 30, tzinfo=dt.UTC))
    meter, saved = fx_meter(clock, [0])
    meter.spend_rest(1, "/v2/tools/price-conversion")
    clock.now = dt.datetime(2026, 12, 1, 0, 0, 10, tzinfo=dt.UTC)
    meter.spend_rest(1, "/v2/tools/price-conversion")  # before the minute's roll saw the turn
    assert meter.roll()
    assert (meter.used(), meter.rest_used()) == (1.0, 1.0)
    assert saved[-1] == ("2026-12", 1.0, 1.0)


def test_the_meter_counts_what_the_simulator_billed_for_the_rate(
    run: Callable[..., tuple[Bridge, FakeStreamServer]], broker: Broker, mocker: MockerFixture
) -> None:
    mocker.patch.object(creditwatch, "PUBLISH_EVERY_S", 0.2)
    # A free stream, so every credit is the rate's: the count must equal the bill exactly.
    clock = Clock(dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC))
    bridge, server = run(
        limits=Limits(credits_per_message=0), clock=clock, credits_per_message=0, **EUR
    )
    credits = credits_seen(broker, lambda c: c["rest_used"] == 2)  # the map and one call
    assert credits["estimated_used"] == 2
    assert credits["stream_used"] == 0
    assert credits["configured_estimate"] == credits["rest_estimate"] == FX_MONTH
    assert credits["projected"] == pytest.approx(2 + FX_MONTH, abs=1)  # and a month of calls
    assert server.ledger(TEST_API_KEY).used_month == bridge.meter.used() == 2
    source = bridge.rate_source
    assert source is not None
    bridge.rest.schedule(source)
    wait_until(lambda: bridge.meter.used() == 3)
    assert server.ledger(TEST_API_KEY).used_month == 3


def test_a_restart_carries_the_months_rest_credits(
    run: Callable[..., tuple[Bridge, FakeStreamServer]], tmp_path: Path
) -> None:
    clock = Clock(dt.datetime(2026, 11, 10, 12, 0, tzinfo=dt.UTC))
    free = {"limits": Limits(credits_per_message=0), "clock": clock, "credits_per_message": 0}
    free.update(EUR)
    first, first_server = run(**free)
    wait_until(lambda: first.meter.used() == 2)  # the map and one call, saved at once
    first.stop()
    stopped.add(first)
    assert first.memory.path is not None  # the configuration's own folder in the cache
    usage = json.loads(first.memory.path.read_text())["usage"]
    assert usage["credits"] == usage["rest"] == 2
    # The same configuration again: the fiat map is cached now, one credit a call.
    second, _ = run(server=first_server, **free)
    wait_until(lambda: first_server.ledger(TEST_API_KEY).used_month == 3)
    wait_until(lambda: second.meter.used() == 3)
    assert second.meter.used() == first_server.ledger(TEST_API_KEY).used_month == 3
    assert second.meter.rest_used() == 3  # the split carried over too, not counted as stream


def test_the_rate_can_push_the_projection_over_the_budget(
    run: Callable[..., tuple[Bridge, FakeStreamServer]],
    broker: Broker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Two top coins: about 25,920 a month, within 27,000; the rate's 2,881 passes it.
    run(
        clock=Clock(dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC)),
        monthly_credit_budget=27_000,
        **EUR,
    )
    credits = credits_seen(broker, lambda c: c["over_budget"])
    assert credits["projected"] > 27_000
    assert credits["stream_estimate"] < 27_000 < credits["configured_estimate"]
    warnings = [r.getMessage() for r in caplog.records if "over the budget" in r.getMessage()]
    assert len(warnings) == 1
    assert "cmc.fx_interval" in warnings[0]


def test_a_budget_with_stop_pauses_the_rate_calls_until_the_month_turns(
    run: Callable[..., tuple[Bridge, FakeStreamServer]],
    broker: Broker,
    subscriber: Subscriber,
    mocker: MockerFixture,
) -> None:
    mocker.patch.object(creditwatch, "ROLL_EVERY_S", 0.2)
    mocker.patch.object(publisher, "TICK_INTERVAL_S", 0.1)
    clock = Clock(dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC))
    # A free stream and a rate every 0.5 s: the map and the first call spend 2 credits, the
    # next one 3; a run may spend 2 more, so the stop comes there, before the budget of 5.
    bridge, server = run(
        limits=Limits(credits_per_message=0), clock=clock, fx={"interval": 0.5, "max_age": 1.5},
        credits_per_message=0, monthly_credit_budget=5, on_budget="stop", **EUR,
    )  # fmt: skip
    source = bridge.rate_source
    assert source is not None
    credits = credits_seen(broker, lambda c: c["stopped"])
    ledger = server.ledger(TEST_API_KEY)
    assert 3 <= credits["estimated_used"] == credits["rest_used"] <= 5
    # Paused: the calls' turns come and go without a call, so nothing more is billed ...
    wait_until(lambda: source.paused)
    used, calls = ledger.used_month, source.calls
    assert used == bridge.meter.used()
    wait_until(lambda: source.skipped >= 3)
    assert (ledger.used_month, source.calls) == (used, calls)
    # ... and the rate goes stale: converted values are offline, not old.
    subscriber.wait_topic("cmc/fx/eur/status", "offline")
    info = retained(broker, "cmc/bridge/info", expect=lambda s: "budget" in s["cmc/bridge/info"])
    assert "streaming and the exchange-rate calls stopped" in info["cmc/bridge/info"]
    before = len(fx_statuses(subscriber))
    clock.now = dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=dt.UTC)
    # The month turns: the rate is asked for at once, and the converted values come back.
    wait_until(lambda: source.calls > calls, timeout=10)
    wait_until(lambda: "online" in fx_statuses(subscriber)[before:])
    assert ledger.used_month > used


def fx_statuses(subscriber: Subscriber) -> list[str]:
    return [p for t, p, _ in list(subscriber.messages) if t == "cmc/fx/eur/status"]
