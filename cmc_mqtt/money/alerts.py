"""Alerts when a coin moves: a price crossing a level, or the 24 h change crossing ±X %.

Each rule watches one or every coin. A crossing fires once; the rule then waits until the value
has gone back past the level by the hysteresis before it can fire again, so a price hovering at
the level alerts once, not on every frame. The first value a rule sees only tells it which side
the value is on: starting up above a level is not a crossing.

Values are `Decimal`s from the stream's exact texts (prices converted to the chosen currency),
so "at the level" is exact and no float rounding decides whether something crossed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Final, Literal

from ..errors import ConfigError
from .currency import AmountKind, Currency, amount_text, quantize, round_amount, to_decimal

Kind = Literal["price", "change"]
Direction = Literal["up", "down"]
Directions = Literal["up", "down", "both"]
#: The `event_type`s of Home Assistant's MQTT event entity, one per kind and direction.
EVENT_TYPES: Final = ("price_up", "price_down", "change_up", "change_down")
#: Default hysteresis: a price must move back 1 % of its level, a change 1 percentage point.
PRICE_HYSTERESIS: Final = Decimal("0.01")
CHANGE_HYSTERESIS: Final = Decimal(1)
MAX_RULES: Final = 100


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One rule. `level` is a price in the chosen currency, or for `change` a size in percent
    (5 watches +5 % going up and -5 % going down)."""

    kind: Kind
    level: Decimal
    direction: Directions = "both"
    hysteresis: Decimal | None = None  # None: the default for the kind
    coin: int | None = None  # None: every coin

    def margin(self) -> Decimal:
        if self.hysteresis is not None:
            return self.hysteresis
        return abs(self.level) * PRICE_HYSTERESIS if self.kind == "price" else CHANGE_HYSTERESIS

    def thresholds(self) -> list[tuple[Direction, Decimal]]:
        """(direction, level crossed) for each way this rule fires."""
        ways: list[Direction] = ["up", "down"] if self.direction == "both" else [self.direction]
        if self.kind == "price":
            return [(way, self.level) for way in ways]
        size = abs(self.level)
        return [(way, size if way == "up" else -size) for way in ways]


@dataclass(frozen=True, slots=True)
class Alert:
    """A crossing: which coin, what crossed which level which way, its value, when."""

    cid: int
    kind: Kind
    direction: Direction
    level: Decimal
    value: Decimal
    time: float  # time.time()
    currency: Currency | None = None  # price alerts: the currency of level and value

    @property
    def event_type(self) -> str:
        return f"{self.kind}_{self.direction}"

    def value_text(self) -> str:
        """The value as the bridge shows it: a price rounded as published, a change to 0.01."""
        if self.kind == "price" and self.currency is not None:
            return amount_text(round_amount(self.value, self.currency, AmountKind.PRICE))
        return amount_text(quantize(self.value, 2))

    def payload(self) -> str:
        """JSON for `<prefix>/<id>/alert`; `event_type` is what Home Assistant's event entity
        reads. Numbers are written from decimals: no float artefacts."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time))
        currency = f'"{self.currency.code}"' if self.currency is not None else "null"
        unit = currency if self.kind == "price" else '"%"'
        return (
            f'{{"event_type":"{self.event_type}","kind":"{self.kind}",'
            f'"direction":"{self.direction}","level":{amount_text(self.level)},'
            f'"value":{self.value_text()},"unit":{unit},"time":"{stamp}","cid":{self.cid}}}'
        )


class _State(Enum):
    ARMED = "armed"  # on the far side: the next crossing fires
    FIRED = "fired"  # crossed (or started past the level): waits to move back past the margin


class AlertEngine:
    """The rules and each one's state per coin. Thread-safe: checked on the MQTT thread, coins
    changed by requests."""

    def __init__(self, rules: Iterable[AlertRule], currency: Currency | None = None) -> None:
        self.rules = tuple(rules)
        self.currency = currency
        self._lock = threading.Lock()
        self._triggers = [
            (index, rule, way, level, rule.margin())
            for index, rule in enumerate(self.rules)
            for way, level in rule.thresholds()
        ]
        self._states: dict[tuple[int, str, int], _State] = {}

    def check(
        self, cid: int, price: Decimal | None, change: Decimal | None, now: float | None = None
    ) -> list[Alert]:
        """Feed a coin's newest price (in the chosen currency) and 24 h change; the alerts that
        fired. A None value (no price yet, no fresh rate) leaves the rules on it as they are."""
        when = time.time() if now is None else now
        fired: list[Alert] = []
        with self._lock:
            for index, rule, way, level, margin in self._triggers:
                if rule.coin is not None and rule.coin != cid:
                    continue
                value = price if rule.kind == "price" else change
                if value is None:
                    continue
                key = (index, way, cid)
                if self._step(key, way, level, margin, value):
                    currency = self.currency if rule.kind == "price" else None
                    fired.append(Alert(cid, rule.kind, way, level, value, when, currency))
        return fired

    def _step(self, key: tuple[int, str, int], way: str, level: Decimal, margin: Decimal,
              value: Decimal) -> bool:  # fmt: skip
        """Advance one trigger's state; True when it fires (lock held)."""
        beyond = value >= level if way == "up" else value <= level
        state = self._states.get(key)
        if state is None:
            self._states[key] = _State.FIRED if beyond else _State.ARMED
            return False
        if state is _State.ARMED:
            if beyond:
                self._states[key] = _State.FIRED
                return True
            return False
        back = value < level - margin if way == "up" else value > level + margin
        if back:
            self._states[key] = _State.ARMED
        return False

    def keep_only(self, cids: Iterable[int]) -> None:
        """Forget the state of coins no longer streamed."""
        keep = set(cids)
        with self._lock:
            self._states = {k: s for k, s in self._states.items() if k[2] in keep}


# --- configuration ---


def parse_rules(raw: Any, key: str = "alerts") -> tuple[AlertRule, ...]:
    """`[[alerts]]` tables: `price = 100000` or `change = 5`, optional `coin`, `direction`
    ("up", "down", "both") and `hysteresis`. ConfigError with one line per problem."""
    if not isinstance(raw, list):
        raise ConfigError([f"{key}: expected [[{key}]] tables"])
    if len(raw) > MAX_RULES:
        raise ConfigError([f"{key}: at most {MAX_RULES} rules, got {len(raw)}"])
    problems: list[str] = []
    rules: list[AlertRule] = []
    for index, table in enumerate(raw):
        where = f"{key}[{index}]"
        try:
            rules.append(_rule(table, where))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return tuple(rules)


def _rule(table: Any, where: str) -> AlertRule:
    if not isinstance(table, Mapping):
        raise ConfigError([f"{where}: expected a table"])
    problems = [
        f"{where}.{name}: unknown key; known: change, coin, direction, hysteresis, price"
        for name in sorted(set(table) - {"price", "change", "coin", "direction", "hysteresis"})
    ]
    kinds = [k for k in ("price", "change") if k in table]
    if len(kinds) != 1:
        problems.append(f"{where}: give exactly one of price (a level) or change (a percent)")
    kind: Kind = "change" if kinds == ["change"] else "price"
    level = _number(table.get(kind), f"{where}.{kind}", problems, positive=kind == "price")
    direction = table.get("direction", "both")
    if direction not in ("up", "down", "both"):
        problems.append(f'{where}.direction: expected "up", "down" or "both", got {direction!r}')
    hysteresis = None
    if "hysteresis" in table:
        hysteresis = _number(table["hysteresis"], f"{where}.hysteresis", problems)
    coin = table.get("coin")
    if coin is not None and (type(coin) is not int or coin < 1):
        problems.append(f"{where}.coin: expected a coin id (a whole number >= 1), got {coin!r}")
    if problems:
        raise ConfigError(problems)
    return AlertRule(kind, level, direction, hysteresis, coin)


def _number(value: Any, where: str, problems: list[str], *, positive: bool = False) -> Decimal:
    """A Decimal >= 0 (> 0 with `positive`), or a problem noted and 0."""
    if value is None:
        return Decimal(0)  # the missing kind was reported already
    wanted = "a number > 0" if positive else "a number >= 0"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.append(f"{where}: expected {wanted}, got {value!r}")
        return Decimal(0)
    try:
        number = to_decimal(repr(value) if isinstance(value, float) else str(value))
    except ValueError:
        problems.append(f"{where}: expected {wanted}, got {value!r}")
        return Decimal(0)
    if number < 0 or (positive and number == 0):
        problems.append(f"{where}: expected {wanted}, got {value!r}")
    return number
