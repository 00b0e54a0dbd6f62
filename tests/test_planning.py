"""`cmc-mqtt check-config` says what a configuration will do: connections, coins left out,
credits, and the key's own allowance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmc_mqtt.cli import main
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import TEST_API_KEY


def write_config(tmp_path: Path, ids: list[int], extra: str = "", rest_url: str = "") -> Path:
    config = tmp_path / "config.toml"
    lookup = (
        f'lookup_names = true\nrest_url = "{rest_url}"\n' if rest_url else "lookup_names = false\n"
    )
    config.write_text(
        f'[cmc]\napi_key = "{TEST_API_KEY}"\ncrypto_ids = {json.dumps(ids)}\n{lookup}'
        f'cache_dir = "{tmp_path / "cache"}"\n{extra}'
    )
    config.chmod(0o600)
    return config


def check(config: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert TEST_API_KEY not in out
    return out.splitlines()


def test_more_coins_than_the_limits_allow_are_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = check(write_config(tmp_path, list(range(1, 1201))), capsys)
    assert "connections: 10 of at most 10, up to 100 coins each" in lines[1]
    left = [line for line in lines if line.startswith("limits:")]
    assert left == [
        "limits: 200 of 1200 coins do not fit (10 connections x 100 subscriptions) and are left "
        "out: 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, "
        "1015, 1016, 1017, 1018, 1019, 1020 and 180 more"
    ]
    assert any(
        line.startswith("credits: about 12,960,000 a month for 1000 coins") for line in lines
    )


def test_credits_beside_the_keys_allowance_and_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeStreamServer(api_key=TEST_API_KEY) as server:
        config = write_config(
            tmp_path, [1, 1027], "monthly_credit_budget = 20000\n", rest_url=server.rest_url
        )
        lines = check(config, capsys)
    assert (
        "credits: about 25,920 a month for 2 coins (2 pushed every ~5 s, 0 every ~15 s; "
        "0.025 credits per message, assumed)" in lines
    )
    assert "budget: 20,000 credits a month, OVER it (when passed: a warning)" in lines
    (key,) = [line for line in lines if line.startswith("key:")]
    assert key.startswith("key: 450,000 credits a month, 0 used, 450,000 left this month")
    assert f"(asked {server.rest_url}/v1/key/info, no credits; --offline does not ask)" in key


def test_coins_changed_over_mqtt_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "state.json").write_text(json.dumps({"added": [52], "removed": [1]}))
    lines = check(write_config(tmp_path, [1, 1027]), capsys)
    assert "coins: 2 configured, 1 added and 1 removed over MQTT: 2 streamed" in lines


def test_the_rate_from_coinmarketcap_is_priced_and_the_other_sources_are_free(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = check(write_config(tmp_path, [1], 'currency = "eur"\n'), capsys)
    # 2,880 quarter hours in 30 days, one credit each, and the fiat map's one.
    assert "currency: EUR from CoinMarketCap every 15 min, about 2,881 credits a month" in (
        " ".join(lines)
    )
    lines = check(write_config(tmp_path, [1], 'currency = "JPY"\nfx_interval = 90\n'), capsys)
    assert any(
        line.startswith("currency: JPY from CoinMarketCap every 90 s, about 28,801")
        for line in lines
    )
    fixed = 'currency = "EUR"\nfx_source = "fixed"\nfx_rate = 0.92\n'
    lines = check(write_config(tmp_path, [1], fixed), capsys)
    assert "currency: EUR at a fixed 0.92 per US dollar, no credits" in lines
    topic = 'currency = "EUR"\nfx_source = "mqtt"\nfx_topic = "home/eur"\n'
    lines = check(write_config(tmp_path, [1], topic), capsys)
    assert "currency: EUR from the MQTT topic home/eur, no credits" in lines
    assert not any(
        line.startswith("currency:") for line in check(write_config(tmp_path, [1]), capsys)
    )


def test_the_rates_credits_count_in_the_budgets_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two top coins cost about 25,920 credits a month: within 27,000 on their own ...
    lines = check(write_config(tmp_path, [1, 1027], "monthly_credit_budget = 27000\n"), capsys)
    assert "budget: 27,000 credits a month, within it (when passed: a warning)" in lines
    # ... but not with the rate from CoinMarketCap every 15 minutes.
    extra = 'monthly_credit_budget = 27000\ncurrency = "EUR"\n'
    lines = check(write_config(tmp_path, [1, 1027], extra), capsys)
    assert (
        "budget: 27,000 credits a month, OVER it with the stream and the rate together: about "
        "25,920 + 2,881 = 28,801 (when passed: a warning)"
    ) in lines
    extra = 'monthly_credit_budget = 30000\non_budget = "stop"\ncurrency = "EUR"\n'
    lines = check(write_config(tmp_path, [1, 1027], extra), capsys)
    assert (
        "budget: 30,000 credits a month, within it with the stream and the rate together: "
        "about 25,920 + 2,881 = 28,801 (when passed: streaming and the rate calls stop)"
    ) in lines
    # A rate from a topic costs nothing: the verdict is the stream's alone.
    extra = (
        'monthly_credit_budget = 27000\ncurrency = "EUR"\nfx_source = "mqtt"\nfx_topic = "a/b"\n'
    )
    lines = check(write_config(tmp_path, [1, 1027], extra), capsys)
    assert "budget: 27,000 credits a month, within it (when passed: a warning)" in lines
