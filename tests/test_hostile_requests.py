"""Requests from a hostile client on the same broker (real mosquitto, the simulator): each action
rate-limited, a flood survived with prices flowing, no request left retained, ids that cannot be
verified refused, every subscription's credits counted and checked before a request spends."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.extensions.ratelimit import ALLOWANCES, Allowance, RequestLimiter
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.limits import Limits
from cmc_mqtt.util.backoff import Backoff
from harness.helpers import (
    TEST_API_KEY,
    Broker,
    Subscriber,
    free_port,
    retained,
    retained_json,
    wait_until,
)

from .conftest import FAST_TIMINGS, make_settings
from .test_bridge_requests import ADD, RECONNECT, REMOVE, REPUBLISH, ask

Start = Callable[..., Bridge]


@pytest.fixture
def start(broker: Broker, stream: FakeStreamServer, tmp_path: Path) -> Iterator[Start]:
    bridges: list[Bridge] = []

    def run(
        server: FakeStreamServer = stream, limiter: RequestLimiter | None = None, **sections: Any
    ) -> Bridge:
        sections.setdefault("cmc", {})
        sections["cmc"] = {"rest_url": server.rest_url, **sections["cmc"]}
        settings = make_settings(broker, server, tmp_path / "cache", **sections)
        bridge = Bridge(
            settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5),
            info_interval=0.5, request_limiter=limiter,
        )  # fmt: skip
        bridges.append(bridge.start())
        retained(broker, "cmc/1/status")  # the request subscriptions are in place
        return bridge

    yield run
    for bridge in bridges:
        bridge.stop()


def publisher(broker: Broker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hostile-{free_port()}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_each_action_is_rate_limited_and_says_when_to_retry(start: Start, broker: Broker) -> None:
    start()
    assert ask(broker, RECONNECT, "{}")["status"] == "ok"
    answer = ask(broker, RECONNECT, json.dumps({"transaction": "again"}))
    assert answer["status"] == "error"
    assert answer["transaction"] == "again"
    prefix, _, seconds = answer["error"].rpartition(" in ")
    assert prefix == "rate limited: retry"
    assert 1 <= int(seconds.removesuffix(" s")) <= 30
    info = retained_json(broker, "cmc/bridge/info", lambda i: i["rate_limited_requests"] >= 1)
    assert info["refused_requests"] >= 1


def test_a_flood_of_requests_keeps_prices_flowing_and_the_log_quiet(
    start: Start, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    start()
    prices = Subscriber(broker, "cmc/1/p")
    answers = Subscriber(broker, "cmc/bridge/response/#")
    client = publisher(broker)
    try:
        prices.wait_topic("cmc/1/p")
        caplog.clear()
        sent, started = 0, time.monotonic()
        while time.monotonic() - started < 3.0:
            for topic in (REPUBLISH, RECONNECT, ADD, REMOVE):
                client.publish(topic, '{"ids": [52], "transaction": "f"}', qos=0)
                sent += 1
            if sent % 400 == 0:
                time.sleep(0.01)  # about a thousand a second, as a busy client would
        before = len(prices.messages)
        wait_until(lambda: len(prices.messages) >= before + 3, timeout=10)  # prices go on

        def all_counted(info: dict[str, Any]) -> bool:
            return int(info["refused_requests"]) >= sent - 40

        info = retained_json(broker, "cmc/bridge/info", all_counted, timeout=20)
    finally:
        client.loop_stop()
        client.disconnect()
        prices.close()
        answers.close()
    assert sent >= 1000
    assert info["rate_limited_requests"] >= sent - 40
    # Answers are capped (a burst, then about 20 a second), not one per request.
    assert len(answers.messages) < 20 + 20 * (time.monotonic() - started) + 30
    # A line per kind of refusal and per allowed request (bounded by the allowances), never
    # one per request.
    ours = [r for r in caplog.records if r.name.startswith("cmc_mqtt") and r.levelno >= 20]
    assert len(ours) < 60, [r.getMessage() for r in ours]
    about_requests = [r for r in ours if r.name == "cmc_mqtt.extensions.requests"]
    assert len(about_requests) < 10, [r.getMessage() for r in about_requests]


def test_a_request_published_retained_while_online_runs_once_and_is_cleared(
    start: Start, broker: Broker, stream: FakeStreamServer
) -> None:
    bridge = start()
    answers = Subscriber(broker, "cmc/bridge/response/coins/add")
    client = publisher(broker)
    try:
        client.publish(ADD, json.dumps({"ids": [52]}), qos=1, retain=True).wait_for_publish(5)
        answer = json.loads(answers.wait_topic("cmc/bridge/response/coins/add", timeout=15))
        assert answer["status"] == "ok"
        assert bridge.state.crypto_ids == (1, 1027, 52)
        retained(broker, "cmc/bridge/request/#", expect=lambda s: ADD not in s)
    finally:
        client.loop_stop()
        client.disconnect()
    bridge.stop()
    count = len(answers.messages)
    again = start()
    assert again.state.crypto_ids == (1, 1027, 52)
    retained(broker, "cmc/52/p")
    time.sleep(0.5)  # a request still on the broker would have been answered by now
    assert len(answers.messages) == count
    answers.close()


def test_an_id_that_cannot_be_verified_now_is_refused(
    start: Start, broker: Broker, stream: FakeStreamServer
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: CoinMarketCap is down
    bridge = start(cmc={"lookup_names": True, "rest_url": closed})
    answer = ask(broker, ADD, json.dumps({"ids": [52], "transaction": 1}))
    assert answer["status"] == "error"
    assert answer["error"].startswith("cannot verify now: CoinMarketCap's coin map did not answer")
    assert answer["error"].endswith("nothing was added")
    assert bridge.state.crypto_ids == (1, 1027)
    assert not any(52 in c.subscribed for c in stream.live)


def test_a_refused_transaction_is_echoed_cut_short(start: Start, broker: Broker) -> None:
    start()
    answer = ask(broker, ADD, json.dumps({"ids": [52], "transaction": "x" * 100}))
    assert answer["status"] == "error"
    assert answer["error"].startswith("bad payload: transaction must be")
    assert answer["transaction"] == "x" * 64


def test_every_subscription_is_counted_and_a_reconnect_or_add_past_the_budget_refused(
    start: Start, broker: Broker
) -> None:
    limits = Limits(credits_per_message=0, credits_per_subscription=1)
    with FakeStreamServer(api_key=TEST_API_KEY, fast_interval=0.2, limits=limits) as server:
        prices = {"credits_per_message": 0, "credits_per_subscription": 1}
        # Allowances out of the way: this is about credits, not about how often.
        quick = RequestLimiter({action: Allowance(10, 0.01) for action in ALLOWANCES})
        bridge = start(server, quick, cmc={**prices, "monthly_credit_budget": 10})
        server.wait_subscribed()
        for _ in range(3):  # each add subscribes one more coin: a credit each
            assert ask(broker, ADD, json.dumps({"ids": [52]}))["status"] == "ok"
            assert ask(broker, REMOVE, json.dumps({"ids": [52]}))["status"] == "ok"
        assert ask(broker, RECONNECT, "{}")["status"] == "ok"  # two coins again: 2 credits
        server.wait_for(lambda: server.ledger().used_month >= 7)
        billed = server.ledger().used_month
        assert billed == 7  # 2 at start, 3 adds, 2 on reconnecting

        def counted(credits: dict[str, Any]) -> bool:
            return credits["estimated_used"] == billed

        credits = retained_json(broker, "cmc/bridge/credits", counted, timeout=20)
        assert credits["stream_used"] == billed
        assert bridge.meter.used() == billed
        for _ in range(2):
            assert ask(broker, ADD, json.dumps({"ids": [52]}))["status"] == "ok"
            assert ask(broker, REMOVE, json.dumps({"ids": [52]}))["status"] == "ok"
        wait_until(lambda: bridge.meter.used() == 9, timeout=10)
        wait_until(lambda: server.ledger().used_month == 9, timeout=10)
        # With 9 used, resubscribing two coins would pass the budget of 10.
        refused = ask(broker, RECONNECT, "{}")
        assert refused["status"] == "error"
        assert refused["error"].startswith("over budget: resubscribing 2 coins")
        # Nor is a coin added: its subscription would reach the budget (the month's estimate,
        # 3 coins subscribed once, would not; add and remove again and again would pass it).
        added = ask(broker, ADD, json.dumps({"ids": [52]}))
        assert added["status"] == "error"
        assert added["error"].startswith("over budget: subscribing 1 coin costs about 1.0")
        assert bridge.state.crypto_ids == (1, 1027)
        assert server.ledger().used_month == 9


def test_the_log_says_each_kind_of_refusal_once(
    start: Start, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    start()
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        ask(broker, ADD, '{"ids": "x"}')
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.msg]
    assert len(warnings) == 1
