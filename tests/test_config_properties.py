"""Property-based tests of every way a configuration comes in: TOML-shaped values, TOML text,
environment variables and the add-on's options.json. Whatever is thrown at them, the only
outcome but settings is a `ConfigError` (an `AddonError` for the add-on) whose lines each name
a key on one short line and never repeat the key; and what passes is within the documented
bounds."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import string
import tempfile
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cmc_mqtt import addon
from cmc_mqtt.config import (
    Settings,
    addon_options,
    keys,
    load_settings,
    parse_settings,
    schema,
    validators,
)
from cmc_mqtt.config.env import sections
from cmc_mqtt.config.toml_text import to_toml
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.model import bounds
from cmc_mqtt.model.coins import MAX_COIN_ID
from cmc_mqtt.money.rate import RATE_DIGITS
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY

#: A few seconds per property on a busy 2-core machine; no example database left behind.
FEW = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
T = TypeVar("T")
MINIMAL: dict[str, Any] = {"cmc": {"api_key": TEST_API_KEY, "crypto_ids": [1, 1027]}}
MISSING = Path("/nonexistent/cmc-mqtt.toml")
OPTIONS = sorted(
    (section.name, option, section.shape)
    for section in sections().values()
    for option in section.options
)

# --- values ----------------------------------------------------------------------------------

#: Text with everything a hostile hand can type: controls, line breaks, bidi overrides, joiners,
#: lone surrogates (os.environ holds undecodable bytes as those), noncharacters.
HOSTILE_TEXT = [
    "", " ", "a\r\nX-Injected: 1", "\x00", "\x85", "\u2028", "\u202e", "\u200d", "\ufeff",
    "\ud800", "\udcff", "\ufffe", "١٨٨٣", "²", "1e2000000", "NaN", "-0", "cmc/#", "$SYS", "x" * 300,
    "é" * 40, "{price}", "{a\nb}", "1_000", "0x10", " 1883 ", "true",
]  # fmt: skip
any_text = st.text(st.characters(exclude_categories=()), max_size=40) | st.sampled_from(
    HOSTILE_TEXT
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 1883, 65535, 65536, 2**31, 2**63, 10**300, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e-9, 1e-400, 19001.9, 1e60, 1e308, 0.1]),
)
scalars = st.one_of(st.booleans(), numbers, any_text, st.none())


def nested(leaves: st.SearchStrategy[Any], keys: st.SearchStrategy[str]) -> Any:
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=8,
    )


#: Values an option may well take, so that accepted configs are checked against the bounds too.
plausible = st.one_of(
    st.integers(min_value=-5, max_value=70000),
    st.floats(min_value=0, max_value=1e5),
    st.text(string.ascii_letters + string.digits + "/_-", min_size=1, max_size=12),
    st.booleans(),
    st.sampled_from([[1, 1027], ["p", "p24h"], "0.25", "EUR", "fixed", "changed", "device"]),
)
toml_values = plausible | nested(scalars.filter(lambda v: v is not None), any_text)
json_values = nested(scalars, any_text)
#: What JSON carries (options.json with NaN is refused as a whole: see the last property).
finite_json = nested(
    st.one_of(
        st.booleans(),
        st.none(),
        any_text,
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([0, 1883, 65536, 2**31, 10**300, 19001.9, 1e-400, 1e60, 1e308, 0.1]),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    any_text,
)


def deeply(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


# --- what every refusal must look like ---------------------------------------------------------


def assert_lines(lines: list[str], secrets: tuple[str, ...] = ()) -> None:
    assert lines, "a refusal says why"
    for line in lines:
        assert isinstance(line, str)
        assert len(line.splitlines()) == 1, line
        assert line.isprintable(), line
        assert len(line) <= validators.MAX_LINE_CHARS, line
        key, sep, message = line.partition(": ")
        assert sep, line
        assert key, line
        assert message, line
        for secret in secrets:
            assert secret not in line, "a key is never repeated"


def secrets_in(raw: Any) -> tuple[str, ...]:
    """The key and password texts of a raw config (long enough not to appear by chance)."""
    found = [TEST_API_KEY]
    if isinstance(raw, dict):
        for section, key in schema.SECRET_KEYS:
            table = raw.get(section)
            value = table.get(key) if isinstance(table, dict) else None
            if isinstance(value, str) and len(value.strip()) >= 12:
                found.append(value.strip())
    return tuple(found)


# --- what every accepted config must hold ----------------------------------------------------


def assert_within_bounds(s: Settings) -> None:
    assert type(s.mqtt.port) is int
    assert 1 <= s.mqtt.port <= 65535
    assert all(type(i) is int and 1 <= i <= MAX_COIN_ID for i in s.stream.crypto_ids)
    assert keys.key_problem(s.stream.api_key.reveal()) is None
    assert len(s.mqtt.topic_prefix.encode()) <= validators.MAX_PREFIX_BYTES
    assert len(s.homeassistant.discovery_prefix.encode()) <= validators.MAX_PREFIX_BYTES
    assert len(s.homeassistant.status_topic.encode()) <= validators.MAX_TOPIC_BYTES
    assert len(s.mqtt.host) <= validators.MAX_HOST_CHARS
    assert len(s.text.template) <= validators.MAX_TEMPLATE_CHARS
    for clock in s.awtrix:
        assert len(clock.template) <= validators.MAX_TEMPLATE_CHARS
        assert len(clock.prefix.encode()) <= validators.MAX_PREFIX_BYTES
    for coin, amount in s.holdings.items():
        assert 1 <= coin <= MAX_COIN_ID
        assert_amount(amount, Decimal(0), bounds.MAX_HOLDING, bounds.HOLDING_PLACES)
    if s.fx.rate is not None:
        assert bounds.MIN_RATE <= s.fx.rate <= bounds.MAX_RATE
        assert len(s.fx.rate.normalize().as_tuple().digits) <= RATE_DIGITS
    for rule in s.alerts:
        top = bounds.MAX_PRICE_LEVEL if rule.kind == "price" else bounds.MAX_CHANGE_LEVEL
        assert_amount(rule.level, Decimal(0), top, bounds.LEVEL_PLACES)
        if rule.hysteresis is not None:
            assert_amount(rule.hysteresis, Decimal(0), top, bounds.LEVEL_PLACES)
    for cost in (s.credits.per_message, s.credits.per_subscription):
        assert 0 <= cost <= float(bounds.MAX_CREDIT_COST)
    if s.credits.monthly_budget is not None:
        assert 1 <= s.credits.monthly_budget <= float(bounds.MAX_CREDIT_BUDGET)
    assert_text_is_utf8(s)


def assert_amount(value: Decimal, low: Decimal, high: Decimal, places: int) -> None:
    assert value.is_finite(), value
    assert low <= value <= high, value
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int), value
    assert -exponent <= places, value


def assert_text_is_utf8(value: Any) -> None:
    """Every text in the settings can be written to a topic or a file."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, Secret):
        value.reveal().encode("utf-8")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            assert_text_is_utf8(getattr(value, item.name))
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_text_is_utf8(key)
            assert_text_is_utf8(item)
    elif isinstance(value, list | tuple):
        for item in value:
            assert_text_is_utf8(item)


def settle(raw: Any, environ: dict[str, str] | None = None) -> Settings | None:
    try:
        s = parse_settings(raw, environ=environ or {})
    except ConfigError as exc:
        event("refused")
        assert_lines(exc.problems, secrets_in(raw))
        return None
    event("accepted")
    assert_within_bounds(s)
    return s


# --- the properties --------------------------------------------------------------------------


@FEW
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(OPTIONS), toml_values, st.sampled_from(["1", "0", "x"])),
        max_size=5,
    )
)
def test_any_values_in_any_options_give_settings_or_one_line_per_problem(
    changes: list[tuple[tuple[str, str, str], Any, str]],
) -> None:
    raw = copy.deepcopy(MINIMAL)
    for (section, option, shape), value, entry in changes:
        if shape == "flat":
            raw.setdefault(section, {})[option] = value
        elif shape == "keyed":
            raw.setdefault(section, {}).setdefault(entry, {})[option] = value
        else:
            raw.setdefault(section, []).append({"prefix": "clock", option: value})
    settle(raw)


@FEW
@given(raw=st.dictionaries(any_text, toml_values, max_size=4), cmc=toml_values)
def test_any_shape_of_config_gives_settings_or_one_line_per_problem(
    raw: dict[str, Any], cmc: Any
) -> None:
    settle({**raw, "cmc": cmc})
    settle({**raw, **MINIMAL})


@FEW
@given(
    key=any_text,
    env_key=any_text,
    ids=st.lists(numbers, max_size=3),
)
def test_any_key_and_ids_are_refused_without_showing_the_key_or_accepted_within_bounds(
    key: str, env_key: str, ids: list[Any]
) -> None:
    raw = {"cmc": {"api_key": f"{key}-secret-part", "crypto_ids": ids or [1]}}
    try:
        parse_settings(raw, environ={"CMC_API_KEY": env_key})
    except ConfigError as exc:
        assert_lines(
            exc.problems, (f"{key}-secret-part",) + ((env_key,) if len(env_key) > 11 else ())
        )
    settle(raw)


@FEW
@given(levels=st.integers(min_value=validators.MAX_DEPTH - 2, max_value=validators.MAX_DEPTH + 40))
def test_nesting_is_refused_in_one_line_at_any_depth(levels: int) -> None:
    settle({**MINIMAL, "awtrix": [{"prefix": "c", "icons": {"1": deeply(levels)}}]})
    settle({**MINIMAL, "mqtt": {"host": deeply(levels)}})


def toml_text(value: Any) -> str:
    """A TOML document of `value` where TOML can hold it: tables of values."""
    return to_toml(value, header="a property")


toml_docs = st.dictionaries(
    st.sampled_from(["cmc", "mqtt", "homeassistant", "text", "log", "bridge", "x y"]),
    st.dictionaries(
        st.sampled_from([o for _, o, _ in OPTIONS] + ["odd key"]),
        nested(
            st.one_of(st.booleans(), st.integers(), st.floats(), any_text),
            any_text,
        ).filter(lambda v: not isinstance(v, dict)),
        max_size=4,
    ),
    max_size=4,
)


@FEW
@given(doc=toml_docs, tail=st.binary(max_size=30))
def test_any_toml_file_gives_settings_or_one_line_per_problem(doc: Any, tail: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        try:
            text = toml_text(doc)
        except (TypeError, UnicodeEncodeError):
            return  # to_toml holds only what the add-on writes
        for data in (
            text.encode("utf-8", "surrogatepass"),
            text.encode("utf-8", "surrogatepass") + tail,
        ):
            path.write_bytes(data)
            try:
                s = load_settings(path, environ={})
            except ConfigError as exc:
                assert_lines(exc.problems, (TEST_API_KEY,))
            else:
                assert_within_bounds(s)


ENV_NAMES = sorted(
    {f"CMC_MQTT_{s.upper()}_{o.upper()}" for s, o, shape in OPTIONS if shape == "flat"}
    | {"CMC_MQTT_AWTRIX", "CMC_MQTT_COINS", "CMC_MQTT_ALERTS", "CMC_MQTT_COINS_1_HOLDINGS"}
    | {"CMC_MQTT_AWTRIX_0_PREFIX", "CMC_MQTT_AWTRIX_1_ICONS", "CMC_MQTT_X", "CMC_API_KEY"}
)
env_text = st.one_of(
    any_text,
    st.sampled_from(["1" * 5000, "[" + "1" * 5000 + "]", "[" * 3000, "1e-400", "1e400", "\u0661"]),
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
)


@FEW
@given(
    env=st.dictionaries(
        st.sampled_from(ENV_NAMES) | any_text.map("CMC_MQTT_".__add__), env_text, max_size=6
    )
)
def test_any_environment_gives_settings_or_one_line_per_problem(env: dict[str, str]) -> None:
    environ = {"CMC_MQTT_CMC_API_KEY": TEST_API_KEY, "CMC_MQTT_CMC_CRYPTO_IDS": "1", **env}
    try:
        s = load_settings(MISSING, environ=environ)
    except ConfigError as exc:
        keys = [v for k, v in environ.items() if k.endswith("API_KEY") and len(v.strip()) >= 12]
        assert_lines(exc.problems, tuple(keys))
    else:
        assert_within_bounds(s)


ADDON_NAMES = [option.name for option in addon_options.OPTIONS]


ENTRY_KEYS = st.sampled_from(
    [addon_options.COIN, addon_options.AMOUNT, "price", "change", "hysteresis", "x"]
)


@FEW
@given(
    options=st.dictionaries(st.sampled_from(ADDON_NAMES), finite_json, max_size=6),
    entries=st.lists(st.dictionaries(ENTRY_KEYS, finite_json, max_size=3), max_size=3),
)
def test_any_addon_options_give_a_checked_config_or_one_line_per_option(
    options: dict[str, Any], entries: list[Any]
) -> None:
    options = {"api_key": TEST_API_KEY, "coins": [1], "mqtt_host": "localhost", **options}
    if entries:
        options.setdefault("holdings", entries)
        options.setdefault("alerts", entries)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        (data / "options.json").write_text(json.dumps(options))  # lone surrogates as \ud800
        result = attempt(lambda: addon.prepare({addon.DATA_ENV: str(data)}))
        if isinstance(result, addon.AddonError):
            assert result.code in (1, 2), result.lines
            assert_lines(result.lines, (TEST_API_KEY,))
            for problem in result.lines if result.code == 2 else ():
                key = problem.partition(": ")[0]
                assert re.split(r"[.\[]", key)[0] in ADDON_NAMES, problem
            return
        path, line = result
        event("accepted")
        assert "\n" not in line
        s = load_settings(path, environ={})  # what the add-on writes, the bridge reads
        assert_within_bounds(s)
        written = tomllib.loads(path.read_text(encoding="utf-8"))
        assert written["cmc"]["api_key"] == TEST_API_KEY


@FEW
@given(data=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_options_file_is_read_or_refused_in_one_line(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "options.json"
        path.write_bytes(data)
        result = attempt(lambda: addon.read_options(path))
        if isinstance(result, addon.AddonError):
            assert result.code == 2
            assert len(result.lines) == 1
            assert_lines(result.lines)
        else:
            assert isinstance(result, dict)


def attempt(call: Callable[[], T]) -> T | addon.AddonError:
    """`call()`, or the AddonError it raised (the only error the add-on may end with)."""
    try:
        return call()
    except addon.AddonError as exc:
        return exc
