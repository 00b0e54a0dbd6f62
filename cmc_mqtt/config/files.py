"""Reading a file the configuration names, at most as many bytes as it may hold.

A config file, an API key file or the add-on's options can be anything a path names: a FIFO with
no writer, `/dev/zero`, a file of gigabytes. Each is read without waiting and without reading
more than its bound.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..model import bounds


class TooLarge(OSError):
    """A file larger than its bound (read no further)."""


def read_bounded(path: Path, limit: int, *, regular: bool = False) -> bytes:
    """At most `limit` bytes of `path`, `TooLarge` beyond: `/dev/zero` or a huge file costs no
    more than that. With `regular`, only a regular file is read (`NotRegular` otherwise): a FIFO
    with no writer would hang the start. Opening never blocks (O_NONBLOCK)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except ValueError:  # a NUL in the name
        raise FileNotFoundError(2, "No such file or directory") from None
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
