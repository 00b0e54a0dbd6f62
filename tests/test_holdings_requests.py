"""Holdings set over MQTT (`<prefix>/bridge/request/holdings/set`), end to end against the
simulator, a real mosquitto and the state file; and how they meet the configuration's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.extensions.request_payloads import RequestError, parse_holdings
from cmc_mqtt.money.portfolio import Holdings
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.state.holding_set import HoldingSet
from cmc_mqtt.state.memory import StateFile
from cmc_mqtt.util.backoff import Backoff
from harness.helpers import Broker, retained, retained_json

from .conftest import FAST_TIMINGS, make_settings
from .test_bridge_requests import ADD, ask

Start = Callable[..., Bridge]
SET = "cmc/bridge/request/holdings/set"
VALUE_CONFIG = "homeassistant/sensor/cmc_mqtt/1_value_usd/config"
PORTFOLIO_VALUE = "cmc/portfolio/value_usd"
D = Decimal
ONE = Decimal(1)


@pytest.fixture
def start(broker: Broker, stream: FakeStreamServer, tmp_path: Path) -> Iterator[Start]:
    bridges: list[Bridge] = []

    def run(info_interval: float = 0.5, **sections: Any) -> Bridge:
        settings = make_settings(broker, stream, tmp_path / "cache", **sections)
        bridge = Bridge(
            settings, stream_timings=FAST_TIMINGS, mqtt_backoff=Backoff(0.05, 0.5),
            info_interval=info_interval,
        )  # fmt: skip
        bridges.append(bridge.start())
        retained(broker, "cmc/1/status")  # the request topics are subscribed by now
        return bridge

    yield run
    for bridge in bridges:
        bridge.stop()


def worth(seen: dict[str, str], cid: int, cur: str, amount: Decimal, rate: Decimal = ONE) -> bool:
    """Whether the retained value of `cid` is its USD price x rate x amount, rounded once."""
    price, value = seen.get(f"cmc/{cid}/p"), seen.get(f"cmc/{cid}/value_{cur}")
    if price is None or value is None:
        return False
    return D(value) == (D(price) * rate * amount).quantize(D("0.01"), ROUND_HALF_EVEN)


def info(broker: Broker, expect: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    return dict(retained_json(broker, "cmc/bridge/info", expect))


def test_a_holding_set_over_mqtt_is_valued_announced_and_remembered(
    start: Start, broker: Broker, tmp_path: Path
) -> None:
    bridge = start()
    answer = ask(broker, SET, json.dumps({"holdings": {"1": "0.5"}, "transaction": "h-1"}))
    assert answer == {"status": "ok", "data": {"holdings": {"1": "0.5"}}, "transaction": "h-1"}
    # The value is the exact price times the amount, rounded once (read until the two topics
    # come from the same frame).
    seen = retained(
        broker, "#", expect=lambda s: VALUE_CONFIG in s and worth(s, 1, "usd", D("0.5"))
    )
    assert "cmc/portfolio/value_usd" in seen
    assert json.loads(seen[VALUE_CONFIG])["state_topic"] == "cmc/1/value_usd"
    portfolio = info(broker, lambda i: i.get("portfolio", {}).get("holdings") == {"1": "0.5"})
    assert portfolio["portfolio"]["currency"] == "USD"
    assert bridge.memory.path is not None  # the configuration's own folder in the cache
    saved = json.loads(bridge.memory.path.read_text())
    assert saved["holdings"] == {"1": {"amount": "0.5", "configured": None}}

    bridge.stop()
    again = start()
    assert again.holdings.snapshot() == {1: D("0.5")}
    # Zero stops holding the coin: its value, its sensor and the portfolio leave the broker.
    answer = ask(broker, SET, json.dumps({"holdings": {"1": 0}}))
    assert answer == {"status": "ok", "data": {"holdings": {}}}
    retained(
        broker,
        "#",
        expect=lambda s: (
            not {"cmc/1/value_usd", VALUE_CONFIG, "cmc/portfolio/value_usd"} & s.keys()
        ),
    )


def test_a_coin_must_be_streamed_before_it_is_held(start: Start, broker: Broker) -> None:
    # bridge/info otherwise waits up to its interval: after a request it goes out at once.
    bridge = start(info_interval=3600)
    answer = ask(broker, SET, json.dumps({"holdings": {"52": 100, "1": 1}, "transaction": 3}))
    assert answer["status"] == "error"
    assert answer["error"] == "not streamed: 52 (add the coin first: coins/add)"
    assert answer["transaction"] == 3
    assert bridge.holdings.snapshot() == {}  # the whole request is refused
    assert ask(broker, ADD, json.dumps({"ids": [52]}))["status"] == "ok"
    answer = ask(broker, SET, json.dumps({"holdings": {"52": 100}}))
    assert answer == {"status": "ok", "data": {"holdings": {"52": "100"}}}
    retained(broker, "cmc/52/value_usd")
    seen = info(broker, lambda i: i["portfolio"]["holdings"] == {"52": "100"})
    assert seen["crypto_ids"] == [1, 1027, 52]


def test_a_holding_set_over_mqtt_is_valued_in_the_chosen_currency(
    start: Start, broker: Broker
) -> None:
    start(cmc={"currency": "EUR", "fx_source": "fixed", "fx_rate": 0.92})
    assert ask(broker, SET, json.dumps({"holdings": {"1027": 2}}))["status"] == "ok"
    retained(broker, "cmc/#", expect=lambda s: worth(s, 1027, "eur", D(2), rate=D("0.92")))
    retained(broker, "homeassistant/sensor/cmc_mqtt/1027_value_eur/config")


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ('{"holdings": []}', '"holdings" must be an object'),
        ('{"holdings": {}}', '"holdings" must be an object'),
        ('{"holdings": {"bitcoin": 1}}', "'bitcoin' is not a CoinMarketCap id"),
        ('{"holdings": {"0": 1}}', "'0' is not a CoinMarketCap id"),
        ('{"holdings": {"1": -1}}', "holdings.1: expected a number of coins from 0 up to 10"),
        ('{"holdings": {"1": "lots"}}', "holdings.1: expected a number of coins from 0"),
        ('{"holdings": {"1": true}}', "holdings.1: expected a number of coins from 0"),
        ('{"holdings": {"1": null}}', "holdings.1: expected a number of coins from 0"),
        ('{"holdings": {"1": "1e2000000"}}', "holdings.1: expected .* got '1e2000000'$"),
        ('{"holdings": {"1": 1e60}}', "holdings.1: expected .* got 1e[+]60$"),
        ('{"holdings": {"1": "0.1234567890123456789"}}', "holdings.1: .* at most 18 decimals"),
        ('{"holdings": {"1": NaN}}', "expected JSON"),
        ('{"holdings": {"99999999999999999999": 1}}', "'99999999999999999999' is not a"),
    ],
)
def test_parse_holdings_refuses_bad_payloads(payload: str, error: str) -> None:
    with pytest.raises(RequestError, match=f"^bad payload: {error}"):
        parse_holdings(payload.encode())


def test_parse_holdings_keeps_exact_amounts() -> None:
    amounts, transaction = parse_holdings(
        b'{"holdings": {"1": 0.1, "1027": "2.50"}, "transaction": "x"}'
    )
    assert amounts == {1: D("0.1"), 1027: D("2.50")}
    assert transaction == "x"


def test_a_bad_holdings_request_is_answered(start: Start, broker: Broker) -> None:
    bridge = start()
    answer = ask(broker, SET, '{"holdings": {"1": "lots"}, "transaction": "bad"}')
    assert answer["status"] == "error"
    assert answer["transaction"] == "bad"
    assert answer["error"].startswith("bad payload: holdings.1")
    assert bridge.holdings.snapshot() == {}


# --- the configuration's holdings and the ones set over MQTT ----------------------------------


def holding_set(tmp_path: Path, configured: dict[int, Decimal]) -> tuple[HoldingSet, Holdings]:
    holdings = Holdings()
    return HoldingSet(configured, StateFile(tmp_path), holdings, lambda: (1, 1027)), holdings


def test_an_amount_set_over_mqtt_wins_until_the_configuration_changes(tmp_path: Path) -> None:
    first, holdings = holding_set(tmp_path, {1: D("0.25"), 5: D(3)})
    assert holdings.snapshot() == {1: D("0.25")}  # coin 5 is not streamed
    seen: list[tuple[int, ...]] = []
    first.add_listener(seen.append)
    assert first.set({1: D("0.5"), 1027: D(2)}) == (1, 1027)
    assert seen == [(1, 1027)]
    assert first.set({1: D("0.50")}) == ()  # the same amount changes nothing
    assert holdings.snapshot() == {1: D("0.5"), 1027: D(2)}

    # A restart with the same configuration keeps what was set over MQTT.
    _, holdings = holding_set(tmp_path, {1: D("0.25"), 5: D(3)})
    assert holdings.snapshot() == {1: D("0.5"), 1027: D(2)}
    # The file's amount for coin 1 edited since: the user's newer word applies.
    edited, holdings = holding_set(tmp_path, {1: D("0.3")})
    assert holdings.snapshot() == {1: D("0.3"), 1027: D(2)}
    assert edited.report() == {"1": "0.3", "1027": "2"}
    saved = json.loads((tmp_path / "state.json").read_text())["holdings"]
    assert saved == {"1027": {"amount": "2", "configured": None}}


def test_zero_over_mqtt_stops_holding_a_configured_coin(tmp_path: Path) -> None:
    holdings_set, holdings = holding_set(tmp_path, {1: D("0.25")})
    holdings_set.set({1: D(0)})
    assert holdings.snapshot() == {}
    assert holding_set(tmp_path, {1: D("0.25")})[1].snapshot() == {}
