"""The bridge's own small JSON files (what it remembers, the coin-name and fiat caches): written
whole and atomically, read strictly and within bounds, and never a reason not to start.

A file the bridge wrote can still be unreadable later: a kill mid-write by an older version, a
full disk, an edit by hand, a copy from elsewhere, another program of the same user. So reading
ends in one of three ways: the data, nothing (no file), or `Unreadable`, which the owner answers
with `set_aside`: one log line, and the file renamed to `<name>.corrupt-<UTC time>` beside it
rather than deleted, so nothing is lost and the next start is clean. Only the newest few
set-aside copies of a file are kept, so a file that keeps going bad cannot fill the disk.

What is read is bounded like every input: its size, its nesting (json raises RecursionError past
about 1,000 levels; that is caught), its numbers (NaN and the infinities are refused, and so is
a number of more than 64 characters, which would otherwise be converted at a cost that grows
with its length). What is written is checked the same way: no NaN, never more than the reader
takes.

Temporary files are named `.<stem>-<pid>-<random>.tmp`, so that at start the leftovers of a
killed writer (its process is gone) can be told from another live process's write in progress.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from ..errors import CmcMqttError

LOG = logging.getLogger(__name__)

#: The longest number text read: every amount we keep fits in far fewer characters.
MAX_NUMBER_CHARS: Final = 64
#: How many of a file's problems its one log line names.
SHOWN_PROBLEMS: Final = 2
#: How many set-aside copies of one file are kept (the newest).
KEEP_SET_ASIDE: Final = 3
#: A temporary file this old is nobody's write in progress, whoever made it.
STALE_TEMPORARY_S: Final = 600.0
#: The stems of the files we write; a temporary of another name is not ours to remove.
OUR_STEMS: Final = ("state", "coins", "fiats", "identity")
_TEMPORARY: Final = re.compile(
    rf"\.(?P<stem>{'|'.join(OUR_STEMS)})-(?P<pid>\d{{1,9}})-[a-z0-9_]+\.tmp"
)
#: What `tempfile.mkstemp(prefix=".state-")` made before temporaries carried a pid.
_OLD_TEMPORARY: Final = re.compile(r"\.(?P<stem>state|coins|fiats)-[a-z0-9_]{8}")
_PID_MAX: Final = 1 << 22  # Linux's highest pid_max


class Unreadable(CmcMqttError):
    """A file whose content cannot be used; `reason` says why in a few words (never its
    content)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def read_json(path: Path, *, max_bytes: int) -> Any:
    """The file's JSON; None when there is no file; `Unreadable` for anything else that is not
    strict JSON of at most `max_bytes` in a regular file (a directory, a FIFO or a device in
    its place is refused without being read), and for `null`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(f"cannot open it ({exc.strerror or exc})") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise Unreadable(f"not a regular file but {_kind(mode)}")
    with os.fdopen(fd, "rb") as file:
        try:
            raw = file.read(max_bytes + 1)
        except OSError as exc:
            raise Unreadable(f"cannot read it ({exc.strerror or exc})") from exc
    if len(raw) > max_bytes:
        raise Unreadable(f"larger than {max_bytes:,} bytes")
    value = parse(raw)
    if value is None:  # None means "no file" to the caller; none of our files holds null
        raise Unreadable("null, not an object")
    return value


def parse(raw: bytes) -> Any:
    """Strict JSON from UTF-8 bytes: no NaN or infinities, no number longer than
    `MAX_NUMBER_CHARS`, nesting within the interpreter's recursion limit."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 (byte {exc.start})") from exc
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_float, parse_int=_int)
    except RecursionError as exc:
        raise Unreadable("nested too deeply") from exc
    except ValueError as exc:  # json.JSONDecodeError is one
        raise Unreadable(f"not JSON ({_short(exc)})") from exc


def dumps(data: Any) -> str:
    """Compact JSON; ValueError for NaN or an infinity anywhere in `data`."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


def write_json_atomically(path: Path, data: Any, *, max_bytes: int | None = None) -> None:
    """Replace `path` with `data` as JSON; readers see the old file or the new, never half.
    ValueError (and nothing written) for NaN or an infinity, or more than `max_bytes`. A
    symbolic link at `path` is replaced, never written through."""
    text = dumps(data)
    size = len(text.encode("utf-8"))
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"{size:,} bytes, more than the {max_bytes:,} read back")
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_text(path, text)


def replace_text(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (a temporary file beside it, readable by its
    owner only, renamed over it): readers see the old file or the new, never half; a
    symbolic link is replaced, never written through."""
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}-{os.getpid()}-", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def set_aside(path: Path, what: str, reason: str, *, outcome: str = "started without it") -> None:
    """Rename an unusable file out of the way (renamed, not deleted; only set-aside copies
    beyond the newest `KEEP_SET_ASIDE` are removed) and say so in one warning line."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    number = 1
    while os.path.lexists(aside):
        number += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
    try:
        os.rename(path, aside)
    except OSError as exc:
        LOG.warning(
            "the %s %s cannot be used as it is: %s; could not move it aside (%s), %s",
            what, path, reason, exc.strerror or exc, outcome,
        )  # fmt: skip
        return
    LOG.warning(
        "the %s %s cannot be used as it is: %s; moved aside to %s, %s",
        what, path, reason, aside.name, outcome,
    )  # fmt: skip
    _prune_set_aside(path)


def clean_temporaries(folder: Path, *, now: float | None = None) -> int:
    """Remove what killed writers left in `folder`: our temporaries whose process is gone, and
    any of ours older than `STALE_TEMPORARY_S`. Another live process's write in progress is
    never touched. Returns how many were removed."""
    now = time.time() if now is None else now
    removed = 0
    try:
        names = [entry.name for entry in os.scandir(folder)]
    except OSError:
        return 0
    for name in names:
        match = _TEMPORARY.fullmatch(name) or _OLD_TEMPORARY.fullmatch(name)
        if match is None:
            continue
        path = folder / name
        try:
            info = path.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            continue
        pid = int(match.group("pid")) if "pid" in match.groupdict() else None
        orphan = pid is not None and not _alive(pid)
        if orphan or now - info.st_mtime >= STALE_TEMPORARY_S:
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    if removed:
        LOG.info("removed %d temporary files left by interrupted writes in %s", removed, folder)
    return removed


def summary(problems: list[str]) -> str:
    """Problems as one line: the first few, then how many more."""
    text = "; ".join(problems[:SHOWN_PROBLEMS])
    if len(problems) > SHOWN_PROBLEMS:
        text += f"; and {len(problems) - SHOWN_PROBLEMS} more"
    return text


def type_name(value: Any) -> str:
    """JSON's name for a value's type, as a problem says it."""
    names = {dict: "an object", list: "a list", str: "text", bool: "true or false"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process: maybe another part of it writing right now
    if not 0 < pid <= _PID_MAX:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but another user's
    return True


def _prune_set_aside(path: Path) -> None:
    """Keep the newest set-aside copies, by the time in their names (a rename keeps the file's
    own time, which says when it was written, not when it was set aside)."""
    pattern = re.compile(re.escape(path.name) + r"\.corrupt-(\d{8}T\d{6}\.\d{6}Z)(?:-(\d+))?")
    try:
        copies = sorted(
            (match.group(1), int(match.group(2) or 1), entry.name)
            for entry in os.scandir(path.parent)
            if (match := pattern.fullmatch(entry.name)) and not entry.is_dir(follow_symlinks=False)
        )
    except OSError:
        return
    for *_, name in copies[:-KEEP_SET_ASIDE]:
        with contextlib.suppress(OSError):
            (path.parent / name).unlink()


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something else"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number we keep")


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text):,} characters")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{_short_text(text)} is too large")
    return number


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text):,} characters")
    return int(text)


def _short(exc: Exception) -> str:
    return _short_text(str(exc))


def _short_text(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
