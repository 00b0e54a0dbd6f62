"""`<prefix>/bridge/names`: the streamed coins' names, for whoever names coins without discovery
(the custom integration). Real bridge, the simulator's REST map, mosquitto."""

from __future__ import annotations

import json
from collections.abc import Callable

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import Broker, retained_json

from .test_bridge_requests import ADD, ask

NAMES = "cmc/bridge/names"
BTC = {"name": "Bitcoin", "symbol": "BTC", "slug": "bitcoin"}


Names = dict[str, dict[str, str]]


def names_seen(broker: Broker, expect: Callable[[Names], bool]) -> Names:
    return dict(retained_json(broker, NAMES, expect))


def test_names_from_the_map_and_the_config_follow_the_coins(
    broker: Broker, start_bridge: Callable[..., Bridge], stream: FakeStreamServer
) -> None:
    start_bridge(
        cmc={"crypto_ids": [1, 4242, 777], "lookup_names": True, "rest_url": stream.rest_url},
        coins={"777": {"name": "My Token", "symbol": "MINE"}},
    )
    names = names_seen(broker, lambda n: "4242" in n)
    assert names == {
        "1": BTC,
        "4242": {"name": "Simulated Coin 4242", "symbol": "SIM4242", "slug": "simulated-coin-4242"},
        "777": {"name": "My Token", "symbol": "MINE"},
    }
    assert ask(broker, ADD, json.dumps({"ids": [52]}))["status"] == "ok"
    names = names_seen(broker, lambda n: "52" in n)
    assert names["52"] == {"name": "XRP", "symbol": "XRP", "slug": "xrp"}


def test_a_coin_without_a_known_name_is_left_out(
    broker: Broker, start_bridge: Callable[..., Bridge], stream: FakeStreamServer
) -> None:
    start_bridge(cmc={"crypto_ids": [1, 4242]})  # no lookup: 4242 is only "CMC #4242"
    assert names_seen(broker, bool) == {
        "1": {"name": "Bitcoin", "symbol": "BTC", "slug": "bitcoin"}
    }
