"""The exchange rate from US dollars to the user's currency, and how much to trust it.

The stream is USD only. The rate comes from one source the user picks (`FxSettings.source`):

- `coinmarketcap`: `/v2/tools/price-conversion` every `interval` seconds (1 credit a call), a job
  for the REST worker (`rest/rates.py`); the code is resolved once through `/v1/fiat/map`
  (1 credit, cached on disk beside the coin names; `FiatDirectory`). Each call that may have
  cost a credit is told to a `spend` callback (the bridge's credit meter), and a budget that
  is spent pauses the calls until the month turns;
- `mqtt`: a topic the user already has, e.g. one Home Assistant publishes (an extension,
  `extensions/rate_topic.py`); the payload is a number, or JSON `{"rate": n}`;
- `fixed`: a number from the configuration, never stale.

Every rate passes one `RateKeeper`. It refuses what cannot be a rate (not a number, not finite,
not above 0, outside 10^-6..10^9) and a jump of more than 20 % from the last good one, logging
each kind of problem once and keeping the last good rate. It knows the rate's age: older than
`max_age`, the rate is not offered any more and converted values must go `offline` rather than
look live.

A jump that is real (a devaluation; or a first rate that was wrong) would otherwise lock the
bridge out for good, so a new level is accepted once `confirmations` offers in a row agree with
each other (within 2 %); a one-off spike never does. `confirmations = 0` refuses every jump.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Final, Literal

from ..errors import CmcMqttError
from ..model.bounds import MAX_NUMBER_TEXT, MAX_RATE, MIN_RATE, shown
from .currency import CONTEXT

LOG = logging.getLogger(__name__)

MAX_JUMP: Final = Decimal("0.20")
CONFIRM_WITHIN: Final = Decimal("0.02")
DEFAULT_INTERVAL: Final = 900.0
#: A rate is kept to 12 significant digits: a float's shortest text (`0.9200000000000002`)
#: loses its artefact, and no real rate has more.
RATE_DIGITS: Final = 12
_RATE_CONTEXT: Final = Context(prec=RATE_DIGITS)
#: A rate topic's payload is a number or a small JSON object: anything longer is not read.
MAX_RATE_PAYLOAD: Final = 1024
_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

Source = Literal["coinmarketcap", "mqtt", "fixed"]
SOURCES: Final[tuple[Source, ...]] = ("coinmarketcap", "mqtt", "fixed")


class RateError(CmcMqttError):
    """A value that cannot be a rate; `problem` names the kind, for logging it once."""

    def __init__(self, problem: str, detail: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}: {detail}")


# --- parsing ---


def parse_rate(value: object) -> Decimal:
    """A rate from a number or a number's text; `RateError` unless finite and within
    `MIN_RATE`..`MAX_RATE` (`bounds.py`). Floats become their shortest text first, then every
    rate is kept to `RATE_DIGITS`. A refused value is repeated cut short, never written out."""
    if isinstance(value, bool) or value is None:
        raise RateError("not a number", repr(value))
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        if abs(value) >= 10**MAX_NUMBER_TEXT:
            raise RateError("out of range", shown(value))
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise RateError("not finite", repr(value))
        number = Decimal(repr(value))
    elif isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        text = text.strip()
        if len(text) > MAX_NUMBER_TEXT or not _NUMBER.fullmatch(text):
            raise RateError("not a number", shown(text))
        number = Decimal(text)
    else:
        raise RateError("not a number", type(value).__name__)
    if not number.is_finite():
        raise RateError("not finite", shown(str(number)))
    if number <= 0:
        raise RateError("not above 0", shown(value))
    if not MIN_RATE <= number <= MAX_RATE:
        raise RateError("out of range", shown(value))
    try:
        return _RATE_CONTEXT.plus(number).normalize(_RATE_CONTEXT)
    except InvalidOperation as exc:
        raise RateError("not finite", shown(value)) from exc


def parse_rate_payload(payload: bytes, key: str = "rate") -> Decimal:
    """A rate from an MQTT payload: a plain number (`0.92`, what Home Assistant's state is),
    a JSON number, a JSON string holding a number, or a JSON object with the number at `key`."""
    if len(payload) > MAX_RATE_PAYLOAD:
        raise RateError("not a number", f"a payload of {len(payload)} bytes")
    text = payload.decode("utf-8", "replace").strip()
    if _NUMBER.fullmatch(text):
        return parse_rate(text)
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse)
    except (ValueError, RecursionError) as exc:
        raise RateError("not a number", shown(text)) from exc
    if isinstance(data, dict):
        if key not in data:
            raise RateError("no rate in the JSON", f"no {key!r} key")
        data = data[key]
    return parse_rate(data)


def _refuse(constant: str) -> Any:
    raise ValueError(constant)


def rate_text(rate: Decimal) -> str:
    """The rate as published: plain digits, no exponent (`0.92`, `155`)."""
    return f"{rate:f}"


def invert(rate: Decimal) -> Decimal:
    """USD per unit -> units per USD (for a topic that publishes EUR/USD, e.g. 1.087)."""
    return parse_rate(CONTEXT.divide(Decimal(1), rate))


# --- the keeper ---


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate that was accepted: units of the currency per US dollar."""

    value: Decimal
    source: str
    received: float  # the keeper's clock (monotonic) when it was accepted
    wall: float  # time.time() then, for people


class RateKeeper:
    """The one rate in use; shared by the thread that offers rates (REST worker, MQTT) and the
    ones that convert with it. Every method is thread-safe."""

    def __init__(
        self,
        currency: str,
        *,
        max_age: float | None,
        max_jump: Decimal = MAX_JUMP,
        confirmations: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`max_age` None: the rate never goes stale (a fixed rate)."""
        self.currency = currency
        self.max_age = max_age
        self._max_jump = max_jump
        self._confirmations = confirmations
        self._clock = clock
        self._lock = threading.Lock()
        self._rate: Rate | None = None
        self._candidate: Decimal | None = None
        self._candidate_count = 0
        self._logged: set[str] = set()
        self.refused = 0
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, callback: Callable[[], None]) -> None:
        """`callback` runs (on the offering thread) after each accepted rate."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def offer(self, value: object, source: str) -> bool:
        """Take `value` as the new rate if it is one and no implausible jump; True if taken."""
        try:
            rate = parse_rate(value)
        except RateError as exc:
            self.report(exc, source)
            return False
        with self._lock:
            last = self._rate
            jump = last is not None and abs(rate / last.value - 1) > self._max_jump
            taken = not jump or self._confirmed(rate)
            if taken:
                self._rate = Rate(rate, source, self._clock(), time.time())
                self._candidate, self._candidate_count = None, 0
        if not taken:
            assert last is not None
            self._refuse(
                "jump",
                f"{source}: {rate_text(rate)} is more than {self._max_jump * 100:.0f} % from "
                f"the last good {rate_text(last.value)}; kept that",
            )
            return False
        if jump:
            LOG.warning(
                "accepted the %s/USD rate %s: %d readings in a row agreed on it",
                self.currency,
                rate_text(rate),
                self._confirmations,
            )
        for listener in list(self._listeners):
            listener()
        return True

    def report(self, error: RateError, source: str) -> None:
        """Count and log (once per kind of problem) a value a source could not use."""
        self._refuse(error.problem, f"{source}: {error}")

    def _confirmed(self, rate: Decimal) -> bool:
        """Count a jump towards a new level (lock held); True once enough agree."""
        if self._confirmations <= 0:
            return False
        candidate = self._candidate
        if candidate is not None and abs(rate / candidate - 1) <= CONFIRM_WITHIN:
            self._candidate_count += 1
        else:
            self._candidate_count = 1
        self._candidate = rate
        return self._candidate_count >= self._confirmations

    def _refuse(self, problem: str, text: str) -> None:
        with self._lock:
            self.refused += 1
            first = problem not in self._logged
            self._logged.add(problem)
        if first:
            LOG.warning("refused a %s/USD rate (%s)", self.currency, text)
        else:
            LOG.debug("refused a %s/USD rate (%s)", self.currency, text)

    def last(self) -> Rate | None:
        """The last good rate, however old."""
        with self._lock:
            return self._rate

    def age(self) -> float | None:
        """Seconds since the last good rate came in; None before the first."""
        rate = self.last()
        return None if rate is None else max(0.0, self._clock() - rate.received)

    def is_stale(self) -> bool:
        """True with no rate yet, or one older than `max_age`."""
        rate = self.last()
        if rate is None:
            return True
        return self.max_age is not None and self._clock() - rate.received > self.max_age

    def rate(self) -> Decimal | None:
        """The rate to convert with, or None when there is none fresh enough."""
        rate = self.last()
        return None if rate is None or self.is_stale() else rate.value

    def info(self) -> dict[str, object]:
        """For `bridge/info`: the rate's text, source, age, freshness and refusals."""
        rate = self.last()
        age = self.age()
        return {
            "currency": self.currency,
            "rate": None if rate is None else rate_text(rate.value),
            "source": None if rate is None else rate.source,
            "age_s": None if age is None else round(age),
            "stale": self.is_stale(),
            "refused": self.refused,
        }


# --- settings, as proposed for `[cmc]` ---


@dataclass(frozen=True, slots=True)
class FxSettings:
    """`[cmc] currency` and the `fx_*` keys; USD needs none of them."""

    currency: str = "USD"
    source: Source = "coinmarketcap"
    interval: float = DEFAULT_INTERVAL  # coinmarketcap: seconds between calls
    max_age: float | None = None  # None: the source's default (`default_max_age`)
    topic: str | None = None  # mqtt
    topic_key: str = "rate"  # mqtt: the key in a JSON payload
    inverted: bool = False  # mqtt: the topic gives USD per unit
    rate: Decimal | None = None  # fixed

    @property
    def converts(self) -> bool:
        return self.currency.upper() != "USD"


def default_max_age(source: Source, interval: float = DEFAULT_INTERVAL) -> float | None:
    """How old a rate may get before converted values go `offline`: three missed calls for
    CoinMarketCap; four days for a topic (reference rates such as the ECB's are not published
    on weekends and holidays); never for a fixed rate."""
    if source == "coinmarketcap":
        return 3 * interval + 60.0
    if source == "mqtt":
        return 4 * 86400.0
    return None


def make_keeper(settings: FxSettings, clock: Callable[[], float] = time.monotonic) -> RateKeeper:
    """The keeper for these settings; a fixed rate (or USD's 1) is offered at once."""
    max_age = settings.max_age
    if max_age is None:
        max_age = default_max_age(settings.source, settings.interval)
    if not settings.converts:
        keeper = RateKeeper("USD", max_age=None, clock=clock)
        keeper.offer(1, "identity")
        return keeper
    keeper = RateKeeper(settings.currency.upper(), max_age=max_age, clock=clock)
    if settings.source == "fixed" and settings.rate is not None:
        keeper.offer(settings.rate, "fixed")
    return keeper
