"""Loading a configuration: the TOML file, with the `CMC_MQTT_*` variables laid over it (or
standing in for it), checked by `parse_settings`.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ..errors import ConfigError
from ..util.secret import PLACEHOLDER_KEYS
from .coin_ids import SymbolSource
from .env import ENV_PREFIX, EnvOverlay
from .files import TooLarge, read_bounded
from .parse import parse_settings
from .problems import one_line
from .settings import Settings

#: Where `run` and `check-config` look when no `--config` is given.
DEFAULT_PATH: Final = Path("config.toml")
#: The largest config file read at all: a real one is a few kilobytes.
MAX_CONFIG_BYTES: Final = 1 << 20


def load_settings(
    path: Path,
    environ: Mapping[str, str] | None = None,
    *,
    coin_symbols: SymbolSource | None = None,
) -> Settings:
    """Read and validate a config file; raise `ConfigError` listing every problem found.

    `CMC_MQTT_<SECTION>_<KEY>` variables override the file's options or replace a missing file.
    `coin_symbols`: where symbols in `crypto_ids` are looked up besides the bundled table."""
    env = os.environ if environ is None else environ
    overlay = EnvOverlay(env)

    def parse(merged: Mapping[str, Any]) -> Settings:
        return parse_settings(merged, environ=env, coin_symbols=coin_symbols)

    try:
        raw_text = read_bounded(path, MAX_CONFIG_BYTES)
    except FileNotFoundError as exc:
        if overlay:
            return overlay.parse(None, parse)
        raise ConfigError([missing_file(path)]) from exc
    except TooLarge as exc:
        raise ConfigError([f"{path}: larger than {MAX_CONFIG_BYTES} bytes"]) from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    raw = _toml(path, raw_text)
    settings = overlay.parse(raw, parse)
    if _real_key_in(raw) and _readable_by_others(path):
        warning = f"{path} holds the API key and is readable by other users; run: chmod 600 {path}"
        settings = _with_warning(settings, warning)
    return settings


def missing_file(path: Path) -> str:
    """No config file and no variable standing in for it: how to make one."""
    option = "" if path == DEFAULT_PATH else f" --config {path}"
    return (
        f"{path}: no such config file; write one with: cmc-mqtt init{option} "
        f"(or set the options as {ENV_PREFIX}<SECTION>_<KEY> environment variables)"
    )


@dataclass(frozen=True, slots=True)
class Source:
    """Where the settings of `load_settings(path, environ)` came from, for a person."""

    #: The file, or "the environment (…; no config.toml)" when there is none.
    name: str
    #: The `CMC_MQTT_*` variables laid over the file ("" when none are, or there is no file).
    over: str

    def __str__(self) -> str:
        return f"{self.name} with {self.over}" if self.over else self.name


def describe_source(path: Path, environ: Mapping[str, str]) -> Source:
    """The file, the file with variables over it, or the variables alone."""
    count = len(EnvOverlay(environ))
    variables = f"{count} {ENV_PREFIX}* variable{'' if count == 1 else 's'}"
    if not path.exists():
        return Source(f"the environment ({variables}; no {path})", "")
    return Source(str(path), f"{variables} over it" if count else "")


def _toml(path: Path, data: bytes) -> dict[str, Any]:
    """The file's TOML, or one line saying why it cannot be read (tomllib lets an integer
    past Python's 4,300-digit limit through as ValueError and deep nesting as RecursionError)."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([one_line(f"{path}: invalid TOML: {exc}")]) from exc
    except ValueError as exc:
        raise ConfigError([f"{path}: a number too long to read (no option takes one)"]) from exc
    except RecursionError as exc:
        raise ConfigError([f"{path}: lists or tables nested too deeply"]) from exc


def _real_key_in(raw: Mapping[str, Any]) -> bool:
    """The file holds an API key that is a secret (not the simulator's placeholder)."""
    cmc = raw.get("cmc")
    key = cmc.get("api_key") if isinstance(cmc, dict) else None
    return isinstance(key, str) and bool(key.strip()) and key.strip() not in PLACEHOLDER_KEYS


def _readable_by_others(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def _with_warning(settings: Settings, warning: str) -> Settings:
    return dataclasses.replace(settings, warnings=(*settings.warnings, warning))
