"""Counts in words for the lines people read: "1 coin", "2 coins"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun plural unless the count is one (`plural` where adding an
    "s" would be wrong)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
