"""Which coin rides on which connection, without I/O: a coin keeps its connection across
reconnects and restarts (the layout is saved), so a change of coins moves no other coin.
"""

from __future__ import annotations

from collections.abc import Sequence

from .limits import Limits

Layout = list[tuple[int, ...]]


def plan_layout(current: Layout, wanted: Sequence[int], limits: Limits) -> tuple[Layout, list[int]]:
    """Spread `wanted` over connections: every id stays where it is while it fits, new ids fill
    the connections with room first, then new connections; what does not fit is left out.
    Returns the layout (one tuple per existing connection, in order, then new ones; an empty
    tuple for a connection that is no longer needed) and the ids left out."""
    cap, most = max(1, limits.ids_per_connection), max(1, limits.max_connections)
    wanted_set = set(wanted)
    placed: set[int] = set()
    layout: list[list[int]] = []
    for position, shard in enumerate(current):
        keep: list[int] = []
        if position < most:
            for cid in shard:
                if cid in wanted_set and cid not in placed and len(keep) < cap:
                    keep.append(cid)
                    placed.add(cid)
        layout.append(keep)
    rest = [cid for cid in dict.fromkeys(wanted) if cid not in placed]
    for position, kept in enumerate(layout):
        if position >= most or not rest:
            continue
        room = cap - len(kept)
        if room > 0 and kept:  # an emptied connection is closed, not refilled
            kept.extend(rest[:room])
            rest = rest[room:]
    live = sum(1 for shard in layout if shard)
    while rest and live < most:
        layout.append(rest[:cap])
        rest = rest[cap:]
        live += 1
    return [tuple(shard) for shard in layout], rest


def format_ids(ids: Sequence[int], most: int = 20) -> str:
    shown = ", ".join(str(i) for i in ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")
