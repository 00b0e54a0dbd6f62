"""`cmc-mqtt init`: a commented starter config from a few answers, readable by its owner only.

A new user should not have to learn TOML and twenty options to see prices: the key, the coins
and the broker are asked for, the rest keeps its defaults and is pointed to. The text written
is validated by the same parser `run` uses before it touches the disk, and an existing file is
never replaced without `--force`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO, TypeVar

from ..config import DEFAULT_REST_URL, parse_settings
from ..config.broker import FORMS, AddressError, BrokerAddress, parse_address
from ..config.files import write_private
from ..config.keys import key_problem
from ..config.load import DEFAULT_PATH
from ..config.toml_text import toml_string
from ..errors import CmcMqttError, ConfigError
from ..model.coins import BUNDLED_COINS, CoinInfo, coin_info, is_coin_id
from ..rest.client import RestError
from ..util.secret import PLACEHOLDER_KEYS, Secret
from ..util.wording import counted
from .coin_lookup import lookup_symbol

T = TypeVar("T")

DEFAULT_COINS: Final = "BTC, ETH"
DEFAULT_BROKER: Final = "localhost:1883"
TRIES: Final = 3
LOOKUP_TIMEOUT_S: Final = 10.0
#: What a CoinMarketCap key looks like: 36 characters, hexadecimal digits in dashed groups.
KEY_SHAPE: Final = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_BY_SYMBOL: Final = {coin.symbol.lower(): coin for coin in BUNDLED_COINS.values()}


class InitError(CmcMqttError):
    """`init` cannot go on; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Answers:
    api_key: str
    coins: tuple[CoinInfo, ...]
    broker: BrokerAddress
    username: str | None
    password: str | None

    @property
    def crypto_ids(self) -> tuple[int, ...]:
        return tuple(coin.id for coin in self.coins)


def check_key(text: str) -> str:
    """The key, or ValueError saying why it cannot be used at all."""
    if not text:
        raise ValueError("the key is needed (CoinMarketCap's API page shows it)")
    if text in PLACEHOLDER_KEYS:
        raise ValueError(f"{text!r} is the simulator's placeholder, not a key")
    problem = key_problem(text)
    if problem is not None:
        raise ValueError(f"this key {problem}; the key is not shown")
    return text


def key_doubt(key: str) -> str | None:
    """Why `key` cannot be a CoinMarketCap key although it may be used (None: it looks like
    one): it is written as given, and said so, in case it was mistyped or cut short."""
    if KEY_SHAPE.fullmatch(key):
        return None
    return (
        f"this key has {counted(len(key), 'character')}, and a CoinMarketCap key has 36 "
        "(hexadecimal digits in groups, 01234567-89ab-cdef-0123-456789abcdef): it is written "
        "as given; check it if it was not meant so"
    )


class CoinAnswer:
    """The coins answer: ids, symbols of the bundled table, and any other symbol looked up in
    CoinMarketCap's map with the key given (at `rest_url`)."""

    def __init__(self, api_key: str, rest_url: str, out: TextIO) -> None:
        self._key = Secret(api_key)
        self._rest_url = rest_url
        self._out = out

    def __call__(self, text: str) -> tuple[CoinInfo, ...]:
        """`1, 1027` or `btc eth` or a mix; ValueError naming what is not understood."""
        coins: list[CoinInfo] = []
        for word in (text or DEFAULT_COINS).replace(",", " ").split():
            if word.isdigit() and is_coin_id(int(word)):
                coins.append(coin_info(int(word)))
            elif word.lower() in _BY_SYMBOL:
                coins.append(_BY_SYMBOL[word.lower()])
            else:
                coins.append(self._look_up(word))
        return tuple({coin.id: coin for coin in coins}.values())

    def _look_up(self, word: str) -> CoinInfo:
        try:
            found = lookup_symbol(self._key, self._rest_url, word, LOOKUP_TIMEOUT_S)
        except RestError as exc:
            raise ValueError(
                f"could not look {word!r} up at {self._rest_url} ({exc}); give the coin's id "
                "(its CoinMarketCap page shows it)"
            ) from exc
        if not found:
            raise ValueError(
                f"{word!r} is no symbol CoinMarketCap lists; give the coin's id "
                "(its CoinMarketCap page shows it)"
            )
        chosen = found[0]
        rank = f", rank {chosen.rank}" if chosen.rank else ""
        line = f"  {chosen.symbol}: {chosen.id} {chosen.name}{rank}"
        if len(found) > 1:
            others = ", ".join(f"{c.id} {c.name}" for c in found[1:4])
            more = f" and {len(found) - 4} more" if len(found) > 4 else ""
            verb = "shares" if len(found) == 2 else "share"
            line += (
                f"; {counted(len(found) - 1, 'other coin')} {verb} the symbol ({others}{more}): "
                "give an id to choose another"
            )
        print(line, file=self._out)
        return chosen


def ask_answers(
    ask: Callable[[str], str],
    ask_secret: Callable[[str], str],
    out: TextIO,
    *,
    rest_url: str = DEFAULT_REST_URL,
) -> Answers:
    """The questions, each asked again (up to three times) until its answer is usable."""

    def until_valid(prompt: str, parse: Callable[[str], T], *, secret: bool = False) -> T:
        for _ in range(TRIES):
            answer = (ask_secret if secret else ask)(prompt).strip()
            try:
                return parse(answer)
            except ValueError as exc:
                print(f"  {exc}", file=out)
        raise InitError("no usable answer; nothing written")

    api_key = until_valid("CoinMarketCap API key (input hidden): ", check_key, secret=True)
    doubt = key_doubt(api_key)
    if doubt is not None:
        print(f"  warning: {doubt}", file=out)
    coins = until_valid(
        f"Coins, by id or symbol [{DEFAULT_COINS}]: ", CoinAnswer(api_key, rest_url, out)
    )
    broker = until_valid(f"MQTT broker [{DEFAULT_BROKER}]: ", parse_broker)
    username = ask("MQTT username (empty: none): ").strip() or None
    password = ask_secret("MQTT password (input hidden): ").strip() if username else None
    return Answers(api_key, coins, broker, username, password or None)


def parse_broker(text: str) -> BrokerAddress:
    """`host`, `host:port`, `mqtt://host:port` or `mqtts://host:port`, the port and TLS
    decided; ValueError with the fix."""
    try:
        address = parse_address(text or DEFAULT_BROKER)
    except AddressError as exc:
        raise ValueError(f"{exc.reason}; {FORMS}") from exc
    return BrokerAddress(address.host, address.port or address.default_port(), address.tls)


def render(answers: Answers) -> str:
    names = ", ".join(f"{coin.id} {coin.symbol}" for coin in answers.coins)
    login = (
        f"username = {toml_string(answers.username)}\n"
        + (f"password = {toml_string(answers.password)}\n" if answers.password else "")
        if answers.username
        else '# username = "cmc"\n# password = "secret"\n'
    )
    broker = answers.broker
    tls = "tls = true\n" if broker.tls else ""
    return f"""\
# cmc-mqtt configuration, written by `cmc-mqtt init`. Check it with `cmc-mqtt check-config`.
# Only the options you are most likely to change are here; docs/configuration.md (in the
# project's repository) describes every option and its default. This file holds your API
# key: keep it readable by you only (it was written with mode 600).

[cmc]
# The key may instead come from the CMC_API_KEY environment variable or from a file of its
# own (api_key_file = "/path/to/key").
api_key = {toml_string(answers.api_key)}
# CoinMarketCap ids (a symbol can name several coins; an id names one): {names}
crypto_ids = [{", ".join(str(i) for i in answers.crypto_ids)}]

[mqtt]
# The broker Home Assistant's MQTT integration uses.
host = {toml_string(broker.host)}
port = {broker.port}
{tls}{login}# Every topic starts with this: cmc/1/p is Bitcoin's price.
topic_prefix = "cmc"

[homeassistant]
# One device per coin and one sensor per field appear by MQTT discovery, with no YAML.
discovery = true

[log]
# debug, info, warning or error
level = "info"
"""


def write_config(path: Path, text: str, *, force: bool) -> None:
    """Write `text` readable by its owner only (never briefly readable by others); an existing
    file only with `force`, and then replaced whole, never left half-written."""
    try:
        write_private(path, text, replace=force)
    except FileExistsError as exc:  # made since the check before the questions
        raise InitError(f"{path} already exists; --force replaces it") from exc
    except OSError as exc:
        raise InitError(f"cannot write {path}: {exc.strerror or exc}") from exc


def run_init(
    path: Path,
    *,
    force: bool,
    ask: Callable[[str], str],
    ask_secret: Callable[[str], str],
    out: TextIO,
    rest_url: str = DEFAULT_REST_URL,
) -> None:
    if path.exists() and not force:  # before the questions, not after them
        raise InitError(f"{path} already exists; --force replaces it")
    try:
        answers = ask_answers(ask, ask_secret, out, rest_url=rest_url)
    except EOFError as exc:
        raise InitError("input ended before every question was answered; nothing written") from exc
    text = render(answers)
    try:  # what `run` will read, checked by the same parser before it is written
        parse_settings(tomllib.loads(text), environ={})
    except ConfigError as exc:
        raise InitError("; ".join(exc.problems)) from exc
    write_config(path, text, force=force)
    config = "" if path == DEFAULT_PATH else f" --config {path}"
    broker = answers.broker
    print(
        f"Wrote {path} (readable by you only) for {counted(len(answers.coins), 'coin')} and the "
        f"broker {broker.host}:{broker.port}{' with TLS' if broker.tls else ''}.\n"
        f"Next: cmc-mqtt check-config{config}   then   cmc-mqtt run{config}",
        file=out,
    )
