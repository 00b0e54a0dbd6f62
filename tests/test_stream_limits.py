"""The key's limits as the pool learns them from the server's answers, without sockets; the same
rules against the simulator's enforced limits are in test_pool.py."""

from __future__ import annotations

import pytest

from cmc_mqtt.stream.limits import PER_REQUEST_IDS, KeyLimits, Limits


@pytest.mark.parametrize(
    ("sub_limit", "per_request", "replan", "limits"),
    [
        pytest.param(100, False, False, Limits(100, 10), id="as-documented"),
        pytest.param(None, None, False, Limits(100, 10), id="an-ack-without-limits"),
        pytest.param(1000, False, True, Limits(1000, 10), id="a-larger-plan"),
        pytest.param(40, False, True, Limits(40, 10), id="a-smaller-plan"),
        pytest.param(100, True, True, Limits(PER_REQUEST_IDS, 10), id="counted-per-request"),
    ],
)
def test_an_ack_reveals_the_limits(
    sub_limit: int | None, per_request: bool | None, replan: bool, limits: Limits
) -> None:
    key = KeyLimits(10)
    assert key.acked(sub_limit, per_request) is replan
    assert key.current == limits
    assert key.heard is (sub_limit is not None)


@pytest.mark.parametrize(
    ("held", "refused", "limit", "cap"),
    [
        pytest.param(30, 70, 40, 40, id="the-limit-the-error-names"),
        pytest.param(30, 70, None, 30, id="else-what-the-connection-holds"),
        pytest.param(0, 70, None, 35, id="else-half-of-what-was-asked"),
        pytest.param(0, 1, None, 1, id="never-below-one"),
        pytest.param(0, 500, None, 100, id="never-above-what-was-known"),
    ],
)
def test_a_refused_subscribe_shrinks_the_connection(
    held: int, refused: int, limit: int | None, cap: int
) -> None:
    key = KeyLimits(10)
    key.subscribe_refused(held, refused, limit)
    assert key.current == Limits(cap, 10)


def test_fewer_connections_and_the_words_for_the_limits() -> None:
    key = KeyLimits(10)
    assert key.describe() == (
        "10 connections x 100 subscriptions as documented, until the server's acks say more"
    )
    key.fewer_connections(3)
    key.acked(100, None)
    assert key.current == Limits(100, 3)
    assert key.describe() == "3 connections x 100 subscriptions"
