"""Home Assistant entity ids as the bridge announces them (`default_entity_id`).

Its own module because both `discovery.py` and `money_configs.py` need it, and discovery.py
imports money_configs.py.

The ids must be the ones Home Assistant derives by itself, so `slugify` gives exactly what
Home Assistant's `homeassistant.util.slugify` gives (python-slugify 8 with text-unidecode, the
versions Home Assistant pins): `Ðogecoin Ünicode` is `dogecoin_unicode`, not `ogecoin_nicode`.
We do not import python-slugify itself: importing it loads text-unidecode's whole table as 65,535
Python strings, about 5 MB of the bridge's 28. This module reads the same table as one string
and an index (about 0.6 MB), and only when a name is not plain ASCII. `tests_ha/test_slugify.py`
compares both, inside each Home Assistant version we test, on hostile names and random ones.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import unicodedata
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Final

DEFAULT_NODE_ID: Final = "cmc_mqtt"

_ENTITY: Final = re.compile(r"&([A-Za-z0-9]+);")
_DECIMAL: Final = re.compile(r"&#(\d+);")
_HEX: Final = re.compile(r"&#x([\da-fA-F]+);")
_QUOTES: Final = re.compile(r"'+")
_DIGIT_COMMA: Final = re.compile(r"(?<=\d),(?=\d)")
_OTHER: Final = re.compile(r"[^a-z0-9]+")
#: In ASCII text without these, every step but the last changes nothing.
_SPECIAL_ASCII: Final = re.compile(r"['&,]")


def slugify(text: str) -> str:
    """Home Assistant's `slugify`: "" stays "", anything else that leaves nothing is
    "unknown"."""
    if not text:
        return ""
    return _slug(text) or "unknown"


def entity_id(node_id: str, platform: str, device: str, name: str) -> str:
    """The id Home Assistant 2024.3 derives by itself (device name + entity name), so the ids
    match on every version; a second bridge (another node_id) gets its node id in front."""
    base = slugify(f"{device} {name}")
    if node_id != DEFAULT_NODE_ID:
        base = f"{slugify(node_id)}_{base}"
    return f"{platform}.{base}"


def _slug(text: str) -> str:
    """The steps python-slugify takes with its defaults, in its order (the order matters: a
    reference is decoded after the transliteration, so what it gives is never transliterated)."""
    if text.isascii() and not _SPECIAL_ASCII.search(text):
        return _OTHER.sub("_", text.lower()).strip("_")
    text = _QUOTES.sub("-", text)  # a quote in the name separates words
    text = _transliterate(unicodedata.normalize("NFKD", text))
    text = _ENTITY.sub(_named_reference, text)
    text = _decoded(_DECIMAL, text, 10)
    text = _decoded(_HEX, text, 16)
    text = unicodedata.normalize("NFKD", text).lower()
    text = _QUOTES.sub("", text)  # quotes the transliteration made join words
    text = _DIGIT_COMMA.sub("", text)  # 1,000 is 1000
    return _OTHER.sub("_", text).strip("_")


def _named_reference(match: re.Match[str]) -> str:
    from html.entities import name2codepoint  # noqa: PLC0415 - 0.7 MB, for a name with "&…;"

    code = name2codepoint.get(match.group(1))
    return match.group(0) if code is None else chr(code)


def _decoded(pattern: re.Pattern[str], text: str, base: int) -> str:
    """Numeric references decoded, all or none: one that names no character (too large)
    leaves every one of its kind as it is, as python-slugify does."""
    try:
        return pattern.sub(lambda m: chr(int(m.group(1), base)), text)
    except (ValueError, OverflowError):
        return text


def _transliterate(text: str) -> str:
    """text-unidecode's transliteration: each character by its table, U+0000 as itself, a
    character beyond the table (past U+FFFF: emoji and the like) dropped."""
    if text.isascii():
        return text
    table = _table()
    return "".join(char if char.isascii() else table(ord(char)) for char in text)


@functools.cache
def _table() -> Callable[[int], str]:
    """text-unidecode's `data.bin`: the ASCII text for U+0001, U+0002, ... separated by NULs.
    Found without importing the package, whose import would build the big list."""
    spec = importlib.util.find_spec("text_unidecode")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("text-unidecode (a dependency of cmc-mqtt) is not installed")
    data = (Path(spec.origin).parent / "data.bin").read_bytes().decode("utf-8")
    ends = array("I")
    at = data.find("\0")
    while at != -1:
        ends.append(at)
        at = data.find("\0", at + 1)
    ends.append(len(data))

    def lookup(code: int) -> str:
        if code == 0:
            return "\0"
        if code > len(ends):
            return ""
        start = ends[code - 2] + 1 if code > 1 else 0
        return data[start : ends[code - 1]]

    return lookup
