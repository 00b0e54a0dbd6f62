"""`<prefix>/bridge/names`: the streamed coins' names, for whoever names coins without discovery
(the custom integration). Real bridge, the simulator's REST map, mosquitto."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cmc_mqtt.bridge import Bridge
from cmc_mqtt.model.coins import HIDDEN_CATEGORIES
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.state.identity import memory_path
from harness.helpers import Broker, retained, retained_json

from .conftest import make_settings
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


HIDDEN = "\x85\u2028\u2029\u202e\u200d\ufeff\u00ad"


def test_hidden_characters_in_names_reach_no_payload(
    broker: Broker, start_bridge: Callable[..., Bridge], stream: FakeStreamServer, tmp_path: Path
) -> None:
    """From the cache file (the configuration refuses them), through a real bridge:
    bridge/names, discovery, the text topics, every retained payload."""
    sections: dict[str, Any] = {
        "cmc": {"crypto_ids": [1, 777, 888]},
        "coins": {"777": {"name": "My Token", "symbol": "MT"}},
    }
    folder = memory_path(make_settings(broker, stream, tmp_path / "cache", **sections))
    assert folder is not None
    folder.mkdir(parents=True)
    cached = [
        {"id": 888, "name": f"Ðoge{HIDDEN}coin", "symbol": f"Ð{HIDDEN}", "slug": "d"},
        {"id": 777, "name": f"Not{HIDDEN} this", "symbol": "NT"},  # the configuration's wins
    ]
    (folder / "coins.json").write_text(json.dumps({"coins": cached}))
    start_bridge(**sections)
    names = names_seen(broker, lambda n: "888" in n and "777" in n)
    assert names["777"] == {"name": "My Token", "symbol": "MT"}
    assert names["888"] == {"name": "Ðogecoin", "symbol": "Ð", "slug": "d"}
    seen = retained(broker, "#", lambda s: "homeassistant/sensor/cmc_mqtt/888_p/config" in s)
    config = json.loads(seen["homeassistant/sensor/cmc_mqtt/888_p/config"])
    assert config["device"]["name"] == "Ðogecoin (Ð)"
    assert config["default_entity_id"] == "sensor.dogecoin_d_price"
    for topic, payload in seen.items():
        try:  # JSON could hide a character as an escape
            text = json.dumps(json.loads(payload), ensure_ascii=False)
        except ValueError:
            text = payload
        assert not any(unicodedata.category(c) in HIDDEN_CATEGORIES for c in text), topic
