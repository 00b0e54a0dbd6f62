"""`cmc-mqtt init`: a commented starter config from a few answers, readable by its owner only.

A new user should not have to learn TOML and twenty options to see prices: the key, the coins
and the broker are asked for, the rest keeps its defaults and is pointed to. The text written
is validated by the same parser `run` uses before it touches the disk, and an existing file is
never replaced without `--force`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

from ..config import parse_settings
from ..config.files import write_private
from ..config.toml_text import toml_string
from ..errors import CmcMqttError, ConfigError
from ..model.coins import BUNDLED_COINS, coin_info
from ..util.secret import PLACEHOLDER_KEYS

DEFAULT_COINS: Final = "BTC, ETH"
DEFAULT_BROKER: Final = "localhost:1883"
TRIES: Final = 3
_BY_SYMBOL: Final = {coin.symbol.lower(): coin.id for coin in BUNDLED_COINS.values()}


class InitError(CmcMqttError):
    """`init` cannot go on; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Answers:
    api_key: str
    crypto_ids: tuple[int, ...]
    host: str
    port: int
    username: str | None
    password: str | None


def parse_coins(text: str) -> tuple[int, ...]:
    """`1, 1027` or `btc eth` (the bundled table's symbols) or a mix; ValueError naming what
    is not understood."""
    ids: list[int] = []
    for word in text.replace(",", " ").split():
        if word.isdigit() and int(word) > 0:
            ids.append(int(word))
        elif word.lower() in _BY_SYMBOL:
            ids.append(_BY_SYMBOL[word.lower()])
        else:
            known = ", ".join(sorted(_BY_SYMBOL)).upper()
            raise ValueError(
                f"{word!r} is not a coin id, nor one of the symbols known here ({known}); "
                "a coin's id is on its CoinMarketCap page (the API section)"
            )
    if not ids:
        raise ValueError("name at least one coin")
    return tuple(dict.fromkeys(ids))


def parse_broker(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "")
    if not sep:
        return host or "localhost", 1883
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{port!r} is not a port number (1-65535)")
    if not host:
        raise ValueError("name the broker's host, e.g. localhost:1883")
    return host, int(port)


def ask_answers(
    ask: Callable[[str], str], ask_secret: Callable[[str], str], out: TextIO
) -> Answers:
    """The questions, each asked again (up to three times) until its answer is usable."""

    def until_valid(prompt: str, parse: Callable[[str], object], *, secret: bool = False) -> str:
        for _ in range(TRIES):
            answer = (ask_secret if secret else ask)(prompt).strip()
            try:
                parse(answer)
            except ValueError as exc:
                print(f"  {exc}", file=out)
                continue
            return answer
        raise InitError("no usable answer; nothing written")

    def key(text: str) -> None:
        if not text:
            raise ValueError("the key is needed (CoinMarketCap's API page shows it)")
        if text in PLACEHOLDER_KEYS:
            raise ValueError(f"{text!r} is the simulator's placeholder, not a key")

    api_key = until_valid("CoinMarketCap API key (input hidden): ", key, secret=True)
    coins = until_valid(f"Coins, by id or symbol [{DEFAULT_COINS}]: ", _or(parse_coins))
    broker = until_valid(f"MQTT broker [{DEFAULT_BROKER}]: ", parse_broker)
    username = ask("MQTT username (empty: none): ").strip() or None
    password = ask_secret("MQTT password (input hidden): ").strip() if username else None
    host, port = parse_broker(broker)
    return Answers(
        api_key, parse_coins(coins or DEFAULT_COINS), host, port, username, password or None
    )


def _or(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An empty answer takes the default."""
    return lambda text: None if not text else parse(text)


def render(answers: Answers) -> str:
    names = ", ".join(f"{i} {coin_info(i).symbol}" for i in answers.crypto_ids)
    login = (
        f"username = {toml_string(answers.username)}\n"
        + (f"password = {toml_string(answers.password)}\n" if answers.password else "")
        if answers.username
        else '# username = "cmc"\n# password = "secret"\n'
    )
    return f"""\
# cmc-mqtt configuration, written by `cmc-mqtt init`. Check it with `cmc-mqtt check-config`.
# Only the options you are most likely to change are here; config.example.toml (in the
# project's repository) shows every option with its default. This file holds your API key:
# keep it readable by you only (it was written with mode 600).

[cmc]
# The key may instead come from the CMC_API_KEY environment variable or from a file of its
# own (api_key_file = "/path/to/key").
api_key = {toml_string(answers.api_key)}
# CoinMarketCap ids, not symbols (symbols are not unique): {names}
crypto_ids = [{", ".join(str(i) for i in answers.crypto_ids)}]

[mqtt]
# The broker Home Assistant's MQTT integration uses.
host = {toml_string(answers.host)}
port = {answers.port}
{login}# Every topic starts with this: cmc/1/p is Bitcoin's price.
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
    except FileExistsError:  # made since the check before the questions
        raise InitError(f"{path} already exists; --force replaces it") from None
    except OSError as exc:
        raise InitError(f"cannot write {path}: {exc.strerror or exc}") from exc


def run_init(
    path: Path,
    *,
    force: bool,
    ask: Callable[[str], str],
    ask_secret: Callable[[str], str],
    out: TextIO,
) -> None:
    if path.exists() and not force:  # before the questions, not after them
        raise InitError(f"{path} already exists; --force replaces it")
    try:
        answers = ask_answers(ask, ask_secret, out)
    except EOFError:
        raise InitError("input ended before every question was answered; nothing written") from None
    text = render(answers)
    try:  # what `run` will read, checked by the same parser before it is written
        parse_settings(tomllib.loads(text), environ={})
    except ConfigError as exc:
        raise InitError("; ".join(exc.problems)) from None
    write_config(path, text, force=force)
    config = "" if path == Path("config.toml") else f" --config {path}"
    print(
        f"Wrote {path} (readable by you only) for {len(answers.crypto_ids)} coins and the broker "
        f"{answers.host}:{answers.port}.\n"
        f"Next: cmc-mqtt check-config{config}   then   cmc-mqtt run{config}",
        file=out,
    )
