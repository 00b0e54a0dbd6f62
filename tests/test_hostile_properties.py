"""Property-based tests of every input a stranger controls: stream frames, requests over MQTT,
exchange rates from a topic, and amounts through the valuation. Random and hostile inputs never
crash, never publish outside the prefix, never exceed the payload bound, and never leave a
status saying `online` over a value that is not there."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmc_mqtt.errors import FrameError
from cmc_mqtt.extensions.ratelimit import RequestLimiter
from cmc_mqtt.extensions.request_payloads import (
    MAX_TRANSACTION_CHARS,
    RequestError,
    parse_command,
    parse_holdings,
    parse_request,
    parse_switch,
    transaction_of,
)
from cmc_mqtt.extensions.requests import BridgeRequests
from cmc_mqtt.model.bounds import HOLDING_PLACES, MAX_HOLDING
from cmc_mqtt.model.fields import FIELDS, FIELDS_BY_KEY
from cmc_mqtt.model.topics import Topics
from cmc_mqtt.money.currency import CURRENCIES
from cmc_mqtt.money.portfolio import Holdings
from cmc_mqtt.money.rate import MAX_RATE, MIN_RATE, RateError, parse_rate_payload
from cmc_mqtt.money.valuation import valuation_messages
from cmc_mqtt.mqtt.publisher import MAX_PAYLOAD_BYTES
from cmc_mqtt.state.bridge_state import BridgeState
from cmc_mqtt.state.coin_set import CoinSet
from cmc_mqtt.state.holding_set import HoldingSet
from cmc_mqtt.state.memory import StateFile
from cmc_mqtt.stream.frames import CHANNEL, MAX_FIELD_TEXT, QuoteFrame, parse_frame
from cmc_mqtt.stream.pool import StreamPool
from cmc_mqtt.util.secret import Secret

QUICK = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PREFIX = "cmc"

#: Numbers as a hostile server or client would write them: huge, tiny, negative, in exponent
#: form, with absurd digit counts, as text, as booleans.
NUMBER_TEXTS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.builds(
        lambda m, e: f"{m}e{e}",
        st.integers(min_value=-(10**6), max_value=10**6),
        st.integers(min_value=-(10**6), max_value=10**6),
    ),
    st.sampled_from(["1e70", "0e-99999999", "1e-300", "-0.0", "1" * 60, "0." + "0" * 50 + "1"]),
)
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def quote_frame_text(fields: dict[str, str], cid: str) -> str:
    data = "".join(f',"{key}":{value}' for key, value in fields.items())
    return f'{{"type":"data","channel":"{CHANNEL}","data":{{"cid":{cid}{data}}}}}'


def outcome(call: Callable[[], Any], error: type[Exception]) -> tuple[Any, str | None]:
    """(the result, None), or (None, the refusal's text) when `call` raised `error`."""
    try:
        return call(), None
    except error as exc:
        return None, str(exc)


def one_short_line(text: str) -> bool:
    return "\n" not in text and len(text) < 250


# --- stream frames ------------------------------------------------------------------------------


@QUICK
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_are_a_frame_or_a_frame_error(payload: bytes) -> None:
    _, refused = outcome(lambda: parse_frame(payload), FrameError)
    assert refused is None or one_short_line(refused)


@QUICK
@given(
    st.dictionaries(st.sampled_from([f.key for f in FIELDS]), NUMBER_TEXTS, max_size=13),
    st.one_of(st.integers(min_value=-5, max_value=2**32).map(str), st.sampled_from(['"1"', "1.0"])),
)
def test_a_quote_carries_only_bounded_plain_numbers(fields: dict[str, str], cid: str) -> None:
    try:
        frame = parse_frame(quote_frame_text(fields, cid))
    except FrameError:
        return
    assert isinstance(frame, QuoteFrame)
    assert 0 < frame.cid < 2**31
    for key, text in frame.texts.items():
        field = FIELDS_BY_KEY[key]
        assert len(text) <= MAX_FIELD_TEXT
        assert "e" not in text.lower()
        number = float(text)
        assert math.isfinite(number)
        assert field.maximum >= number >= (field.minimum or 0.0)
        assert Decimal(text) == Decimal(fields[key])  # the same number, exactly


@QUICK
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=5),
            st.dictionaries(st.sampled_from([f.key for f in FIELDS]), NUMBER_TEXTS, max_size=13),
        ),
        max_size=20,
    )
)
def test_what_frames_publish_stays_under_the_prefix_and_bounded(
    quotes: list[tuple[int, dict[str, str]]],
) -> None:
    state = BridgeState([1, 2, 3], Topics(PREFIX))
    for cid, fields in quotes:
        try:
            frame = parse_frame(quote_frame_text(fields, str(cid)))
        except FrameError:
            continue
        assert isinstance(frame, QuoteFrame)
        state.apply_quote(frame)
    for topic, payload in state.take_pending(max_coins=10_000):
        assert topic.startswith(f"{PREFIX}/")
        data = payload if isinstance(payload, bytes) else payload.encode()
        assert len(data) < 2048
        if topic.endswith("/json"):
            json.loads(payload, parse_constant=_refuse)  # valid JSON, no NaN


def _refuse(name: str) -> Any:
    raise AssertionError(f"{name} in a payload")


# --- rates from a topic -------------------------------------------------------------------------


@QUICK
@given(
    st.one_of(
        NUMBER_TEXTS.map(str.encode),
        st.binary(max_size=100),
        JSON_VALUES.map(lambda v: json.dumps({"rate": v}).encode()),
    )
)
def test_a_rate_payload_is_a_bounded_rate_or_refused(payload: bytes) -> None:
    rate, refused = outcome(lambda: parse_rate_payload(payload), RateError)
    if refused is not None:
        assert one_short_line(refused)
        return
    assert MIN_RATE <= rate <= MAX_RATE


# --- requests -------------------------------------------------------------------------------------


def holdings_payload(amounts: dict[str, str]) -> bytes:
    """A holdings request with these amounts written as they are (not as JSON would)."""
    body = ",".join(f"{json.dumps(key)}:{value}" for key, value in amounts.items())
    return ('{"holdings":{' + body + "}}").encode()


PARSERS: list[Callable[[bytes], Any]] = [parse_request, parse_holdings, parse_command, parse_switch]


@QUICK
@given(
    st.sampled_from(PARSERS),
    st.one_of(
        st.binary(max_size=200),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(
            st.sampled_from(["ids", "holdings", "transaction", "enabled"]), JSON_VALUES, max_size=4
        ).map(lambda d: json.dumps(d).encode()),
        st.dictionaries(st.text(max_size=12), NUMBER_TEXTS, max_size=5).map(
            lambda d: (
                '{"holdings":{' + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}}"
            ).encode()
        ),
    ),
)
def test_a_request_is_bounded_or_refused_in_one_line(
    parse: Callable[[bytes], Any], payload: bytes
) -> None:
    result, refused = outcome(lambda: parse(payload), RequestError)
    if refused is not None:
        assert one_short_line(refused)
        found = transaction_of(payload)
        assert found is None or len(str(found)) <= MAX_TRANSACTION_CHARS
        return
    if parse is parse_holdings:
        amounts, _ = result
        for cid, amount in amounts.items():
            assert 0 < cid < 2**31
            assert 0 <= amount <= MAX_HOLDING
            assert -amount.normalize().as_tuple().exponent <= HOLDING_PLACES  # type: ignore[operator]


class Recorder:
    """An Outbox that keeps what the extension published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, bool]] = []

    def publish(self, topic: str, payload: str, *, retain: bool = True) -> None:
        self.published.append((topic, payload, retain))

    def subscribe(self, topic: str) -> None:
        return None

    def unsubscribe(self, topic: str) -> None:
        return None

    def republish_state(self) -> None:
        return None


@pytest.fixture
def requests_extension(tmp_path: Path) -> tuple[BridgeRequests, list[tuple[str, str]], Recorder]:
    state = BridgeState([1, 1027], Topics(PREFIX))
    memory = StateFile(tmp_path)
    pool = StreamPool(
        "ws://127.0.0.1:9", Secret("k"), [1, 1027], state, set_online=state.set_stream_online
    )
    coins = CoinSet([1, 1027], memory, state, pool)
    holdings = HoldingSet({}, memory, Holdings(), lambda: state.crypto_ids)
    posted: list[tuple[str, str]] = []
    extension = BridgeRequests(
        Topics(PREFIX),
        coins,
        state,
        run_later=lambda job: job(_NoCancel()),  # type: ignore[arg-type]
        post=lambda topic, payload: posted.append((topic, payload)),
        republish=lambda: None,
        reconnect=lambda: 1,
        holdings=holdings,
        discovery=lambda enabled: enabled,
        limiter=RequestLimiter(),
    )
    return extension, posted, Recorder()


class _NoCancel:
    cancelled = False


ACTIONS = ["coins/add", "coins/remove", "holdings/set", "republish", "reconnect", "discovery/set"]


@QUICK
@given(
    st.lists(
        st.tuples(
            st.sampled_from(ACTIONS) | st.text(max_size=10),
            st.one_of(
                st.binary(max_size=100),
                JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                st.sampled_from(
                    [
                        b'{"ids":[52]}',
                        b'{"holdings":{"1":"1e2000000"}}',
                        b'{"enabled":false}',
                        b"{}",
                    ]
                ),
            ),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_requests_answer_only_under_the_prefix_and_change_only_what_they_may(
    requests_extension: tuple[BridgeRequests, list[tuple[str, str]], Recorder],
    messages: list[tuple[str, bytes, bool]],
) -> None:
    extension, posted, out = requests_extension
    posted.clear()
    for action, payload, retained in messages:
        extension.on_message(f"{PREFIX}/bridge/request/{action}", payload, retained, out)
    extension.tick(0.0, out)
    for topic, payload in posted:
        assert topic.startswith(f"{PREFIX}/bridge/response/")
        answer = json.loads(payload)
        assert answer["status"] in ("ok", "error")
        assert len(payload) < MAX_PAYLOAD_BYTES
    for topic, payload, retain in out.published:
        assert topic.startswith(f"{PREFIX}/bridge/request/")
        assert (payload, retain) == ("", True)  # the only thing it publishes: clearing requests


# --- the valuation --------------------------------------------------------------------------------


@QUICK
@given(
    st.dictionaries(
        st.integers(min_value=1, max_value=4),
        st.dictionaries(st.sampled_from(["p", "vu", "mc", "p24h"]), NUMBER_TEXTS, max_size=4),
        max_size=4,
    ),
    st.dictionaries(
        st.integers(min_value=1, max_value=4),
        st.decimals(min_value=0, max_value=MAX_HOLDING, places=HOLDING_PLACES),
        max_size=4,
    ),
    st.decimals(min_value=MIN_RATE, max_value=MAX_RATE, places=6),
    st.sampled_from(["EUR", "JPY", "KWD", "USD"]),
)
def test_no_status_says_online_over_a_value_that_is_not_there(
    texts: dict[int, dict[str, str]],
    holdings: dict[int, Decimal],
    rate: Decimal,
    code: str,
) -> None:
    currency = CURRENCIES[code]
    rate = Decimal(1) if code == "USD" else rate
    sent = dict(valuation_messages(PREFIX, currency, rate, holdings, texts))
    cur = code.lower()
    for topic, payload in sent.items():
        assert topic.startswith(f"{PREFIX}/")
        assert len(payload.encode()) < MAX_PAYLOAD_BYTES
        if topic.endswith(f"/status_{cur}") and payload == "online":
            cid = int(topic.split("/")[1])
            if holdings.get(cid):
                assert f"{PREFIX}/{cid}/value_{cur}" in sent
    if sent.get(f"{PREFIX}/portfolio/status") == "online":
        assert f"{PREFIX}/portfolio/value_{cur}" in sent
        for cid, amount in holdings.items():
            if amount:
                assert sent.get(f"{PREFIX}/{cid}/status_{cur}") == "online"
