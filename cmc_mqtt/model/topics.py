"""Every topic name the bridge writes, and the payloads rendered from a coin's exact texts.

No topic is built from stream text: only the numeric coin id and the field keys of the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .fields import FIELD_KEYS

ONLINE: Final = "online"
OFFLINE: Final = "offline"

Message = tuple[str, str]

_JSON_KEYS: Final = tuple(f'"{key}":' for key in FIELD_KEYS)


class Topics:
    """Every topic name the bridge writes: none comes from stream text, only the numeric id."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.status = f"{prefix}/status"
        self.info = f"{prefix}/bridge/info"

    def coin_base(self, coin_id: int) -> str:
        """`<prefix>/<id>/`; a topic is this plus a field key, `json`, `status` or `text`."""
        return f"{self.prefix}/{coin_id}/"

    def coin(self, coin_id: int) -> dict[str, str]:
        """Field key (and "json", "status", "text") -> topic for one coin."""
        base = self.coin_base(coin_id)
        topics = {key: base + key for key in FIELD_KEYS}
        for extra in ("json", "status", "text"):
            topics[extra] = base + extra
        return topics


def quote_json(coin_id: int, texts: Sequence[str | None], ts: int | None) -> str:
    """All last good fields plus `cid` and `ts`, written from exact texts (no float rounding)."""
    parts = [f'"cid":{coin_id}']
    parts.extend(
        label + text for label, text in zip(_JSON_KEYS, texts, strict=True) if text is not None
    )
    parts.append(f'"ts":{ts if ts is not None else "null"}')
    return "{" + ",".join(parts) + "}"
