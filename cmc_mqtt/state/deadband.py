"""The deadband of `publish_mode = "changed"`: a field's topic gets a new value only when it
moved by at least so much since the value it was last given, so small moves add up until they
count instead of each being lost.
"""

from __future__ import annotations

import math
from typing import Final

from ..model.fields import FIELDS, FieldKind

#: Percent fields move in percentage points; amounts in percent of their last value.
_IN_POINTS: Final = tuple(f.kind is FieldKind.PERCENT for f in FIELDS)


class Deadband:
    __slots__ = ("size",)

    def __init__(self, size: float) -> None:
        self.size = size

    def moved(self, published: list[float | None], index: int, text: str | bytes) -> bool:
        """Whether field `index` moved far enough from `published[index]`; if so, `text`'s
        value becomes what the next move is measured from."""
        value = float(text)
        last = published[index]
        if last is not None:
            if _IN_POINTS[index]:
                step = abs(value - last)
            else:
                step = abs(value / last - 1) * 100 if last else (math.inf if value else 0.0)
            if step < self.size:
                return False
        published[index] = value
        return True
