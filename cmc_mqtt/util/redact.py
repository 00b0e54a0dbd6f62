"""The log formatter that keeps secrets out of every line the bridge writes."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Final

from .secret import PLACEHOLDER_KEYS, Secret

#: Secrets shorter than this are masked only as words of their own (see RedactingFormatter).
WHOLE_WORD_BELOW: Final = 12


class RedactingFormatter(logging.Formatter):
    """Masks secrets in the final text, so no message, argument or traceback can leak them.

    Only where the secret itself appears: a long one (a CoinMarketCap key is a 36-character
    UUID) wherever it occurs, a short one (a broker password such as "k") only as a word of its
    own, so that it cannot turn "broker" into "bro**********er"; placeholder keys (the
    simulator's "simulator") are no secrets and stay as they are."""

    def __init__(self, fmt: str, secrets: Sequence[Secret]) -> None:
        super().__init__(fmt)
        values = sorted(
            {s.reveal() for s in secrets if s and s.reveal() not in PLACEHOLDER_KEYS},
            key=len,
            reverse=True,  # a secret that contains another is masked whole
        )
        patterns = [
            re.escape(value)
            if len(value) >= WHOLE_WORD_BELOW
            else rf"(?<!\w){re.escape(value)}(?!\w)"
            for value in values
        ]
        self._pattern = re.compile("|".join(patterns)) if patterns else None

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return self._pattern.sub(Secret.MASK, text) if self._pattern is not None else text
