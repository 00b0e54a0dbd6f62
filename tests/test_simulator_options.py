"""The options `cmc-mqtt simulate` takes: every limit and price, 'none' for unlimited,
`--no-limits`, and one line naming a bad value."""

from __future__ import annotations

import argparse

import pytest

from cmc_mqtt.simulator import Limits, add_simulator_arguments, server_from_arguments
from cmc_mqtt.simulator.limits import NO_SUB_LIMIT
from cmc_mqtt.simulator.options import limits_from_arguments

from .test_simulator import rest_get


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="simulate")
    add_simulator_arguments(parser)
    return parser.parse_args(list(argv))


def test_without_options_the_limits_are_the_documented_ones() -> None:
    assert limits_from_arguments(parse()) == Limits()


def test_every_limit_and_price_has_an_option() -> None:
    args = parse(
        "--sub-limit", "50", "--count-subscriptions-per", "request", "--max-connections", "none",
        "--monthly-credits", "1000", "--daily-credits", "40", "--credits-per-message", "0.5",
        "--credits-per-subscription", "0.1", "--rate-limit-minute", "unlimited",
    )  # fmt: skip
    assert limits_from_arguments(args) == Limits(
        sub_limit=50, counting="request", max_connections=None, monthly_credits=1000,
        daily_credits=40, credits_per_message=0.5, credits_per_subscription=0.1,
        rate_limit_minute=None,
    )  # fmt: skip


def test_no_limits_lifts_every_limit_but_what_is_given() -> None:
    assert limits_from_arguments(parse("--no-limits")) == Limits.off()
    limits = limits_from_arguments(parse("--no-limits", "--max-connections", "3"))
    assert (limits.sub_limit, limits.max_connections, limits.monthly_credits) == (
        NO_SUB_LIMIT, 3, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--sub-limit", "0"], "--sub-limit"),
        (["--sub-limit", "none"], "--sub-limit"),
        (["--max-connections", "many"], "--max-connections"),
        (["--monthly-credits", "-5"], "--monthly-credits"),
        (["--credits-per-message", "-0.1"], "--credits-per-message"),
        (["--count-subscriptions-per", "coin"], "--count-subscriptions-per"),
        (["--coins", "btc"], "expected ids like 1,1027"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_option(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    assert named in capsys.readouterr().err


def test_the_server_is_built_as_the_options_say() -> None:
    args = parse(
        "--port", "0", "--api-key", "k", "--coins", "1,1027", "--fast", "0.5", "--flood", "7",
        "--rest-delay", "0.01", "--sub-limit", "5", "--monthly-credits", "10",
    )  # fmt: skip
    server = server_from_arguments(args)
    try:
        assert (server.api_key, server.coins, server.fast_interval) == ("k", {1, 1027}, 0.5)
        assert (server.behaviour.flood_frames, server.behaviour.rest_delay) == (7, 0.01)
        assert (server.limits.sub_limit, server.limits.monthly_credits) == (5, 10)
        server.start()
        status, body = rest_get(server, "/v1/key/info", key="k")
        assert (status, body["data"]["plan"]["credit_limit_monthly"]) == (200, 10)
    finally:
        server.stop()
