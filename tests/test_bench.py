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
    # How frames arrive and are read: every combination, each measured.
    arrivals = report["arrivals"]
    assert sorted((row["transport"], row["arrival"], row["fast_path"]) for row in arrivals) == [
        (transport, arrival, fast)
        for transport in ("ws", "wss")
        for arrival in ("64 frames per write", "one frame per segment")
        for fast in (False, True)
    ]
    assert all(row["frames"] == 300 and row["publishes"] > 0 for row in arrivals)
    # Sharding: the coins really spread over connections of 100, and really on one without
    # limits, as the bridge's own bridge/info says.
    sharding = report["sharding"]
    assert sharding["sharded"]["ids_per_connection"] == [100, 100]
    assert sharding["one connection"]["ids_per_connection"] == [200]
    assert all(sharding[arm]["quotes"] > 0 for arm in ("sharded", "one connection"))
    assert report["cadence"][0]["ids_per_connection"] == [500]
    for line in ("ratio: bridge CPU / threaded floor", "ratio: sharded / one connection",
                 "ratio: wss / ws", "ratio: fallback / fast path"):  # fmt: skip
        assert line in result.stdout
