"""Every exit path of `cmc-mqtt`, a few times each under load: the expected status, never a
signal, and no thread left for the interpreter to tear down. scripts/exit_stress.py runs the
same paths hundreds of times for RELIABILITY.md."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.exit_paths import EXPECTED_STATUS, HANG_AFTER_S, ExitLab, exit_lab

RUNS_PER_PATH = int(os.environ.get("CMC_EXIT_RUNS", "3"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExitLab]:
    with exit_lab(tmp_path_factory.mktemp("exit"), cpu_load=1) as made:
        yield made


@pytest.mark.timeout(60 + RUNS_PER_PATH * 40)
@pytest.mark.parametrize("path", ExitLab.PATHS)
def test_every_exit_path_ends_with_its_status_and_no_thread_left(lab: ExitLab, path: str) -> None:
    for _ in range(RUNS_PER_PATH):
        outcome = lab.run(path)
        tail = outcome.output[-3000:]
        assert outcome.after_cause is not None, f"the cause never came:\n{tail}"
        assert outcome.status is not None, f"still running {HANG_AFTER_S} s after:\n{tail}"
        assert not outcome.crashed, f"died of signal {-outcome.status}:\n{tail}"
        assert outcome.status == EXPECTED_STATUS[path], tail
        assert "Fatal Python error" not in outcome.output, tail
        assert "Traceback" not in outcome.output, tail
        # Every thread ended by itself: none reached finalization, no os._exit fallback.
        assert not outcome.lingering, tail
        assert not outcome.left_by_os_exit, tail
