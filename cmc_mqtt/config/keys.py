"""The API key: from `CMC_API_KEY`, `[cmc] api_key` or `api_key_file`, checked wherever it came
from. No problem line ever shows it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from ..util.secret import Secret
from .files import NotRegular, TooLarge, read_bounded, shown_path
from .validators import CONTROL, INVISIBLE, MAX_KEY_CHARS, MAX_KEY_FILE_BYTES

API_KEY_ENV: Final = "CMC_API_KEY"


def read_api_key(
    cmc: dict[str, Any], environ: Mapping[str, str], problems: list[str]
) -> Secret | None:
    """The key from `CMC_API_KEY`, `api_key` or `api_key_file`, checked wherever it came from;
    no problem line ever shows it."""
    from_env = environ.get(API_KEY_ENV, "").strip()
    if from_env:
        return _checked_key(from_env, API_KEY_ENV, problems)
    if "api_key" in cmc and "api_key_file" in cmc:
        problems.append("cmc.api_key: give api_key or api_key_file, not both")
        return None
    if "api_key" in cmc:
        return _checked_key(cmc["api_key"].strip(), "cmc.api_key", problems)
    if "api_key_file" in cmc:
        return _key_from_file(Path(cmc["api_key_file"]).expanduser(), problems)
    problems.append(
        f"cmc.api_key: required (or set cmc.api_key_file, "
        f"or the {API_KEY_ENV} environment variable)"
    )
    return None


def _key_from_file(path: Path, problems: list[str]) -> Secret | None:
    """`api_key_file`: a regular file of at most `MAX_KEY_FILE_BYTES`, read no further (a FIFO,
    a device or a huge file is refused without waiting or reading it all)."""
    where, shown = "cmc.api_key_file", shown_path(path)
    try:
        data = read_bounded(path, MAX_KEY_FILE_BYTES, regular=True)
    except NotRegular as exc:
        problems.append(f"{where}: {shown} is {exc.kind}, not a file holding the key")
        return None
    except TooLarge:
        problems.append(
            f"{where}: {shown} is larger than {MAX_KEY_FILE_BYTES} bytes; it should hold only "
            "the key"
        )
        return None
    except OSError as exc:
        problems.append(f"{where}: cannot read {shown}: {exc.strerror}")
        return None
    try:
        key = data.decode("utf-8-sig").strip()  # an editor's byte-order mark is no part of it
    except UnicodeDecodeError:
        problems.append(f"{where}: {shown} is not UTF-8 text")
        return None
    if not key:
        problems.append(f"{where}: {shown} is empty")
        return None
    return _checked_key(key, where, problems)


def _checked_key(key: str, where: str, problems: list[str]) -> Secret | None:
    """`key` as a Secret, or a problem that says what is wrong without showing the key. The key
    is sent in a request header: a line break would end the header and start another one."""
    problem = key_problem(key)
    if problem is not None:
        problems.append(f"{where}: {problem}; the key is not shown")
        return None
    return Secret(key)


def key_problem(key: str) -> str | None:
    """What makes `key` unusable as an API key, or None: printable ASCII without spaces, at
    most `MAX_KEY_CHARS` (a CoinMarketCap key is 36 letters, digits and dashes). Only
    characters that cannot be part of a key are named, by code point."""
    if len(key) > MAX_KEY_CHARS:
        return f"longer than {MAX_KEY_CHARS} characters (a CoinMarketCap key has 36)"
    for char in key:
        if "!" <= char <= "~":
            continue
        category = unicodedata.category(char)
        if category in CONTROL:
            return f"contains a control character or line break (U+{ord(char):04X})"
        if category in INVISIBLE:
            return f"contains an invisible format character (U+{ord(char):04X})"
        if category == "Cs":
            return f"is not UTF-8 text (a lone surrogate, U+{ord(char):04X})"
        if char.isspace():
            return f"contains a space (U+{ord(char):04X})"
        return "contains a character that is not ASCII; a key is letters, digits and dashes"
    return None
