"""One configuration, one memory: the folder each configuration remembers in, the shared files
of earlier versions adopted by one real configuration only, and `check-config` saying which
state file a configuration uses without touching any."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.commands.check import describe_plan
from cmc_mqtt.config import Settings, parse_settings
from cmc_mqtt.state.identity import (
    IDENTITY_FILE,
    Identity,
    adopts_legacy,
    fingerprint,
    memory_dir,
    memory_path,
)
from cmc_mqtt.state.memory import StateFile
from harness.helpers import wait_until

REAL_KEY = "0f5e1c2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f"
REAL_URL = "wss://pro-stream.coinmarketcap.com/v1"
REAL_REST = "https://pro-api.coinmarketcap.com"


def settings(cache: Path, key: str = REAL_KEY, url: str = REAL_URL, **more: Any) -> Settings:
    cmc = {"api_key": key, "url": url, "crypto_ids": [1, 1027], "cache_dir": str(cache)}
    cmc.update(more.pop("cmc", {}))
    return parse_settings({"cmc": cmc, "mqtt": more.pop("mqtt", {}), **more}, environ={})


def test_each_part_of_a_configuration_makes_it_another(tmp_path: Path) -> None:
    base = settings(tmp_path)
    others = [
        settings(tmp_path, key="another-key-0000"),
        settings(tmp_path, url="wss://elsewhere.example/v1"),
        settings(tmp_path, cmc={"rest_url": "https://rest.example"}),
        settings(tmp_path, mqtt={"topic_prefix": "office/cmc"}),
    ]
    folders = {memory_path(s) for s in [base, *others]}
    assert len(folders) == 5
    assert all(f is not None and f.parent == tmp_path for f in folders)
    # Not the broker, the coins, or a trailing slash: the same configuration.
    same = settings(tmp_path, url=REAL_URL + "/", cmc={"crypto_ids": [52]}, mqtt={"port": 1})
    assert memory_path(same) == memory_path(base)


def test_the_key_is_in_no_name_and_no_file(tmp_path: Path) -> None:
    folder = memory_dir(settings(tmp_path))
    assert folder is not None
    assert REAL_KEY not in str(folder)
    assert fingerprint(REAL_KEY) not in folder.name  # the folder hashes all four together
    described = json.loads((folder / IDENTITY_FILE).read_text())
    assert described == {
        "stream_url": REAL_URL,
        "rest_url": REAL_REST,
        "topic_prefix": "cmc",
        "key_fingerprint": fingerprint(REAL_KEY),
    }
    assert REAL_KEY not in (folder / IDENTITY_FILE).read_text()
    assert repr(Identity.of(settings(tmp_path))).count(REAL_KEY) == 0


def test_the_identity_file_shows_no_secret_part_of_a_url(tmp_path: Path) -> None:
    url = "wss://user:pass@stream.example:8443/v1?CMC_PRO_API_KEY=secret#frag"
    folder = memory_dir(settings(tmp_path, url=url))
    assert folder is not None
    described = json.loads((folder / IDENTITY_FILE).read_text())
    assert described["stream_url"] == "wss://stream.example:8443/v1"


def test_the_identity_file_is_written_only_when_it_says_something_else(tmp_path: Path) -> None:
    config = settings(tmp_path)
    folder = memory_dir(config)
    assert folder is not None
    inode = (folder / IDENTITY_FILE).stat().st_ino
    memory_dir(config)
    assert (folder / IDENTITY_FILE).stat().st_ino == inode
    (folder / IDENTITY_FILE).write_text("{broken")
    memory_dir(config)
    assert json.loads((folder / IDENTITY_FILE).read_text())["topic_prefix"] == "cmc"


@pytest.mark.parametrize(
    ("key", "url", "rest", "adopts"),
    [
        (REAL_KEY, REAL_URL, REAL_REST, True),
        ("simulator", REAL_URL, REAL_REST, False),
        ("demo", REAL_URL, REAL_REST, False),
        ("your-key", REAL_URL, REAL_REST, False),
        (REAL_KEY, "ws://127.0.0.1:8765/v1", REAL_REST, False),
        (REAL_KEY, "ws://localhost:8765/v1", REAL_REST, False),
        (REAL_KEY, "ws://[::1]:8765/v1", REAL_REST, False),
        (REAL_KEY, "ws://127.8.9.10/v1", REAL_REST, False),
        (REAL_KEY, "ws://0.0.0.0:8765/v1", REAL_REST, False),
        (REAL_KEY, REAL_URL, "http://127.0.0.1:8080", False),
        (REAL_KEY, "wss://proxy.home.arpa/v1", REAL_REST, True),
    ],
)
def test_only_a_configuration_against_coinmarketcap_itself_adopts(
    tmp_path: Path, key: str, url: str, rest: str, adopts: bool
) -> None:
    assert adopts_legacy(settings(tmp_path, key=key, url=url, cmc={"rest_url": rest})) is adopts


def write_legacy(cache: Path) -> dict[str, str]:
    cache.mkdir(parents=True, exist_ok=True)
    files = {
        "state.json": json.dumps({"added": [99999999], "removed": [], "layout": []}),
        "coins.json": json.dumps({"coins": [{"id": 2, "name": "Simulated", "symbol": "S2"}]}),
        "fiats.json": json.dumps({"fiats": [{"id": 2790, "symbol": "EUR", "name": "Euro"}]}),
    }
    for name, text in files.items():
        (cache / name).write_text(text)
    return files


def test_the_shared_files_go_to_the_first_real_configuration_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = write_legacy(tmp_path)
    simulator = settings(tmp_path, key="simulator", url="ws://127.0.0.1:8765/v1")
    simulated = memory_dir(simulator)
    assert simulated is not None
    assert StateFile(simulated).coin_changes() == ([], [])
    assert all((tmp_path / name).exists() for name in files)  # waiting for a real one
    assert any("left for a configuration against" in r.getMessage() for r in caplog.records)

    first = memory_dir(settings(tmp_path))
    assert first is not None
    for name, text in files.items():
        assert (first / name).read_text() == text
        assert not (tmp_path / name).exists()
    assert StateFile(first).coin_changes() == ([99999999], [])
    assert sum("adopted" in r.getMessage() for r in caplog.records) == 3

    second = memory_dir(settings(tmp_path, key="another-real-key-1234"))
    assert second is not None
    assert StateFile(second).coin_changes() == ([], [])
    assert not (second / "coins.json").exists()


def test_a_configuration_with_a_memory_of_its_own_leaves_the_shared_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = settings(tmp_path)
    folder = memory_dir(config)
    assert folder is not None
    StateFile(folder).set_coin_changes([52], [])
    write_legacy(tmp_path)
    memory_dir(config)
    assert StateFile(folder).coin_changes() == ([52], [])
    assert (tmp_path / "state.json").exists()
    assert (folder / "coins.json").exists()  # that one it did not have: adopted
    assert any("left" in r.getMessage() for r in caplog.records)


def test_leftovers_of_killed_writes_are_removed_when_the_memory_is_opened(tmp_path: Path) -> None:
    config = settings(tmp_path)
    folder = memory_path(config)
    assert folder is not None
    folder.mkdir(parents=True)
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    for n in range(6):
        (folder / f".state-{pid}-orphan{n}.tmp").write_text('{"added": [')
    memory_dir(config)
    assert sorted(p.name for p in folder.iterdir()) == [IDENTITY_FILE]


def test_something_in_the_folders_place_is_set_aside(tmp_path: Path) -> None:
    config = settings(tmp_path)
    folder = memory_path(config)
    assert folder is not None
    folder.write_text("a file where the folder goes")
    assert memory_dir(config) == folder
    assert folder.is_dir()
    [aside] = tmp_path.glob(f"{folder.name}.corrupt-*")
    assert aside.read_text() == "a file where the folder goes"


def test_a_folder_that_cannot_be_made_means_remembering_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "file").write_text("")
    assert memory_dir(settings(tmp_path / "file" / "cache")) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "nothing is remembered" in warnings[0].getMessage()


# --- check-config -----------------------------------------------------------------------------


def listing(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


def memory_lines(config: Settings) -> list[str]:
    return [line for line in describe_plan(config, ask_key=False) if line.startswith("memory:")]


def test_check_config_names_the_state_file_it_uses(tmp_path: Path) -> None:
    config = settings(tmp_path)
    folder = memory_path(config)
    assert folder is not None
    assert memory_lines(config) == [
        f"memory: {folder / 'state.json'} (this configuration's own: its key, stream URL, REST "
        "URL and topic prefix)"
    ]
    assert not folder.exists()  # saying is not doing


def test_check_config_reads_the_shared_file_it_will_adopt_and_moves_nothing(
    tmp_path: Path,
) -> None:
    write_legacy(tmp_path)
    before = listing(tmp_path)
    real = settings(tmp_path)
    lines = describe_plan(real, ask_key=False)
    assert "coins: 2 configured, 1 added and 0 removed over MQTT: 3 streamed" in lines
    [memory] = [line for line in lines if line.startswith("memory:")]
    assert memory.endswith(
        f"; {tmp_path / 'state.json'}, which every configuration shared before, becomes it at "
        "the next run"
    )
    simulator = settings(tmp_path, key="simulator", url="ws://127.0.0.1:8765/v1")
    lines = describe_plan(simulator, ask_key=False)
    assert not any(line.startswith("coins:") for line in lines)
    assert any("is left for a configuration against CoinMarketCap itself" in line for line in lines)
    assert listing(tmp_path) == before


def test_check_config_says_what_a_run_will_do_with_a_corrupt_state_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = settings(tmp_path)
    folder = memory_path(config)
    assert folder is not None
    folder.mkdir(parents=True)
    (folder / "state.json").write_text('{"added": [NaN]}')
    before = listing(tmp_path)
    lines = memory_lines(config)
    assert len(lines) == 2
    assert "cannot be used as it is (not JSON (NaN is not a number we keep))" in lines[1]
    assert listing(tmp_path) == before
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_check_config_without_a_cache_folder() -> None:
    config = parse_settings({"cmc": {"api_key": REAL_KEY, "crypto_ids": [1]}}, environ={})
    bare = Settings(config.stream, config.mqtt)
    assert memory_lines(bare)[0].startswith("memory: none (no cache folder)")


#: Writes the state file as fast as it can, until killed.
WRITER = """
import sys
from pathlib import Path
from cmc_mqtt.state.memory import StateFile
from harness.helpers import wait_until
memory = StateFile(Path(sys.argv[1]))
print("writing", flush=True)
n = 0
while True:
    n += 1
    memory.set_coin_changes([n % 1000 + 1], [])
"""


def rewritten(path: Path, times: int) -> Callable[[], bool]:
    """A check that holds once `path` has been seen with more than `times` contents."""
    seen: set[str] = set()

    def check() -> bool:
        with contextlib.suppress(FileNotFoundError):
            seen.add(path.read_text())
        return len(seen) > times

    return check


def test_writers_killed_mid_write_leave_a_whole_file_and_no_leftovers_after_a_start(
    tmp_path: Path,
) -> None:
    config = settings(tmp_path)
    folder = memory_dir(config)
    assert folder is not None
    state = folder / "state.json"
    for _ in range(12):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE
        )
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline() == b"writing\n"
            wait_until(rewritten(state, times=3))  # then killed, wherever it is
        finally:
            writer.kill()
            writer.wait(timeout=10)
        assert len(json.loads(state.read_text())["added"]) == 1  # whole, every time
    memory_dir(config)
    assert sorted(p.name for p in folder.iterdir()) == [IDENTITY_FILE, "state.json"]
