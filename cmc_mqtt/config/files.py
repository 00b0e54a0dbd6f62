"""Files of a configuration: reading what it names within a bound, writing one privately.

A config file, an API key file or the add-on's options can be anything a path names: a FIFO with
no writer, `/dev/zero`, a file of gigabytes. Each is read without waiting and without reading
more than its bound. A configuration written here (by `init`, by the add-on) holds the API key
and the broker's password, so no one but its owner may read it, not even for a moment.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..model import bounds
from ..util.jsonfile import replace_text


class TooLarge(OSError):
    """A file larger than its bound (read no further)."""


def read_bounded(path: Path, limit: int, *, regular: bool = False) -> bytes:
    """At most `limit` bytes of `path`, `TooLarge` beyond: `/dev/zero` or a huge file costs no
    more than that. With `regular`, only a regular file is read (`NotRegular` otherwise): a FIFO
    with no writer would hang the start. Opening never blocks (O_NONBLOCK)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except ValueError as exc:  # a NUL in the name
        raise FileNotFoundError(2, "No such file or directory") from exc
    try:
        info = os.fstat(fd)
        if regular and not stat.S_ISREG(info.st_mode):
            raise NotRegular(info.st_mode)
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise TooLarge(f"more than {limit} bytes")
        os.set_blocking(fd, True)  # a pipe with a writer (`--config <(...)`) is waited for
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise TooLarge(f"more than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


class NotRegular(OSError):
    """Not a regular file; `kind` says what it is."""

    def __init__(self, mode: int) -> None:
        kinds = [
            (stat.S_ISDIR, "a directory"),
            (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a FIFO"),
            (stat.S_ISSOCK, "a socket"),
        ]
        self.kind = next((name for test, name in kinds if test(mode)), "not a regular file")
        super().__init__(self.kind)


def shown_path(path: Path) -> str:
    text = str(path)
    return repr(text) if len(text) <= 120 else bounds.shown(text)


def write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write `text` to `path` readable by its owner only. With `replace`, an older file is
    replaced whole in one step, never left half-written; without, an existing file is kept
    (`FileExistsError`), even one made since the caller last looked."""
    if not replace:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        return
    replace_text(path, text)
