"""How long a stream connection waits for what: one policy for the pool, its sessions and their
connections."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StreamTimings:
    """Timing policy; tests shorten it, the defaults follow the protocol description."""

    connect_timeout: float = 10.0
    welcome_timeout: float = 5.0
    ack_timeout: float = 10.0
    recv_timeout: float = 0.5
    dead_after_pings: float = 2.0  # no pong or data for this many ping intervals: dead
    backoff_initial: float = 1.0
    backoff_cap: float = 60.0
    permanent_retry: float = 600.0
    stagger: float = 1.0  # between opening one connection of a pool and the next
