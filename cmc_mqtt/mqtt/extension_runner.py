"""Running the publisher's extensions, each hook contained: one that raises is counted
(`extension_errors` in `bridge/info`) and logged once with its traceback, and the rest go on. A
bug in one extra must not stop every value from being published.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .extension import Extension, Outbox, PublisherExtension

LOG = logging.getLogger(__name__)


class ExtensionRunner:
    """Calls the extensions' hooks in order, on the thread holding the publisher's I/O lock."""

    def __init__(
        self, extensions: list[PublisherExtension], *, count_error: Callable[[], None]
    ) -> None:
        #: The extensions, in order; others may add to it until `start`.
        self.extensions = extensions
        self._count_error = count_error
        self._on_batch: list[PublisherExtension] = []
        self._failed: set[tuple[str, str]] = set()

    def start(self) -> None:
        for extension in self.extensions:
            extension.start()
        # Run after every batch, on the hot path: only the extensions that do something then.
        self._on_batch = [e for e in self.extensions if _overrides(e, "on_batch")]

    def stop(self) -> None:
        for extension in self.extensions:
            extension.stop()

    def on_batch(self, out: Outbox) -> None:
        """After each batch of state values: called per frame, so the loop is written out."""
        for extension in self._on_batch:
            try:
                extension.on_batch(out)
            except Exception:  # noqa: BLE001 - contained, counted and logged
                self._failed_hook(extension, "on_batch")

    def on_connected(self, out: Outbox) -> None:
        self._each("on_connected", out)

    def on_message(self, topic: str, payload: bytes, retained: bool, out: Outbox) -> None:
        self._each("on_message", topic, payload, retained, out)

    def tick(self, now: float, out: Outbox) -> None:
        self._each("tick", now, out)

    def _each(self, hook: str, *args: object) -> None:
        for extension in self.extensions:
            try:
                getattr(extension, hook)(*args)
            except Exception:  # noqa: BLE001 - contained, counted and logged
                self._failed_hook(extension, hook)

    def _failed_hook(self, extension: PublisherExtension, hook: str) -> None:
        """Inside the `except`: count it, and log it with its traceback the first time."""
        self._count_error()
        failure = (type(extension).__name__, hook)
        if failure not in self._failed:
            self._failed.add(failure)
            LOG.exception(
                "%s.%s failed; carrying on without it this time (counted in bridge/info "
                "as extension_errors, logged once)",
                *failure,
            )


def _overrides(extension: PublisherExtension, hook: str) -> bool:
    """Whether `extension` does anything in `hook` (the base `Extension`'s hooks do nothing)."""
    return getattr(type(extension), hook, None) is not getattr(Extension, hook)
