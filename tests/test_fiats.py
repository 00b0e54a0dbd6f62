"""The one fiat table (`model.fiats`): complete rows, unique ids and codes, the verified ids as
documented; the bridge falls back on it and the simulator serves it as CoinMarketCap would."""

from __future__ import annotations

import re

from cmc_mqtt.model.fiats import BUNDLED_FIATS, USD_ID
from cmc_mqtt.rest.fiats import FiatDirectory
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.catalog import DEFAULT_FIAT_RATES

from .test_simulator import rest_get

#: Seen in CoinMarketCap's documentation or in clients of it.
DOCUMENTED_IDS = {"USD": 2781, "AUD": 2782, "BRL": 2783, "EUR": 2790, "GBP": 2791}


def test_every_row_is_complete_and_unique() -> None:
    fiats = list(BUNDLED_FIATS.values())
    assert len({f.id for f in fiats}) == len(fiats)
    for code, fiat in BUNDLED_FIATS.items():
        assert code == fiat.code
        assert re.fullmatch("[A-Z]{3}", code)
        assert fiat.name.strip() == fiat.name != ""
        assert fiat.sign.strip() == fiat.sign != ""
    assert BUNDLED_FIATS["USD"].id == USD_ID


def test_only_the_documented_ids_are_verified() -> None:
    verified = {code: f.id for code, f in BUNDLED_FIATS.items() if f.verified}
    assert verified == DOCUMENTED_IDS


def test_without_a_map_the_bridge_knows_the_table() -> None:
    directory = FiatDirectory(None)  # no cache, nothing fetched
    assert directory.known(" chf ") is BUNDLED_FIATS["CHF"]
    assert directory.known("XYZ") is None


def test_the_simulator_serves_the_table_in_coinmarketcaps_shape() -> None:
    with FakeStreamServer() as server:
        status, body = rest_get(server, "/v1/fiat/map", key="k")
    assert status == 200
    served = body["data"]
    assert [e["id"] for e in served] == sorted(f.id for f in BUNDLED_FIATS.values())
    for entry in served:
        assert set(entry) == {"id", "name", "sign", "symbol"}  # nothing of what only we know
        fiat = BUNDLED_FIATS[entry["symbol"]]
        assert (entry["id"], entry["name"], entry["sign"]) == (fiat.id, fiat.name, fiat.sign)


def test_the_simulator_has_a_rate_for_every_fiat_it_lists() -> None:
    assert set(DEFAULT_FIAT_RATES) == set(BUNDLED_FIATS)
