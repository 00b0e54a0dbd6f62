"""The sweep clears money topics this run no longer publishes: another currency's, a portfolio
without holdings, values of coins no longer held, and chart apps of a clock without charts."""

from __future__ import annotations

from collections.abc import Callable

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import Broker, Subscriber, retained, wait_until

from .test_currency_e2e import BTC, ETH, FIXED_EUR, publish

StartBridge = Callable[..., Bridge]


def test_a_changed_currency_and_dropped_holdings_leave_no_old_topics(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer, subscriber: Subscriber
) -> None:
    stream.behaviour.push_data = False
    first = start_bridge(cmc=FIXED_EUR, coins={"1": {"holdings": 1}, "1027": {"holdings": 1}})
    stream.wait_subscribed()
    stream.send_quote(BTC)
    stream.send_quote(ETH)
    before = retained(broker, "cmc/#", lambda last: "cmc/portfolio/json" in last)
    assert {"cmc/1/p_eur", "cmc/1/value_eur", "cmc/fx/eur/rate"} <= set(before)
    first.stop()
    # Another currency, and Ethereum no longer streamed: none of its euro topics may stay.
    gbp = {"currency": "GBP", "fx_source": "fixed", "fx_rate": 0.79, "crypto_ids": [1]}
    second = start_bridge(cmc=gbp, coins={"1": {"holdings": 2}})
    wait_until(lambda: second.sweep.done)
    stream.send_quote(BTC)

    def eur(topics: dict[str, str]) -> list[str]:
        return [t for t in topics if t.endswith("_eur") or "/fx/eur/" in t]

    # Waits (with a deadline) until the sweep's clearing has reached the broker.
    after = retained(broker, "cmc/#", lambda last: "cmc/1/value_gbp" in last and not eur(last))
    assert not [t for t in after if t.startswith("cmc/1027/")]
    assert after["cmc/fx/gbp/rate"] == "0.79"
    assert "cmc/1/p_gbp" in after
    second.stop()
    third = start_bridge()  # USD, nothing held: no rate, no portfolio, no values
    wait_until(lambda: third.sweep.done)

    def money(topics: dict[str, str]) -> list[str]:
        return [t for t in topics if "_gbp" in t or "/fx/" in t or "/portfolio/" in t]

    retained(broker, "cmc/#", lambda last: "cmc/1/status" in last and not money(last))


def test_chart_apps_of_a_clock_without_charts_are_cleared(
    broker: Broker, start_bridge: StartBridge, stream: FakeStreamServer
) -> None:
    publish(broker, "clock1/custom/cmc_1_chart", '{"line":[1,2]}')
    publish(broker, "clock1/custom/cmc_5_chart", '{"line":[1,2]}')
    publish(broker, "clock1/custom/cmc_1", '{"text":"BTC"}')
    publish(broker, "clock2/custom/cmc_1_chart", '{"line":[1,2]}')
    clocks = [{"prefix": "clock1"}, {"prefix": "clock2", "chart_points": 8}]
    bridge = start_bridge(awtrix=clocks)
    wait_until(lambda: bridge.sweep.done)
    cleared = ("clock1/custom/cmc_1_chart", "clock1/custom/cmc_5_chart")
    left = retained(broker, "+/custom/#", lambda last: not set(cleared) & set(last))
    assert "clock1/custom/cmc_1" in left  # the coin's own app stays
    assert "clock2/custom/cmc_1_chart" in left  # this clock shows charts
