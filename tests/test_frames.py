from __future__ import annotations

import json

import pytest

from cmc_mqtt.errors import FrameError
from cmc_mqtt.stream.frames import (
    CHANNEL,
    MAX_FRAME_BYTES,
    Ack,
    ErrorFrame,
    Pong,
    QuoteFrame,
    Welcome,
    parse_frame,
)
from harness.helpers import FIXTURES

SESSION = (FIXTURES / "stream-session.jsonl").read_text().splitlines()
ERRORS = (FIXTURES / "error-frames.jsonl").read_text().splitlines()


def data_frame(**fields: object) -> bytes:
    data = {"cid": 1, "p": 81187.93284788371, **fields}
    return json.dumps({"type": "data", "channel": CHANNEL, "data": data, "ts": 1}).encode()


def only(**fields: object) -> bytes:
    """A quote whose only field is the one given."""
    data = {"cid": 1, **fields}
    return json.dumps({"type": "data", "channel": CHANNEL, "data": data, "ts": 1}).encode()


def test_every_fixture_frame_parses_to_its_type() -> None:
    kinds = [type(parse_frame(line)).__name__ for line in SESSION]
    assert kinds[0] == "Welcome"
    assert kinds[1] == "Ack"
    assert kinds.count("QuoteFrame") == 30
    assert "Pong" in kinds


def test_documented_example_keeps_exact_number_text() -> None:
    frame = parse_frame(SESSION[2])
    assert isinstance(frame, QuoteFrame)
    assert frame.cid == 1
    assert frame.ts == 1778663880111
    assert frame.texts["p"] == "81187.93284788371"
    assert frame.texts["cs"] == "20028706"
    assert frame.texts["pall"] == "131301167.42003132"
    assert len(frame.texts) == 13


@pytest.mark.parametrize("text", ["0.00001234", "2.50", "-0.0", "131301167.42003132"])
def test_number_text_is_published_as_received(text: str) -> None:
    raw = f'{{"type":"data","channel":"{CHANNEL}","data":{{"cid":5,"p24h":{text}}}}}'
    frame = parse_frame(raw)
    assert isinstance(frame, QuoteFrame)
    assert frame.texts == {"p24h": text}


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("1E-7", "0.0000001"),
        ("1e+3", "1000"),
        ("1.626089237758E12", "1626089237758"),
        ("1.234e-05", "0.00001234"),
        ("0e-99999999", "0"),
    ],
)
def test_number_in_exponent_form_is_written_out_exactly(text: str, written: str) -> None:
    raw = f'{{"type":"data","channel":"{CHANNEL}","data":{{"cid":5,"vu":{text}}}}}'
    frame = parse_frame(raw)
    assert isinstance(frame, QuoteFrame)
    assert frame.texts == {"vu": written}


@pytest.mark.parametrize(
    ("field", "text", "why"),
    [
        ("p", "1e70", "above"),
        ("p", "1000000000001", "above"),
        ("mc", "1e19", "above"),
        ("cs", "1e31", "above"),
        ("p24h", "1e16", "above"),
        ("p24h", "-100.5", "below"),
        ("p", "1e-300", "digits written out"),
        ("p", "1e-99999999", "digits written out"),
        ("p", "1" * 41, "characters"),
        ("p", "0." + "0" * 60 + "1", "characters"),
    ],
)
def test_a_field_out_of_its_bounds_is_dropped_alone(field: str, text: str, why: str) -> None:
    raw = f'{{"type":"data","channel":"{CHANNEL}","data":{{"cid":5,"{field}":{text},"vu":7}}}}'
    frame = parse_frame(raw)
    assert isinstance(frame, QuoteFrame)
    assert frame.texts == {"vu": "7"}
    ((key, problem),) = frame.rejected
    assert key == field
    assert why in problem
    assert len(problem) < 100


def test_nulls_and_absent_fields_are_left_out() -> None:
    frame = parse_frame(data_frame(vu=None))
    assert isinstance(frame, QuoteFrame)
    assert set(frame.texts) == {"p"}


def test_unknown_data_keys_are_reported_not_fatal() -> None:
    frame = parse_frame(data_frame(newfield=1))
    assert isinstance(frame, QuoteFrame)
    assert frame.unknown_keys == ("newfield",)


def test_control_frames() -> None:
    assert parse_frame('{"type":"welcome","ping_interval_ms":10000}') == Welcome(10000)
    assert parse_frame('{"type":"welcome"}') == Welcome(10000)
    assert parse_frame('{"type":"welcome","ping_interval_ms":5}') == Welcome(1000)
    ack = parse_frame(SESSION[1])
    assert ack == Ack(1, 0, "ok", 1, 100, False)
    dup = parse_frame('{"type":"ack","id":2,"code":0,"duplicate":true}')
    assert isinstance(dup, Ack)
    assert dup.duplicate
    assert parse_frame('{"type":"pong","id":5,"code":0,"ts":7}') == Pong(5, 7)


def test_error_frames_keep_code_as_string() -> None:
    frames = [parse_frame(line) for line in ERRORS]
    assert all(isinstance(f, ErrorFrame) for f in frames)
    assert [f.code for f in frames if isinstance(f, ErrorFrame)] == ["2401", "1001", "2303", "5001"]


HOSTILE: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("not json", b"hello"),
    ("truncated", SESSION[2][:60].encode()),
    ("invalid utf-8", b'{"type":"data","x":"\xff\xfe"}'),
    ("array", b"[1,2,3]"),
    ("string", b'"data"'),
    ("number", b"42"),
    ("null", b"null"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
    ("deep nesting small", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("too large", b'{"type":"data","pad":"' + b"x" * MAX_FRAME_BYTES + b'"}'),
    ("no type", b'{"channel":"x"}'),
    ("unknown type", b'{"type":"surprise"}'),
    ("type not string", b'{"type":7}'),
    ("wrong channel", b'{"type":"data","channel":"other","data":{"cid":1,"p":1}}'),
    ("no data", data_frame()[:0] + f'{{"type":"data","channel":"{CHANNEL}"}}'.encode()),
    ("data not object", f'{{"type":"data","channel":"{CHANNEL}","data":[1]}}'.encode()),
    ("missing cid", f'{{"type":"data","channel":"{CHANNEL}","data":{{"p":1}}}}'.encode()),
    ("cid string", data_frame(cid="1")),
    ("cid float", data_frame(cid=1.0)),
    ("cid bool", data_frame(cid=True)),
    ("cid zero", data_frame(cid=0)),
    ("cid negative", data_frame(cid=-1)),
    ("cid huge", data_frame(cid=2**40)),
    ("price string", only(p="81187.9")),
    ("price bool", only(p=True)),
    ("price list", only(p=[1])),
    ("price object", only(p={"v": 1})),
    ("price NaN", data_frame()[:-1].replace(b"81187.93284788371", b"NaN") + b"}"),
    ("price Infinity", data_frame().replace(b"81187.93284788371", b"Infinity")),
    ("price -Infinity", data_frame().replace(b"81187.93284788371", b"-Infinity")),
    ("price 1e400", data_frame().replace(b"81187.93284788371", b"1e400")),
    ("price huge int", data_frame().replace(b"81187.93284788371", b"1" + b"0" * 400)),
    ("price negative", only(p=-5.0)),
    ("volume negative", only(vu=-1)),
    ("change below -100", only(p24h=-100.5)),
]


@pytest.mark.parametrize(
    ("payload", "rejected"),
    [
        (data_frame(mc=-5), ("mc", "= -5 is below 0")),
        (data_frame(vu="12"), ("vu", "is a str, not a number")),
        (data_frame(p24h=-100.5), ("p24h", "= -100.5 is below -100")),
        (data_frame(cs=True), ("cs", "is a bool, not a number")),
    ],
)
def test_an_implausible_field_is_dropped_and_the_others_kept(
    payload: bytes, rejected: tuple[str, str]
) -> None:
    frame = parse_frame(payload)
    assert isinstance(frame, QuoteFrame)
    assert frame.texts == {"p": "81187.93284788371"}
    assert frame.rejected == (rejected,)


@pytest.mark.parametrize(("case", "payload"), HOSTILE, ids=[c for c, _ in HOSTILE])
def test_hostile_frames_raise_frame_error(case: str, payload: bytes) -> None:
    with pytest.raises(FrameError):
        parse_frame(payload)


def test_duplicate_keys_take_the_last_and_still_validate() -> None:
    raw = f'{{"type":"data","channel":"{CHANNEL}","data":{{"cid":1,"p":5,"p":"bad"}}}}'
    with pytest.raises(FrameError):
        parse_frame(raw)
