"""The bounds of every option from outside, and the validators that hold text and numbers to them.

Building blocks for `schema.py`: each refuses with a message that says what was expected, and
none lets through what a topic, a request header or a log line cannot carry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, Final

import voluptuous as vol

from ..model import bounds
from ..model.coins import MAX_COIN_ID, is_coin_id
from ..model.fields import FIELD_KEYS

# --- bounds of text and whole numbers ---------------------------------------------------------
#
# Every option from outside has a documented bound (config.example.toml states each one where
# the option is): a prefix or topic goes out with every message, a template is rendered for
# every quote, a key is sent in a request header. Amounts (holdings, rates, alert levels,
# credits) are bounded by `bounds`; what is here bounds text, whole numbers and nesting.

#: How deep lists and tables may nest (a real config nests 4 deep: [[awtrix]] icons): deeper
#: input would cost recursion in every later step (copying, validating, showing it refused).
MAX_DEPTH: Final = 16
#: Whole-number options: a 64-bit integer at most (each has a far smaller range of its own).
MAX_INT: Final = 2**63 - 1
#: Topic prefixes (`mqtt.topic_prefix`, `homeassistant.discovery_prefix`, an AWTRIX `prefix`)
#: and whole topics (`status_topic`, `fx_topic`), in bytes of UTF-8 as the broker counts them.
MAX_PREFIX_BYTES: Final = 64
MAX_TOPIC_BYTES: Final = 128
MAX_TEMPLATE_CHARS: Final = 256
MAX_NODE_ID_CHARS: Final = 64
MAX_CLIENT_ID_BYTES: Final = 128
MAX_HOST_CHARS: Final = 253  # the longest DNS name
MAX_USERNAME_BYTES: Final = 256
MAX_PASSWORD_BYTES: Final = 1024
MAX_URL_CHARS: Final = 2048
MAX_PATH_BYTES: Final = 4096  # PATH_MAX
#: `fx_topic_key`, an AWTRIX icon, a coin's name or slug; a symbol is shorter.
MAX_NAME_CHARS: Final = 64
MAX_SYMBOL_CHARS: Final = 16
#: A CoinMarketCap key has 36 characters; `api_key_file` holds the key and a line break.
MAX_KEY_CHARS: Final = 256
MAX_KEY_FILE_BYTES: Final = 4096
#: The longest problem line: a refused value is cut short to stay readable in a log.
MAX_LINE_CHARS: Final = 300
#: Characters that end a line or a protocol field (C0/C1 controls, DEL, U+2028, U+2029), and
#: invisible ones that reorder or hide text (U+202E, U+200D, a BOM): neither belongs in a
#: topic, a host, a login, a coin's name or a key.
CONTROL: Final = frozenset({"Cc", "Zl", "Zp"})
INVISIBLE: Final = frozenset({"Cf"})


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """True when lists and tables nest more than `limit` levels below `value` (iterative: the
    check itself must not recurse)."""
    level = [value]
    for _ in range(limit + 1):
        below: list[object] = []
        for item in level:
            if isinstance(item, Mapping):
                below.extend(item.values())
            elif isinstance(item, list | tuple):
                below.extend(item)
        if not below:
            return False
        level = below
    return True


def bad_character(value: str, categories: frozenset[str]) -> str | None:
    """The first character of `value` in `categories` (or a noncharacter), as `U+XXXX`."""
    for char in value:
        code = ord(char)
        if unicodedata.category(char) in categories or _noncharacter(code):
            return f"U+{code:04X}"
    return None


def _noncharacter(code: int) -> bool:
    """U+FDD0..U+FDEF and U+xFFFE/U+xFFFF: valid code points MQTT brokers refuse in topics."""
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


# --- validators -------------------------------------------------------------------------------


def strict(kind: Any, label: str) -> Callable[[Any], Any]:
    """Type check that refuses bool where int is wanted (TOML `true` is not a port number),
    text that cannot be written as UTF-8 (a lone surrogate: no topic or file can carry it) and
    integers beyond 64 bits."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise vol.Invalid(f"expected {label}")
        if not isinstance(value, kind):
            raise vol.Invalid(f"expected {label}")
        if isinstance(value, str):
            _utf8(value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise vol.Invalid("integer out of range")
        return value

    return check


def _utf8(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = f"U+{ord(value[exc.start]):04X}"
        raise vol.Invalid(f"not UTF-8 text (a lone surrogate, {char})") from exc


INTEGER = strict(int, "int")
STRING = strict(str, "string")
BOOLEAN = strict(bool, "bool")


def non_empty(value: str) -> str:
    if not value.strip():
        raise vol.Invalid("must not be empty")
    return value


def bounded_text(
    *,
    chars: int | None = None,
    utf8_bytes: int | None = None,
    refuse: frozenset[str] = CONTROL | INVISIBLE,
) -> Callable[[str], str]:
    """A bounded text option: at most `chars` characters or `utf8_bytes` bytes, and none of
    the characters in `refuse` (categories). Runs after `STRING`."""

    def check(value: str) -> str:
        if chars is not None and len(value) > chars:
            raise vol.Invalid(f"longer than {chars} characters")
        if utf8_bytes is not None and len(value.encode("utf-8")) > utf8_bytes:
            raise vol.Invalid(f"longer than {utf8_bytes} bytes (UTF-8)")
        bad = bad_character(value, refuse) if refuse else None
        if bad is not None:
            raise vol.Invalid(f"must not contain control or invisible characters ({bad})")
        return value

    return check


def name_text(chars: int) -> Any:
    """A one-line text option of at most `chars` characters (a coin's name, an icon)."""
    return vol.All(STRING, non_empty, bounded_text(chars=chars))


#: A file name: any text a path can hold but NUL and line breaks, at most PATH_MAX bytes.
PATH = vol.All(STRING, non_empty, bounded_text(utf8_bytes=MAX_PATH_BYTES, refuse=CONTROL))
#: A template may hold any text (an emoji joined by U+200D, a line break for a display).
TEMPLATE = vol.All(STRING, non_empty, bounded_text(chars=MAX_TEMPLATE_CHARS, refuse=frozenset()))


def topic_level_checker(
    what: str, *, allow_slash: bool, max_bytes: int = MAX_PREFIX_BYTES
) -> Callable[[str], str]:
    """MQTT topic parts we build from config must not contain wildcards or empty levels, nor
    characters a broker refuses in a topic, and stay within `max_bytes` of UTF-8."""
    bounded = bounded_text(utf8_bytes=max_bytes)

    def check(value: str) -> str:
        if not value:
            raise vol.Invalid(f"{what} must not be empty")
        for bad in ("+", "#", "\x00"):
            if bad in value:
                raise vol.Invalid(f"{what} must not contain {bad!r}")
        if not allow_slash and "/" in value:
            raise vol.Invalid(f"{what} must not contain '/'")
        if value.startswith("$"):
            raise vol.Invalid(f"{what} must not start with '$' (reserved by brokers)")
        if any(level == "" for level in value.split("/")):
            raise vol.Invalid(f"{what} must not have empty levels (leading, trailing or '//')")
        try:
            return bounded(value)
        except vol.Invalid as exc:
            raise vol.Invalid(f"{what} {exc.error_message}") from exc

    return check


def crypto_ids(value: Any) -> list[int | str]:
    if not isinstance(value, list):
        raise vol.Invalid('expected a list of coin ids or symbols, e.g. [1, 1027] or ["BTC"]')
    if not value:
        raise vol.Invalid("must name at least one coin")
    return value


def coin_id_or_symbol(value: Any) -> int | str:
    """A coin's id, or a symbol (`coin_ids.resolve` reads it as an id later); an id written
    as text ("1027") is the id."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not is_coin_id(value):
            raise vol.Invalid(f"a coin id is a number from 1 to {MAX_COIN_ID}")
        return value
    if not isinstance(value, str):
        raise vol.Invalid('expected a coin id or a symbol such as "BTC"')
    text = value.strip()
    if re.fullmatch(r"[0-9]{1,10}", text):
        return coin_id_or_symbol(int(text))
    if not text or len(text) > MAX_SYMBOL_CHARS or not text.isprintable() or " " in text:
        raise vol.Invalid(
            f"expected a coin id or a symbol of at most {MAX_SYMBOL_CHARS} characters "
            "without spaces"
        )
    return text


def http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise vol.Invalid("must start with http:// or https://")
    return url_text(value).rstrip("/")


def ws_url(value: str) -> str:
    if not value.startswith(("ws://", "wss://")):
        raise vol.Invalid("must start with ws:// or wss://")
    return url_text(value)


def one_word(limit: int) -> Callable[[str], str]:
    """Text that goes into a request line or names a host: at most `limit` characters, no
    spaces, no line breaks, nothing invisible."""

    def check(value: str) -> str:
        if len(value) > limit:
            raise vol.Invalid(f"longer than {limit} characters")
        if any(c.isspace() for c in value) or bad_character(value, CONTROL | INVISIBLE):
            raise vol.Invalid("must not contain spaces, control or invisible characters")
        return value

    return check


#: A URL goes into a request line.
url_text = one_word(MAX_URL_CHARS)
#: A broker's address: a host name of at most 253 characters, as `broker.parse_address` reads
#: it (with a scheme, brackets and a port around it).
host_name = one_word(MAX_HOST_CHARS + len("mqtts://[]:65535"))


def node_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise vol.Invalid("may only contain letters, digits, '_' and '-'")
    return value


def field_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise vol.Invalid('expected a list of field keys, e.g. ["p", "p24h"]')
    unknown = [v for v in value if not isinstance(v, str) or v not in FIELD_KEYS]
    if unknown:
        shown = bounds.shown(unknown[0])
        raise vol.Invalid(f"unknown field {shown}; fields are {', '.join(FIELD_KEYS)}")
    return value


def coin_id_of(key: object) -> int | None:
    """A table key naming a coin (`[coins.1027]`) as its id: ASCII digits without a leading
    zero (int() would also read "١٠٢٧" and choke on "²"; "01" would be a second table for 1),
    within 1..2^31-1; None otherwise."""
    text = str(key)
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text):
        return None
    number = int(text)
    return number if is_coin_id(number) else None


def coin_tables(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise vol.Invalid("expected a table of coin ids")
    for key in value:
        if coin_id_of(key) is None:
            raise vol.Invalid(
                f"must be a CoinMarketCap id (a number from 1 to {MAX_COIN_ID})", path=[key]
            )
    return value


def currency_code(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value.strip()):
        raise vol.Invalid('expected an ISO 4217 code such as "EUR"')
    return value.strip().upper()
