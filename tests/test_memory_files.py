"""What the bridge remembers is read like any input: whatever `state.json`, `coins.json` or
`fiats.json` hold, loading them never fails, says so in one line, moves the file aside (never
deletes it), and keeps only values within bounds. NaN and infinities are never read or written;
a change that changes nothing writes nothing; killed writes leave nothing behind."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.model.coins import CoinInfo
from cmc_mqtt.rest.fiats import FiatDirectory
from cmc_mqtt.rest.names import CoinDirectory
from cmc_mqtt.state.memory import MAX_STATE_BYTES, StateFile
from cmc_mqtt.util.jsonfile import (
    KEEP_SET_ASIDE,
    STALE_TEMPORARY_S,
    clean_temporaries,
    write_json_atomically,
)

Loader = Callable[[Path], object]
LOADERS: dict[str, Loader] = {
    "state.json": StateFile,
    "coins.json": lambda folder: CoinDirectory({}, folder),
    "fiats.json": FiatDirectory,
}

#: Contents no file of ours may hold, each of which once stopped the start or was read as is.
HOSTILE: dict[str, bytes] = {
    "wrong type": b'{"coins": 5, "fiats": 5, "added": 5, "holdings": 5, "usage": 5}',
    "not an object": b"[1, 2, 3]",
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "deep objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "NaN": b'{"usage": {"month": "2026-12", "credits": NaN}, "coins": [NaN], "fiats": [NaN]}',
    "Infinity": b'{"usage": {"month": "2026-12", "credits": -Infinity}}',
    "huge float": b'{"usage": {"month": "2026-12", "credits": 1e999}}',
    "huge integer": b'{"added": [' + b"9" * 10_000 + b"]}",
    "long float": b'{"layout": [[0.' + b"1" * 5_000 + b"]]}",
    "bad UTF-8": b'{"added": [1], "x": "\xff\xfe\xc3"}',
    "UTF-16": '{"added": [1]}'.encode("utf-16"),
    "truncated": b'{"added": [1, 2',
    "empty": b"",
    "null": b"null",
    "garbage": bytes(range(256)),
}


def one_line_about(caplog: pytest.LogCaptureFixture, name: str) -> str:
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and name in r.getMessage()
    ]
    assert len(lines) == 1, lines
    assert "\n" not in lines[0]
    return lines[0]


def set_aside(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}.corrupt-*"))


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("name", LOADERS)
def test_a_hostile_file_is_set_aside_in_one_line_and_the_start_goes_on(
    name: str, content: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / name).write_bytes(content)
    LOADERS[name](tmp_path)
    if name == "state.json" and content.startswith(b'{"coins": 5'):
        return  # a state file that has none of these keys: nothing wrong with its own
    line = one_line_about(caplog, name)
    assert "moved aside" in line
    [aside] = set_aside(tmp_path, name)
    assert aside.read_bytes() == content  # nothing lost
    assert len(line) < 400  # the reason, never the content


def test_a_wrong_type_in_the_state_file_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "state.json").write_text('{"added": 5, "holdings": [], "usage": "x"}')
    memory = StateFile(tmp_path)
    assert memory.coin_changes() == ([], [])
    assert memory.holding_changes() == {}
    assert memory.month_usage() == (None, 0.0, 0.0)
    line = one_line_about(caplog, "state.json")
    assert "added: expected a list of coin ids, got a number" in line
    assert "and 1 more" in line


def special_file(kind: str, path: Path) -> None:
    if kind == "directory":
        path.mkdir()
        (path / "inside").write_text("kept")
    elif kind == "FIFO":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "dangling link":
        path.symlink_to(path.parent / "nowhere")
    elif kind == "too large":
        path.write_bytes(b'{"added": [' + b"1, " * MAX_STATE_BYTES + b"1]}")


@pytest.mark.parametrize("kind", ["directory", "FIFO", "device", "dangling link", "too large"])
@pytest.mark.parametrize("name", LOADERS)
def test_something_else_in_a_files_place_is_set_aside_without_being_read(
    name: str, kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A FIFO would block a plain read for good, /dev/zero would fill the memory."""
    path = tmp_path / name
    special_file(kind, path)
    LOADERS[name](tmp_path)
    if kind == "dangling link":  # no file at all: nothing to say, and a write replaces it
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        if name == "state.json":
            StateFile(tmp_path).set_coin_changes([52], [])
            assert not path.is_symlink()
            assert not (tmp_path / "nowhere").exists()
        return
    assert "moved aside" in one_line_about(caplog, name)
    [aside] = set_aside(tmp_path, name)
    assert not os.path.lexists(path)
    if kind == "directory":
        assert (aside / "inside").read_text() == "kept"


def test_what_is_valid_in_a_state_file_is_kept_and_saved_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.json"
    path.write_text(
        json.dumps({
            "added": [52, 0, -1, 2**31, True, "7", 1.5, 52, 74],
            "removed": [1],
            "holdings": {
                "1": {"amount": "1e2000000", "configured": None},
                "2": {"amount": "0.5", "configured": "1E+3"},
                "3": {"amount": "1e-30", "configured": None},
                "4": {"amount": 5, "configured": None},
                "5": {"amount": "1", "configured": "-1"},
                "06": {"amount": "1", "configured": None},
                "\u0661": {"amount": "1", "configured": None},  # an Arabic-Indic 1
                "7": {"amount": " 2.50 ", "configured": None},
            },
            "layout": [[1, 1027], ["x"], [2**40]],
            "usage": {"month": "2026-12", "credits": 4.85, "rest": 99},
            "from a later version": {"kept": True},
        })
    )  # fmt: skip
    memory = StateFile(tmp_path)
    assert memory.coin_changes() == ([52, 74], [1])
    assert memory.holding_changes() == {2: ("0.5", "1000"), 7: ("2.50", None)}
    assert memory.layout() == [(1, 1027), (), ()]
    assert memory.month_usage() == ("2026-12", 4.85, 0.0)
    assert "kept what was valid in it" in one_line_about(caplog, "state.json")
    assert len(set_aside(tmp_path, "state.json")) == 1
    saved = json.loads(path.read_text())
    assert saved["added"] == [52, 74]
    assert saved["from a later version"] == {"kept": True}
    # What was saved again is read back as it is, without a word.
    caplog.clear()
    assert StateFile(tmp_path).holding_changes() == memory.holding_changes()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_hostile_names_in_the_name_cache_are_cleaned_or_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "coins.json").write_text(
        json.dumps({
            "coins": [
                {"id": 5, "name": "Evil\u202eCoin\u2028\x85", "symbol": "E\u200dV", "rank": 3},
                {"id": 6, "name": "\u200d", "symbol": "X"},
                {"id": 2**31, "name": "Too far", "symbol": "TF"},
                {"id": 8, "name": "Rank", "symbol": "R", "rank": 10**30},
                "not an object",
            ]
        })
    )  # fmt: skip
    names = CoinDirectory({}, tmp_path)
    assert names.get(5) == CoinInfo(5, "EvilCoin", "EV")
    assert names.get(5).rank == 3
    assert names.get(6).name == "CMC #6"
    assert names.get(8).rank is None
    assert "3 entries that are not" in one_line_about(caplog, "coins.json")
    saved = json.loads((tmp_path / "coins.json").read_text())["coins"]
    assert [c["id"] for c in saved] == [5, 8]


def test_a_fiat_cache_entry_that_is_not_a_fiat_is_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "fiats.json").write_text(
        json.dumps({
            "fiats": [
                {"id": 2790, "symbol": "EUR", "name": "Euro\u202e", "sign": "€"},
                {"id": 0, "symbol": "XXX", "name": "Zero"},
                {"id": 9, "symbol": "ÄÖÜ", "name": "Not ASCII"},
            ]
        })
    )  # fmt: skip
    fiats = FiatDirectory(tmp_path)
    euro = fiats.known("eur")
    assert euro is not None
    assert (euro.id, euro.name) == (2790, "Euro")
    assert fiats.known("ÄÖÜ") is None
    assert "2 entries that are not" in one_line_about(caplog, "fiats.json")


# --- writing --------------------------------------------------------------------------------


def test_nan_and_infinities_are_never_written(tmp_path: Path) -> None:
    memory = StateFile(tmp_path)
    memory.set_month_usage("2026-12", float("nan"))
    memory.set_month_usage("2026-12", float("inf"), 1.0)
    memory.set_month_usage("2026-12", 2e12)
    assert not (tmp_path / "state.json").exists()
    assert memory.month_usage() == (None, 0.0, 0.0)
    with pytest.raises(ValueError, match="Out of range float"):
        write_json_atomically(tmp_path / "x.json", {"a": float("nan")})
    assert os.listdir(tmp_path) == []  # not even a temporary file


def test_values_out_of_bounds_are_never_written(tmp_path: Path) -> None:
    memory = StateFile(tmp_path)
    memory.set_coin_changes([1, 0, 2**31], [-5])
    memory.set_holding_changes({1: ("1e2000000", None), 2: ("0.5", "NaN"), 3: ("2", None)})
    memory.set_layout([(1, 2**40)])
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["added"] == [1]
    assert saved["removed"] == []
    assert saved["holdings"] == {"3": {"amount": "2", "configured": None}}
    assert saved["layout"] == [[1]]


def writes(path: Path, change: Callable[[], None]) -> bool:
    """Whether `change` replaced the file (a write is a new inode)."""
    before = path.stat().st_ino
    change()
    return path.stat().st_ino != before


def test_a_change_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    memory = StateFile(tmp_path)
    memory.set_coin_changes([52], [1])
    memory.set_holding_changes({52: ("0.5", None)})
    memory.set_layout([(1, 52)])
    memory.set_month_usage("2026-12", 1.0004, 0.5)
    path = tmp_path / "state.json"
    assert not writes(path, lambda: memory.set_coin_changes([52], [1]))
    assert not writes(path, lambda: memory.set_holding_changes({52: ("0.5", None)}))
    assert not writes(path, lambda: memory.set_layout([(1, 52)]))
    assert not writes(path, lambda: memory.set_month_usage("2026-12", 1.0001, 0.5))
    assert writes(path, lambda: memory.set_month_usage("2026-12", 1.5, 0.5))
    assert writes(path, lambda: memory.set_holding_changes({52: ("0.6", None)}))


def test_a_failed_write_is_said_once_until_one_succeeds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    memory = StateFile(tmp_path)
    (tmp_path / "state.json").mkdir()  # os.replace cannot put a file there
    for n in range(5):
        memory.set_coin_changes([n + 1], [])
    failures = [r for r in caplog.records if "could not write the state file" in r.getMessage()]
    assert len(failures) == 1
    (tmp_path / "state.json").rmdir()
    memory.set_coin_changes([9], [])
    assert json.loads((tmp_path / "state.json").read_text())["added"] == [9]


def test_a_symbolic_link_is_replaced_never_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("not ours")
    (tmp_path / "state.json").symlink_to(target)
    StateFile(tmp_path).set_coin_changes([52], [])
    assert target.read_text() == "not ours"
    assert not (tmp_path / "state.json").is_symlink()


def test_only_the_newest_set_aside_copies_are_kept(tmp_path: Path) -> None:
    for n in range(KEEP_SET_ASIDE + 3):
        (tmp_path / "state.json").write_text(f"bad {n}")
        StateFile(tmp_path)
    copies = set_aside(tmp_path, "state.json")
    assert len(copies) == KEEP_SET_ASIDE
    kept = {path.read_text() for path in copies}
    assert kept == {f"bad {n}" for n in range(3, KEEP_SET_ASIDE + 3)}


# --- leftovers of killed writes ---------------------------------------------------------------


def dead_pid() -> int:
    """A pid that is no process now: one of ours that has ended."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_temporaries_of_killed_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    gone = dead_pid()
    files: dict[str, Any] = {
        f".state-{gone}-abc123.tmp": "removed: its writer is gone",
        f".coins-{gone}-x_1.tmp": "removed: its writer is gone",
        f".state-{os.getpid()}-live.tmp": "kept: this process may be writing it",
        f".state-{os.getppid()}-live.tmp": "kept: a live process",
        ".state-k2j4h5g6": "kept: an earlier version's, young",
        f".other-{gone}-abc.tmp": "kept: not one of ours",
        "state.json": "kept",
    }
    for name, why in files.items():
        (tmp_path / name).write_text(why)
    old = tmp_path / ".fiats-a1b2c3d4"
    old.write_text("removed: an earlier version's, old")
    stale = time.time() - STALE_TEMPORARY_S - 1
    os.utime(old, (stale, stale))
    assert clean_temporaries(tmp_path) == 3
    left = {path.name for path in tmp_path.iterdir()}
    assert left == {name for name, why in files.items() if why.startswith("kept")}


def test_a_write_leaves_no_temporary_behind(tmp_path: Path) -> None:
    memory = StateFile(tmp_path)
    for n in range(20):
        memory.set_holding_changes({1: (str(Decimal(n) / 4), None)})
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_keys_of_a_later_version_are_kept_while_they_are_small(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"added": [52], "later": {"a": [1, 2]}}))
    StateFile(tmp_path).set_coin_changes([52, 74], [])
    assert json.loads(path.read_text())["later"] == {"a": [1, 2]}
    path.write_text(json.dumps({"added": [52], "later": "x" * 100_000}))
    memory = StateFile(tmp_path)
    assert memory.coin_changes() == ([52], [])
    assert "1 unknown keys, more than 65,536 bytes" in one_line_about(caplog, "state.json")
    assert "later" not in json.loads(path.read_text())
    [aside] = set_aside(tmp_path, "state.json")
    assert "x" * 100_000 in aside.read_text()
