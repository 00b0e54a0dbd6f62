"""How large and how precise every amount that enters the bridge may be, and the one parser that
holds an amount to its bounds.

Amounts come from people and programs the bridge cannot trust: the configuration, the add-on's
options, requests over MQTT (anyone on the broker may send one), a rate topic, the state file.
An amount is worked on as an exact `Decimal`, and an unbounded one costs without limit:
`"1e2000000"` is 11 characters, its plain text 2 MB, and the product of two such numbers can
exhaust memory or trap the decimal context. So every amount is bounded where it enters, by its
kind, and what is out of range is refused with one line naming it — never saved, never used.

The bounds are generous for real use and small enough that every product the bridge computes
(a holding times a converted price, rounded to cents) stays exact in `money.CONTEXT`:

| kind | range | decimals |
| --- | --- | --- |
| a holding (coins) | 0 to 10^18 | 18 |
| an exchange rate (units per US dollar) | 10^-6 to 10^9 | 12 significant digits |
| an alert's price level | above 0, up to 10^15 | 12 |
| an alert's change level, a hysteresis (percent) | 0 to 10^6 | 12 |
| a price alert's hysteresis (currency units, as its level) | 0 to 10^15 | 12 |
| credits per stream message or subscription | 0 to 1000 | 6 |
| a month's credit budget | 1 to 10^9 | 6 |

The stream's own fields are bounded by the field table (`fields.Field.maximum`).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Final

from ..errors import ConfigError

#: The longest number text read at all: every bounded amount fits in far fewer characters.
MAX_NUMBER_TEXT: Final = 64
MAX_HOLDING: Final = Decimal("1e18")
HOLDING_PLACES: Final = 18
#: Units per US dollar run from about 0.3 (Kuwaiti dinar) to about 10^5 (Iranian rial, market):
#: anything outside these bounds is a unit mix-up, not a rate.
MIN_RATE: Final = Decimal("1e-6")
MAX_RATE: Final = Decimal("1e9")
MAX_PRICE_LEVEL: Final = Decimal("1e15")
MAX_CHANGE_LEVEL: Final = Decimal("1e6")
LEVEL_PLACES: Final = 12
#: How much of a refused value a message repeats: enough to recognise it, never all of it.
SHOWN_CHARS: Final = 40

_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def shown(value: object) -> str:
    """`value` as a refusal repeats it: its repr, cut short (a huge int is not written out)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def parse_amount(
    value: object,
    key: str,
    *,
    maximum: Decimal,
    places: int,
    positive: bool = False,
    what: str = "a number",
) -> Decimal:
    """`value` (an int, a float, a number's text or a Decimal) as an exact Decimal within
    0..`maximum` (above 0 with `positive`) with at most `places` decimals; `ConfigError` with
    one line naming `key` otherwise. A float is read as its shortest text (`0.1` is 0.1), an
    exponent form as the number it writes (`"1e3"` is 1000); nothing is rounded."""
    low = "above 0" if positive else "from 0"
    problem = f"{key}: expected {what} {low} up to {written(maximum)}, at most {places} decimals"
    number = _decimal(value)
    if number is None:
        raise ConfigError([f"{problem}, got {shown(value)}"])
    if number < 0 or (positive and number == 0) or number > maximum:
        raise ConfigError([f"{problem}, got {shown(value)}"])
    if _exponent(number) < 0 and -_exponent(number.normalize()) > places:
        raise ConfigError([f"{problem}, got {shown(value)}"])
    if _exponent(number) > 0:
        number = number.quantize(Decimal(1))  # 1E+3 is written 1000
    return number


def _exponent(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0  # only NaN and infinities have none


def written(bound: Decimal) -> str:
    """A bound as a message writes it: `10^18` for a power of ten, else its digits."""
    digits = bound.normalize().as_tuple()
    if digits.digits == (1,) and _exponent(bound.normalize()) >= 6:
        return f"10^{_exponent(bound.normalize())}"
    return f"{bound:f}"


def _decimal(value: object) -> Decimal | None:
    """A finite Decimal from a number or a number's text of bounded length; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        # Compared before it is written out: a 5,000-digit int is refused, not printed.
        return Decimal(value) if abs(value) < 10**MAX_NUMBER_TEXT else None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT or not _NUMBER.fullmatch(text):
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


#: Credits: what one stream message or subscription costs, and a month's budget (the largest
#: plans have a few million credits a month).
MAX_CREDIT_COST: Final = Decimal(1000)
MAX_CREDIT_BUDGET: Final = Decimal("1e9")
CREDIT_PLACES: Final = 6
