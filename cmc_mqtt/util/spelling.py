"""Close spellings for "did you mean …?" hints.

`difflib` is loaded only when a hint is wanted: a configuration without a typo (every bridge
that runs) never needs it, and it would stay in memory for months.
"""

from __future__ import annotations

from collections.abc import Iterable


def close_spellings(word: str, choices: Iterable[str], n: int = 1) -> list[str]:
    import difflib  # noqa: PLC0415 - see the module's docstring

    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)
