"""Property-based: whatever the memory files hold, loading them never fails, never yields a
value out of bounds, and what is written back is valid JSON without NaN that reads back the
same, without a word."""

from __future__ import annotations

import json
import logging
import math
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmc_mqtt.model.bounds import HOLDING_PLACES, MAX_HOLDING
from cmc_mqtt.model.coins import HIDDEN_CATEGORIES, MAX_COIN_ID, MAX_NAME, MAX_SYMBOL
from cmc_mqtt.rest.fiats import FiatDirectory
from cmc_mqtt.rest.names import CoinDirectory
from cmc_mqtt.state.memory import MAX_CREDITS, MAX_IDS, MAX_SHARDS, StateFile

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Numbers as a hostile file writes them: any size, NaN and the infinities included.
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**80), max_value=10**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 10**12, 1e12, 1e12 + 1, 1e308]),
)
texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["1", "0.5", "1e2000000", "1E+3", "-1", "NaN", "2026-12", "2026-13", " 7 "]),
    st.text(alphabet="\x85\u2028\u202e\u200d\ud800 aZ09.", max_size=12),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.one_of(texts, st.just("1")), inner)
    ),
    max_leaves=30,
)
ids = st.one_of(st.integers(min_value=-5, max_value=2**32), scalars)
state_like = st.fixed_dictionaries(
    {},
    optional={
        "added": st.one_of(st.lists(ids, max_size=8), json_values),
        "removed": st.one_of(st.lists(ids, max_size=8), json_values),
        "layout": st.one_of(st.lists(st.lists(ids, max_size=5), max_size=4), json_values),
        "holdings": st.one_of(
            st.dictionaries(
                st.one_of(st.integers(-3, 2**32).map(str), texts),
                st.one_of(
                    st.fixed_dictionaries(
                        {"amount": st.one_of(texts, numbers)},
                        optional={"configured": st.one_of(st.none(), texts, numbers)},
                    ),
                    json_values,
                ),
                max_size=5,
            ),
            json_values,
        ),
        "usage": st.one_of(
            st.fixed_dictionaries(
                {"month": texts, "credits": st.one_of(numbers, texts)},
                optional={"rest": st.one_of(numbers, texts)},
            ),
            json_values,
        ),
        "other": json_values,
    },
)
coins_like = st.fixed_dictionaries(
    {"coins": st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {"id": ids, "name": st.one_of(texts, scalars), "symbol": st.one_of(texts, scalars)},
                optional={"slug": texts, "rank": ids},
            ),
            max_size=6,
        ),
        json_values,
    )},
)  # fmt: skip
fiats_like = st.fixed_dictionaries(
    {"fiats": st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {"id": ids, "symbol": st.one_of(texts, st.sampled_from(["EUR", "usd", "ÄÖÜ"]))},
                optional={"name": texts, "sign": texts},
            ),
            max_size=6,
        ),
        json_values,
    )},
)  # fmt: skip


def as_file(value: Any) -> bytes:
    """`value` as a careless or hostile writer would put it on disk: NaN as NaN, surrogates
    escaped."""
    return json.dumps(value, allow_nan=True).encode()


contents = {
    "state.json": st.one_of(state_like.map(as_file), json_values.map(as_file), st.binary()),
    "coins.json": st.one_of(coins_like.map(as_file), json_values.map(as_file), st.binary()),
    "fiats.json": st.one_of(fiats_like.map(as_file), json_values.map(as_file), st.binary()),
}


@contextmanager
def folder_with(name: str, content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / name).write_bytes(content)
        yield folder


def strict(path: Path) -> Any:
    """The file as strict JSON: a NaN or an infinity in it fails the test."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} written to {path.name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def is_id(value: Any) -> bool:
    return type(value) is int and 0 < value <= MAX_COIN_ID


def warnings_while(action: Any) -> list[str]:
    """The warnings `action()` logs (hypothesis cannot share pytest's caplog between examples)."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                seen.append(record.getMessage())

    handler = Collect()
    logging.getLogger("cmc_mqtt").addHandler(handler)
    try:
        action()
    finally:
        logging.getLogger("cmc_mqtt").removeHandler(handler)
    return seen


def check_state(memory: StateFile) -> None:
    added, removed = memory.coin_changes()
    for listed in (added, removed):
        assert len(listed) <= MAX_IDS
        assert all(is_id(cid) for cid in listed)
    layout = memory.layout()
    assert len(layout) <= MAX_SHARDS
    assert sum(len(shard) for shard in layout) <= MAX_IDS
    assert all(is_id(cid) for shard in layout for cid in shard)
    for cid, (amount, configured) in memory.holding_changes().items():
        assert is_id(cid)
        for text in (amount, configured):
            if text is None:
                continue
            number = Decimal(text)
            assert number.is_finite()
            assert 0 <= number <= MAX_HOLDING
            assert -number.as_tuple().exponent <= HOLDING_PLACES  # type: ignore[operator]
    month, credits, rest = memory.month_usage()
    assert math.isfinite(credits)
    assert math.isfinite(rest)
    assert 0 <= rest <= credits <= MAX_CREDITS
    assert month is None or (len(month) == 7 and month[4] == "-")


@SETTINGS
@given(contents["state.json"])
def test_any_state_file_loads_within_bounds_and_is_saved_back_as_strict_json(
    content: bytes,
) -> None:
    with folder_with("state.json", content) as folder:
        memory = StateFile(folder)
        check_state(memory)
        path = folder / "state.json"
        if path.exists():  # kept as it was, or what was valid in it saved again
            strict(path)
            again: list[StateFile] = []
            assert warnings_while(lambda: again.append(StateFile(folder))) == []
            assert again[0].coin_changes() == memory.coin_changes()
            assert again[0].holding_changes() == memory.holding_changes()
            assert again[0].layout() == memory.layout()
            assert again[0].month_usage() == memory.month_usage()


@SETTINGS
@given(
    content=contents["state.json"],
    added=st.lists(ids, max_size=5),
    holdings=st.dictionaries(st.integers(-2, 2**32), st.tuples(texts, st.none() | texts)),
    credits=numbers,
    rest=numbers,
)
def test_whatever_the_bridge_asks_to_keep_only_bounded_values_are_written(
    content: bytes, added: list[Any], holdings: dict[int, Any], credits: Any, rest: Any
) -> None:
    with folder_with("state.json", content) as folder:
        memory = StateFile(folder)
        memory.set_coin_changes(added, added)
        memory.set_layout([tuple(added)])
        memory.set_holding_changes(holdings)
        memory.set_month_usage("2026-12", credits, rest)
        check_state(memory)
        if (folder / "state.json").exists():
            strict(folder / "state.json")
            check_state(StateFile(folder))


def visible(text: str) -> bool:
    return not any(unicodedata.category(c) in HIDDEN_CATEGORIES for c in text)


@SETTINGS
@given(contents["coins.json"])
def test_any_name_cache_loads_visible_bounded_names(content: bytes) -> None:
    with folder_with("coins.json", content) as folder:
        names = CoinDirectory({}, folder)
        for cid in (0, 1, 2, 5, 2**31 - 1, 2**31):
            coin = names.get(cid)
            assert visible(coin.name)
            assert visible(coin.symbol)
            assert 0 < len(coin.name) <= MAX_NAME
            assert 0 < len(coin.symbol) <= MAX_SYMBOL
            assert coin.rank is None or is_id(coin.rank)
        if (folder / "coins.json").exists():
            cached = strict(folder / "coins.json")
            assert all(is_id(entry["id"]) for entry in cached.get("coins", []))


@SETTINGS
@given(contents["fiats.json"])
def test_any_fiat_cache_loads_real_fiats_only(content: bytes) -> None:
    with folder_with("fiats.json", content) as folder:
        fiats = FiatDirectory(folder)
        for code in ("EUR", "USD", "ÄÖÜ", ""):
            fiat = fiats.known(code)
            if fiat is not None:
                assert is_id(fiat.id)
                assert fiat.code.isascii()
                assert fiat.code.isalpha()
                assert visible(fiat.name)
                assert visible(fiat.sign)
        if (folder / "fiats.json").exists():
            strict(folder / "fiats.json")
