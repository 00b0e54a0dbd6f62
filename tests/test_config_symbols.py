"""`crypto_ids = ["btc"]`: symbols read as the id of the coin they name, from the config's own
names, the bundled table or this configuration's cached CoinMarketCap map; anything else
refused with the ids it might have meant."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.commands.coin_lookup import cached_symbols
from cmc_mqtt.config import Settings, load_settings, parse_settings
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.rest.names import CACHE_FILE, CoinDirectory
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.state.identity import memory_path
from cmc_mqtt.util.jsonfile import write_json_atomically
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY


def ids(crypto_ids: list[Any], **more: Any) -> tuple[int, ...]:
    raw = {"cmc": {"api_key": TEST_API_KEY, "crypto_ids": crypto_ids}, **more}
    return parse_settings(raw, environ={}).stream.crypto_ids


def problems(crypto_ids: list[Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        ids(crypto_ids)
    return info.value.problems


def test_bundled_symbols_are_their_ids_in_any_case_beside_ids() -> None:
    assert ids(["btc", "ETH", 52, "1027", "Doge"]) == (1, 1027, 52, 74)
    assert ids(["BTC", 1]) == (1,)  # the same coin twice is streamed once


def test_an_unknown_symbol_is_refused_with_what_it_might_have_meant() -> None:
    assert problems(["bitcoin"]) == [
        "cmc.crypto_ids[0]: 'bitcoin' is not a symbol known here (did you mean BTC, id 1?): give "
        "the coin's id (its CoinMarketCap page shows it); only the bundled coins' symbols and "
        "those CoinMarketCap named in earlier runs are known"
    ]
    (line,) = problems([1, "zzqx"])
    assert line.startswith("cmc.crypto_ids[1]: 'zzqx' is not a symbol known here: give")


def test_an_unknown_symbol_is_reported_with_the_other_problems() -> None:
    raw = {"cmc": {"crypto_ids": ["btcc"]}, "mqtt": {"port": 0}}
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, environ={})
    keys = [line.partition(":")[0] for line in info.value.problems]
    assert keys == ["mqtt.port", "cmc.api_key", "cmc.crypto_ids[0]"]


def test_the_configs_own_coin_names_are_symbols_too() -> None:
    coins = {"12345": {"name": "Mine", "symbol": "MINE"}}
    assert ids(["mine", "btc"], coins=coins) == (12345, 1)
    # The config's own name wins over the bundled table's.
    assert ids(["btc"], coins={"99": {"symbol": "BTC"}}) == (99,)


def test_symbols_in_the_environment(tmp_path: Path) -> None:
    env = {"CMC_API_KEY": TEST_API_KEY, "CMC_MQTT_CMC_CRYPTO_IDS": "btc, eth,52"}
    assert load_settings(tmp_path / "none.toml", env).stream.crypto_ids == (1, 1027, 52)
    env["CMC_MQTT_CMC_CRYPTO_IDS"] = '["sol", 2010]'
    assert load_settings(tmp_path / "none.toml", env).stream.crypto_ids == (5426, 2010)
    env["CMC_MQTT_CMC_CRYPTO_IDS"] = "btc,nope"
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "none.toml", env)
    (line,) = info.value.problems
    assert line.startswith(
        "CMC_MQTT_CMC_CRYPTO_IDS (cmc.crypto_ids[1]): 'nope' is not a symbol known here"
    )


def write_config(tmp_path: Path, server: FakeStreamServer, crypto_ids: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[cmc]\napi_key = "{TEST_API_KEY}"\nurl = "{server.url}"\nrest_url = "{server.rest_url}"\n'
        f'crypto_ids = {crypto_ids}\ncache_dir = "{tmp_path / "cache"}"\n'
    )
    path.chmod(0o600)
    return path


def cache_names(settings: Settings, server: FakeStreamServer, coin_ids: list[int]) -> None:
    """What a run does at start-up: the names of its coins from the map, cached."""
    folder = memory_path(settings)
    assert folder is not None
    folder.mkdir(parents=True)
    names = CoinDirectory({}, folder)
    assert names.refresh(Secret(TEST_API_KEY), server.rest_url, coin_ids, timeout=10)
    assert (folder / CACHE_FILE).exists()


def test_a_symbol_in_the_cached_map_of_this_configuration(tmp_path: Path) -> None:
    with FakeStreamServer(api_key=TEST_API_KEY) as server:
        earlier = load_settings(write_config(tmp_path, server, "[42, 1]"), {})
        cache_names(earlier, server, [42])
        path = write_config(tmp_path, server, '["sim42", "btc"]')
        found = load_settings(path, {}, coin_symbols=cached_symbols)
        assert found.stream.crypto_ids == (42, 1)
        with pytest.raises(ConfigError) as info:  # without the cache: the bundled table only
            load_settings(path, {})
        assert info.value.problems[0].startswith("cmc.crypto_ids[0]: 'sim42' is not a symbol")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CMC_")}
        checked = subprocess.run(
            [sys.executable, "-m", "cmc_mqtt", "check-config", "--config", str(path), "--offline"],
            capture_output=True, text=True, timeout=60, check=False, env=env,
        )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert f"{path}: OK (2 coins," in checked.stdout


def test_a_symbol_of_two_cached_coins_is_refused_naming_both(tmp_path: Path) -> None:
    with FakeStreamServer(api_key=TEST_API_KEY) as server:
        draft = load_settings(write_config(tmp_path, server, "[1]"), {})
        folder = memory_path(draft)
        assert folder is not None
        coins = [
            {"id": 2682, "name": "Holo", "symbol": "HOT", "slug": "holo", "rank": 150},
            {"id": 2777, "name": "Hydro", "symbol": "HOT", "slug": "hydro", "rank": 900},
        ]
        write_json_atomically(folder / CACHE_FILE, {"saved": 0, "coins": coins})
        with pytest.raises(ConfigError) as info:
            load_settings(
                write_config(tmp_path, server, '["hot"]'), {}, coin_symbols=cached_symbols
            )
    assert info.value.problems == [
        "cmc.crypto_ids[0]: 'hot' is the symbol of several coins: 2682 (Holo), 2777 (Hydro); "
        "give the id"
    ]


def test_no_cache_or_an_unreadable_one_knows_no_symbols(tmp_path: Path) -> None:
    with FakeStreamServer(api_key=TEST_API_KEY) as server:
        settings = load_settings(write_config(tmp_path, server, "[1]"), {})
        assert cached_symbols(settings) == {}
        folder = memory_path(settings)
        assert folder is not None
        folder.mkdir(parents=True)
        (folder / CACHE_FILE).write_text("{not json")
        assert cached_symbols(settings) == {}
        assert (folder / CACHE_FILE).read_text() == "{not json"  # read, never set aside
