"""What happened, counted for `bridge/info`: frames, what was refused, dropped or failed, the
publishes; and the notices an operator should read (a budget passed, coins left out).

Counted from every thread (the stream's, the MQTT thread, the REST worker) under a lock of its
own, apart from the state's values: a count never waits for a quote, nor a quote for a count.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(slots=True)
class Counters:
    frames: int = 0
    malformed: int = 0
    rejected_fields: int = 0
    unexpected_coins: int = 0
    server_errors: int = 0
    reconnects: int = 0
    publishes: int = 0
    refused_requests: int = 0
    rate_limited_requests: int = 0
    extension_errors: int = 0
    oversized_payloads: int = 0


class Tally:
    def __init__(self) -> None:
        self.counters = Counters()
        self._tally_lock = threading.Lock()
        #: Things an operator should know (a budget passed, coins left out), by topic.
        self._notices: dict[str, str] = {}
        self._last_frame_wall: float | None = None  # time.time() of the last frame taken

    def set_notice(self, topic: str, text: str | None) -> None:
        """Add, replace or (with None) withdraw a notice shown in `bridge/info`."""
        with self._tally_lock:
            if text is None:
                self._notices.pop(topic, None)
            else:
                self._notices[topic] = text

    def count_refused_request(self) -> None:
        with self._tally_lock:
            self.counters.refused_requests += 1

    def count_rate_limited_request(self) -> None:
        with self._tally_lock:
            self.counters.rate_limited_requests += 1

    def count_rejected_field(self) -> None:
        with self._tally_lock:
            self.counters.rejected_fields += 1

    def count_malformed(self) -> None:
        with self._tally_lock:
            self.counters.malformed += 1

    def count_server_error(self) -> None:
        with self._tally_lock:
            self.counters.server_errors += 1

    def count_oversized_payload(self) -> None:
        with self._tally_lock:
            self.counters.oversized_payloads += 1

    def count_extension_error(self) -> None:
        with self._tally_lock:
            self.counters.extension_errors += 1

    def count_publishes(self, count: int) -> None:
        with self._tally_lock:
            self.counters.publishes += count

    def tally_fields(self) -> dict[str, object]:
        with self._tally_lock:
            c = self.counters
            last = self._last_frame_wall
            return {
                "frames": c.frames,
                "malformed_frames": c.malformed,
                "rejected_fields": c.rejected_fields,
                "unexpected_coins": c.unexpected_coins,
                "server_errors": c.server_errors,
                "reconnects": c.reconnects,
                "publishes": c.publishes,
                "refused_requests": c.refused_requests,
                "rate_limited_requests": c.rate_limited_requests,
                "extension_errors": c.extension_errors,
                "oversized_payloads": c.oversized_payloads,
                "last_frame_time": (
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last)) if last else None
                ),
                "notices": sorted(self._notices.values()),
            }
