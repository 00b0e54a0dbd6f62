"""The benchmark's quick run, so it cannot rot. It checks the report's shape, never a speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(400)
def test_quick_benchmark_runs_and_reports_every_measure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    for key in ("raw_paho", "raw_websocket", "floor_threaded", "floor_single_thread", "flood"):
        assert report[key], key
    assert report["flood"]["frames"] == 2000
    assert report["flood"]["publishes"] > 0
    assert report["cadence"][0]["coins"] == 500
    assert report["cadence"][0]["quotes"] > 0
    assert report["flood"]["messages_per_frame"] > 0
    assert [row["mode"] for row in report["publish_modes"]] == [
        "all", "changed", "changed, deadband 0.1",
    ]  # fmt: skip
    assert all(row["messages_per_s"] > 0 for row in report["publish_modes"])
    assert "ratio: bridge CPU / threaded floor" in result.stdout
