"""How the fake misbehaves: tests change these fields while it runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Behaviour:
    """How the fake behaves; every field may be changed while it runs."""

    answer_upgrade: bool = True  # False: accept TCP, never answer the HTTP upgrade
    welcome_delay: float = 0.0
    ping_interval_ms: int = 10_000
    answer_pings: bool = True
    push_data: bool = True
    stalled: bool = False  # send nothing at all, keep the connection open
    subscribe_error: str | None = None  # answer subscribe with this error code instead of ack
    close_after_welcome: int | None = None  # close with this code right after the welcome
    flood_frames: int = 0  # after a subscribe, send this many frames as fast as they are taken
    flood_rate: float = 0.0  # flood frames per second; 0: as fast as they are taken
    flood_batch: int = 64  # flood frames per write; 1: each in its own TCP segment
    rest_delay: float = 0.0  # seconds before each REST answer (slow lookups)
