"""Exchange rates: parsing, the keeper (bad, jumping and stale rates), and each source — the
simulator's REST over real sockets, a topic on a real mosquitto, a fixed number."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cmc_mqtt.extensions.rate_topic import RateTopic
from cmc_mqtt.model.fiats import BUNDLED_FIATS
from cmc_mqtt.money.rate import (
    FxSettings,
    RateError,
    RateKeeper,
    default_max_age,
    make_keeper,
    parse_rate,
    parse_rate_payload,
)
from cmc_mqtt.mqtt.extension import PublisherExtension
from cmc_mqtt.rest.client import Cancel, RestError
from cmc_mqtt.rest.fiats import CACHE_FILE, FiatDirectory
from cmc_mqtt.rest.paid import credit_count
from cmc_mqtt.rest.rates import CmcRateSource, fetch_rate, monthly_credits
from cmc_mqtt.simulator import FakeStreamServer, Limits
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY, Broker, Subscriber, free_port, wait_until

KEY = Secret(TEST_API_KEY)


class FakeClock:
    """The keeper's monotonic clock, turned by the test: ages without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api() -> Iterator[FakeStreamServer]:
    with FakeStreamServer(api_key=TEST_API_KEY, limits=Limits(rate_limit_minute=None)) as server:
        yield server


def warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and text in r.getMessage()
    ]


# --- parsing ---


@pytest.mark.parametrize(
    ("value", "rate"),
    [
        (0.92, "0.92"),
        (0.9200000000000002, "0.92"),  # a float's artefact is gone (12 significant digits)
        ("0.92", "0.92"),
        (" 155 ", "155"),
        (155, "155"),
        (Decimal("1.0869565217391304"), "1.08695652174"),
        ("1e3", "1000"),
        (b"0.92", "0.92"),
    ],
)
def test_rates_are_decimals_to_twelve_digits(value: object, rate: str) -> None:
    assert f"{parse_rate(value):f}" == rate


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("unavailable", "not a number"),  # what Home Assistant publishes for a missing state
        ("", "not a number"),
        ("NaN", "not a number"),
        (float("nan"), "not finite"),
        (float("inf"), "not finite"),
        (Decimal("Infinity"), "not finite"),
        (True, "not a number"),
        (None, "not a number"),
        ([0.92], "not a number"),
        (0, "not above 0"),
        ("-0.92", "not above 0"),
        ("1e400", "out of range"),
        (1e-9, "out of range"),
        ("0x10", "not a number"),
        ("1_000", "not a number"),
    ],
)
def test_what_cannot_be_a_rate_is_refused_by_kind(value: object, problem: str) -> None:
    with pytest.raises(RateError) as info:
        parse_rate(value)
    assert info.value.problem == problem


@pytest.mark.parametrize(
    ("payload", "key", "rate"),
    [
        (b"0.92", "rate", "0.92"),
        (b" 0.92\n", "rate", "0.92"),
        (b'{"rate": 0.92}', "rate", "0.92"),
        (b'{"rate": "0.92", "base": "USD"}', "rate", "0.92"),
        (b'{"eur": 0.9215783925671}', "eur", "0.921578392567"),
        (b'"0.92"', "rate", "0.92"),  # a JSON string
        (b"0.92000000000000001", "rate", "0.92"),
    ],
)
def test_topic_payloads(payload: bytes, key: str, rate: str) -> None:
    assert f"{parse_rate_payload(payload, key):f}" == rate


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"unknown", "not a number"),
        (b'{"rate": NaN}', "not a number"),
        (b'{"rate": true}', "not a number"),
        (b'{"value": 0.92}', "no rate in the JSON"),
        (b"[0.92]", "not a number"),
        (b'{"rate": -1}', "not above 0"),
        (b"[" * 10000, "not a number"),
    ],
)
def test_bad_topic_payloads(payload: bytes, problem: str) -> None:
    with pytest.raises(RateError) as info:
        parse_rate_payload(payload)
    assert info.value.problem == problem


# --- the keeper ---


def test_the_first_good_rate_is_taken_and_listeners_are_told(clock: FakeClock) -> None:
    keeper = RateKeeper("EUR", max_age=60, clock=clock)
    told: list[Decimal | None] = []
    keeper.add_listener(lambda: told.append(keeper.rate()))
    assert keeper.rate() is None
    assert keeper.is_stale()
    assert keeper.offer(0.92, "test")
    assert keeper.rate() == Decimal("0.92")
    assert told == [Decimal("0.92")]
    assert keeper.info() == {"currency": "EUR", "rate": "0.92", "source": "test", "age_s": 0,
                             "stale": False, "refused": 0}  # fmt: skip


@pytest.mark.parametrize(
    ("new", "taken"),
    [("1.104", True), ("0.736", True), ("1.105", False), ("0.735", False), ("9.2", False)],
)
def test_a_jump_of_more_than_20_percent_is_refused(new: str, taken: bool, clock: FakeClock) -> None:
    keeper = RateKeeper("EUR", max_age=60, clock=clock)
    keeper.offer("0.92", "test")
    assert keeper.offer(new, "test") is taken
    assert keeper.rate() == Decimal(new if taken else "0.92")


def test_each_kind_of_problem_is_logged_once_and_the_last_good_rate_stays(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    keeper = RateKeeper("EUR", max_age=60, confirmations=0, clock=clock)
    keeper.offer("0.92", "test")
    for bad in ("nope", "0", "-1", "nope", "0", "5", "6", "5"):
        assert not keeper.offer(bad, "test")
    assert keeper.rate() == Decimal("0.92")
    assert keeper.refused == 8
    refusals = warnings(caplog, "refused a EUR/USD rate")
    assert len(refusals) == 3  # not a number, not above 0, jump: each once
    assert "more than 20 % from the last good 0.92" in refusals[-1]


def test_a_new_level_is_taken_once_readings_in_a_row_agree(clock: FakeClock) -> None:
    keeper = RateKeeper("ARS", max_age=60, confirmations=3, clock=clock)
    keeper.offer("900", "test")
    assert not keeper.offer("1400", "test")  # a spike...
    assert keeper.offer("905", "test")  # ...that went away resets the count
    assert not keeper.offer("1400", "test")
    assert not keeper.offer("1410", "test")  # within 2 % of the one before: counts
    assert not keeper.offer("1500", "test")  # does not agree: starts again
    assert not keeper.offer("1500", "test")
    assert keeper.rate() == Decimal("905")
    assert keeper.offer("1505", "test")  # the third in a row
    assert keeper.rate() == Decimal("1505")


def test_a_rate_older_than_allowed_is_not_offered(clock: FakeClock) -> None:
    keeper = RateKeeper("EUR", max_age=60, clock=clock)
    keeper.offer("0.92", "test")
    clock.now += 60
    assert keeper.rate() == Decimal("0.92")
    assert keeper.age() == 60
    clock.now += 0.5
    assert keeper.is_stale()
    assert keeper.rate() is None
    last = keeper.last()
    assert last is not None
    assert last.value == Decimal("0.92")  # still known, for bridge/info
    assert keeper.info()["stale"] is True
    keeper.offer("0.93", "test")  # a fresh one brings it back
    assert keeper.rate() == Decimal("0.93")


def test_offers_from_several_threads_leave_one_consistent_rate(clock: FakeClock) -> None:
    keeper = RateKeeper("EUR", max_age=60, clock=clock)
    keeper.offer("0.90", "test")
    values = [f"0.{90 + i % 5}" for i in range(200)]

    def offer_all() -> None:
        for value in values:
            keeper.offer(value, "test")

    threads = [threading.Thread(target=offer_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert keeper.rate() == Decimal("0.94")
    assert keeper.refused == 0


# --- settings and the fixed source ---


def test_a_fixed_rate_is_there_at_once_and_never_stale(clock: FakeClock) -> None:
    keeper = make_keeper(FxSettings("EUR", "fixed", rate=Decimal("0.9")), clock)
    clock.now += 10 * 365 * 86400
    assert keeper.rate() == Decimal("0.9")


def test_usd_needs_no_rate(clock: FakeClock) -> None:
    keeper = make_keeper(FxSettings(), clock)
    assert keeper.rate() == 1
    assert monthly_credits(FxSettings()) == 0


def test_default_ages_and_credits() -> None:
    assert default_max_age("coinmarketcap", 900) == 2760
    assert default_max_age("mqtt") == 4 * 86400
    assert default_max_age("fixed") is None
    keeper = make_keeper(FxSettings("eur", "coinmarketcap", interval=900))
    assert (keeper.currency, keeper.max_age) == ("EUR", 2760)
    assert keeper.rate() is None  # until the first call
    # 2,880 calls in 30 days at one credit each, and the fiat map once.
    assert monthly_credits(FxSettings("EUR", interval=900)) == 2881
    assert monthly_credits(FxSettings("EUR", "mqtt", topic="fx/eur")) == 0


# --- CoinMarketCap over real sockets ---


def test_coinmarketcap_source_resolves_once_then_fetches_each_run(
    api: FakeStreamServer, tmp_path: Path, clock: FakeClock
) -> None:
    keeper = RateKeeper("EUR", max_age=2760, clock=clock)
    directory = FiatDirectory(tmp_path)
    source = CmcRateSource(keeper, directory, KEY, api.rest_url, timeout=5)
    source(Cancel())
    assert keeper.rate() == Decimal("0.92")  # the simulator's 1/(1/0.92), artefact gone
    assert api.ledger().used_month == 2  # the fiat map and one conversion
    assert (tmp_path / CACHE_FILE).is_file()

    api.fiat_rates["EUR"] = 0.95  # changed while it runs
    source(Cancel())
    assert keeper.rate() == Decimal("0.95")
    assert api.ledger().used_month == 3  # no second map

    # A restart finds the map in the cache: no credit for it.
    again = CmcRateSource(keeper, FiatDirectory(tmp_path), KEY, api.rest_url, timeout=5)
    api.fiat_rates["EUR"] = 0.5  # a jump: refused, the last good rate kept
    again(Cancel())
    assert keeper.rate() == Decimal("0.95")
    assert api.ledger().used_month == 4
    assert source.calls == 2


def test_fetch_rate_by_verified_id_or_by_code(api: FakeStreamServer) -> None:
    api.fiat_rates["JPY"] = 155.25
    assert BUNDLED_FIATS["EUR"].verified
    assert fetch_rate(KEY, api.rest_url, BUNDLED_FIATS["EUR"], timeout=5) == Decimal("0.92")
    assert not BUNDLED_FIATS["JPY"].verified  # never sent as an id
    assert fetch_rate(KEY, api.rest_url, BUNDLED_FIATS["JPY"], timeout=5) == Decimal("155.25")
    assert fetch_rate(KEY, api.rest_url, "gbp", timeout=5) == Decimal("0.79")


def test_an_unknown_code_is_not_a_rate(
    api: FakeStreamServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keeper = RateKeeper("XYZ", max_age=60)
    source = CmcRateSource(keeper, FiatDirectory(tmp_path), KEY, api.rest_url, timeout=5)
    source(Cancel())
    source(Cancel())
    assert keeper.rate() is None
    assert warnings(caplog, "XYZ is not in CoinMarketCap's fiat map")
    failures = warnings(caplog, "could not get the XYZ/USD rate from CoinMarketCap: HTTP 400")
    assert len(failures) == 1  # then quieter until it works again
    assert api.ledger().used_month == 1  # the map; refused conversions cost nothing


def test_without_the_map_the_bundled_table_is_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    directory = FiatDirectory(tmp_path)
    fiat = directory.resolve("eur", KEY, dead, timeout=2, cancel=None)
    assert fiat == BUNDLED_FIATS["EUR"]
    assert warnings(caplog, "could not fetch CoinMarketCap's fiat map (connection refused)")
    assert directory.resolve("XYZ", KEY, dead, timeout=2, cancel=None) is None
    assert not (tmp_path / CACHE_FILE).exists()


def test_a_failing_key_keeps_the_last_good_rate(api: FakeStreamServer, clock: FakeClock) -> None:
    keeper = RateKeeper("EUR", max_age=60, clock=clock)
    CmcRateSource(keeper, FiatDirectory(None), KEY, api.rest_url, timeout=5)(Cancel())
    bad = CmcRateSource(keeper, FiatDirectory(None), Secret("wrong"), api.rest_url, timeout=5)
    bad(Cancel())
    assert keeper.rate() == Decimal("0.92")
    clock.now += 61
    assert keeper.rate() is None  # and then it is stale


def test_a_cancelled_call_offers_nothing(api: FakeStreamServer) -> None:
    keeper = RateKeeper("EUR", max_age=60)
    cancel = Cancel()
    cancel.cancel()
    CmcRateSource(keeper, FiatDirectory(None), KEY, api.rest_url, timeout=5)(cancel)
    assert keeper.last() is None
    assert api.rest_requests == 0


def test_rest_errors_carry_the_status(api: FakeStreamServer) -> None:
    with pytest.raises(RestError) as info:
        fetch_rate(KEY, api.rest_url, "XYZ", timeout=5)
    assert info.value.status == 400


# --- a topic on a real mosquitto ---


class ClientOutbox:
    """A paho client standing in for the bridge's publisher: it drives one extension."""

    def __init__(self, broker: Broker, extension: PublisherExtension) -> None:
        self.extension = extension
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fx-{free_port()}")
        self.subscribed = threading.Event()
        self.connected = threading.Event()  # set once the extension's on_connected returned
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_connect(self, *_args: Any) -> None:
        self.extension.on_connected(self)
        self.connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.extension.on_message(msg.topic, msg.payload, bool(msg.retain), self)

    def publish(self, topic: str, payload: str, *, retain: bool = True) -> None:
        self.client.publish(topic, payload, retain=retain)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic)

    def unsubscribe(self, topic: str) -> None:
        self.client.unsubscribe(topic)

    def republish_state(self) -> None:
        return None

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_a_topic_source_reads_retained_and_new_rates(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = Subscriber(broker, "nothing/here")
    publisher.client.publish("home/fx/eur", "0.92", retain=True).wait_for_publish(5)
    keeper = RateKeeper("EUR", max_age=86400)
    outbox = ClientOutbox(broker, RateTopic("home/fx/eur", keeper))
    try:
        wait_until(lambda: keeper.rate() == Decimal("0.92"))  # the retained one, at once
        publisher.client.publish("home/fx/eur", '{"rate": 0.93}')
        wait_until(lambda: keeper.rate() == Decimal("0.93"))
        publisher.client.publish("home/fx/eur", "unavailable")
        publisher.client.publish("home/fx/eur", "")  # a cleared retained value: ignored
        publisher.client.publish("home/fx/other", "5")  # not ours
        publisher.client.publish("home/fx/eur", "0.94")
        wait_until(lambda: keeper.rate() == Decimal("0.94"))
        assert keeper.refused == 1
        assert warnings(caplog, "topic home/fx/eur: not a number: 'unavailable'")
    finally:
        outbox.close()
        publisher.close()


def test_an_inverted_topic_gives_usd_per_unit(broker: Broker) -> None:
    publisher = Subscriber(broker, "nothing/here")
    keeper = RateKeeper("EUR", max_age=86400)
    outbox = ClientOutbox(broker, RateTopic("fx/eurusd", keeper, key="v", inverted=True))
    try:
        assert outbox.subscribed.wait(10)
        publisher.client.publish("fx/eurusd", '{"v": 1.25}')
        wait_until(lambda: keeper.rate() == Decimal("0.8"))
    finally:
        outbox.close()
        publisher.close()


# --- credits: every call that may be billed is told, and the budget can pause the calls ---


def test_each_billed_call_is_told_as_the_simulator_bills_it(
    api: FakeStreamServer, tmp_path: Path
) -> None:
    spent: list[tuple[float, str]] = []
    keeper = RateKeeper("EUR", max_age=2760)
    source = CmcRateSource(
        keeper, FiatDirectory(tmp_path), KEY, api.rest_url, timeout=5,
        spend=lambda credits, kind: spent.append((credits, kind)),
    )  # fmt: skip
    source(Cancel())
    assert spent == [(1, "/v1/fiat/map"), (1, "/v2/tools/price-conversion")]
    assert sum(c for c, _ in spent) == api.ledger().used_month == 2
    source(Cancel())
    assert sum(c for c, _ in spent) == api.ledger().used_month == 3


def test_refused_calls_cost_nothing_and_unanswered_ones_are_counted(
    api: FakeStreamServer, tmp_path: Path
) -> None:
    spent: list[float] = []
    source = CmcRateSource(
        RateKeeper("XYZ", max_age=60), FiatDirectory(tmp_path), KEY, api.rest_url, timeout=5,
        spend=lambda credits, _kind: spent.append(credits),
    )  # fmt: skip
    source(Cancel())  # the map is billed; the conversion is refused with HTTP 400, not billed
    assert spent == [1]
    assert api.ledger().used_month == 1
    # No answer at all: CoinMarketCap may have billed the call before the answer was lost, so
    # it is counted (here nothing listens, so it was not: the count errs on the side of cost).
    dead = f"http://127.0.0.1:{free_port()}"
    lost: list[float] = []
    CmcRateSource(
        RateKeeper("EUR", max_age=60), FiatDirectory(None), KEY, dead, timeout=2,
        spend=lambda credits, _kind: lost.append(credits),
    )(Cancel())  # fmt: skip
    assert lost == [1, 1]  # the map, then the conversion asked by its bundled id
    cancel = Cancel()
    cancel.cancel()  # cancelled before it was sent: not billed, not counted
    CmcRateSource(
        RateKeeper("EUR", max_age=60), FiatDirectory(None), KEY, api.rest_url, timeout=5,
        spend=lambda credits, _kind: lost.append(credits),
    )(cancel)  # fmt: skip
    assert lost == [1, 1]


def test_the_answers_own_credit_count_is_taken_when_higher() -> None:
    assert credit_count({"status": {"credit_count": 3}}) == 3
    for body in ({"status": {"credit_count": None}}, {"status": {}}, [], {"status": True}):
        assert credit_count(body) == 0


def test_a_paused_source_makes_no_call_and_resumes_at_once(
    api: FakeStreamServer, tmp_path: Path
) -> None:
    keeper = RateKeeper("EUR", max_age=2760)
    soon: list[Any] = []
    source = CmcRateSource(
        keeper, FiatDirectory(tmp_path), KEY, api.rest_url, timeout=5, run_soon=soon.append
    )
    source.resume()  # not paused: nothing to do
    assert soon == []
    source.pause()
    source(Cancel())
    assert (source.calls, source.skipped, api.rest_requests) == (0, 1, 0)
    assert keeper.rate() is None
    source.resume()
    assert soon == [source]  # the worker runs it now, not an interval later
    source(Cancel())
    assert keeper.rate() == Decimal("0.92")
    assert api.ledger().used_month == 2
