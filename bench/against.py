"""`bench/run.py --against REF`: this tree against another build of the bridge (by default the
last release), in one sitting, alternated, so both see the same machine.

A machine's speed drifts by several percent between sittings (other processes, thermal state),
more than the differences worth knowing; a figure measured in another sitting says little. Here
REF is built into its own virtual environment (from `git archive`, with the dependencies its own
`pyproject.toml` asks for), and the same scenario — every coin at CoinMarketCap's cadence, each
frame only on the connection that subscribed it, the working tree's simulator feeding both —
runs REF, then this tree, then this tree again and REF again (ABBA, so neither side always
runs second on a machine the other has warmed). The ratios compare each run of this tree with
the REF run beside it.

This tree is built the same way, into a venv of its own (uncommitted changes included), and
both run from outside any checkout: neither pays for an editable install's import hook or for
compiling its sources at start, which would otherwise decide a comparison of megabytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The last release before any tag existed: 0.2.0.
RELEASE_0_2_0 = "2ff72b6"
BUILDS = ROOT / "bench" / "results" / "builds"

#: cadence(broker, coins, seconds, settle, *, one_connection, python, cwd) -> its figures.
Measure = Callable[..., dict[str, Any]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--against",
        nargs="?",
        const="",
        default=None,
        metavar="REF",
        help="compare with REF (a tag or commit; default: the newest v* tag, else 0.2.0 = "
        f"{RELEASE_0_2_0}) in one sitting, alternated",
    )
    parser.add_argument("--coins", type=int, default=10_000, help="coins (with --against)")
    parser.add_argument("--rounds", type=int, default=2, help="REF/tree pairs (with --against)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured per run")
    parser.add_argument("--settle", type=float, default=16.0, help="warm-up per run")


def default_ref() -> str:
    tags = subprocess.run(
        ["git", "tag", "--list", "v*", "--sort=-v:refname"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    return tags[0] if tags else RELEASE_0_2_0


def resolve(ref: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def build(commit: str) -> Path:
    """REF's sources and a venv with them installed; kept under bench/results/builds/."""
    home = BUILDS / commit[:12]
    python = home / "venv" / "bin" / "python"
    if (home / ".complete").exists():
        return python
    home.mkdir(parents=True, exist_ok=True)
    source = home / "src"
    source.mkdir(exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
        check=True,
    )
    (home / ".complete").write_text(commit + "\n")
    return python


def build_tree() -> Path:
    """This working tree, as it is now, installed into its own venv (made once, the package
    installed anew each time), the way `build` installs REF."""
    home = BUILDS / "tree"
    home.mkdir(parents=True, exist_ok=True)
    python = home / "venv" / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # The files git would commit, copied: a build from the checkout itself would also pack
    # whatever an old build left in build/lib.
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    source = home / "src"
    shutil.rmtree(source, ignore_errors=True)
    for name in filter(None, (item.decode() for item in listed)):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    if not (home / ".complete").exists():
        subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
        subprocess.run([*pip, str(source)], check=True)
        (home / ".complete").write_text("\n")
    else:
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(source)], check=True)
    return python


def main(args: argparse.Namespace, *, measure: Measure, broker_factory: Callable[[], Any]) -> int:
    ref = args.against or default_ref()
    commit = resolve(ref)
    print(f"building {ref} ({commit[:12]}) into its own venv ...", flush=True)
    ref_python = build(commit)
    print("building this tree into its own venv ...", flush=True)
    tree_python = build_tree()
    outside = Path(tempfile.mkdtemp(prefix="cmc-bench-"))  # no checkout: each its own package
    sides = {
        "ref": {"python": str(ref_python), "cwd": outside},
        "tree": {"python": str(tree_python), "cwd": outside},
    }
    runs: list[dict[str, Any]] = []
    broker = broker_factory()
    try:
        for round_number in range(1, args.rounds + 1):
            # ABBA: the second run of a pair goes on a machine the first has warmed (caches,
            # clocks, the broker's memory); swapping the order every round cancels that.
            for side in ("ref", "tree") if round_number % 2 else ("tree", "ref"):
                print(f"round {round_number}: {side} ...", flush=True)
                figures = measure(
                    broker, args.coins, args.seconds, args.settle, one_connection=False,
                    **sides[side],
                )  # fmt: skip
                runs.append({"round": round_number, "side": side, **figures})
    finally:
        broker.cleanup()
    result = {"ref": ref, "commit": commit, "coins": args.coins, "runs": runs}
    result["pairs"] = pairs(runs)
    out = args.out.with_name(f"against-{commit[:12]}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(table(result))
    print(f"\n(JSON: {out})")
    return 0


def pairs(runs: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Each round's tree run against the REF run beside it."""
    out = []
    for number in sorted({r["round"] for r in runs}):
        ref = next(r for r in runs if r["round"] == number and r["side"] == "ref")
        tree = next(r for r in runs if r["round"] == number and r["side"] == "tree")
        out.append({
            "round": number,
            "cpu_ratio": tree["cpu_percent_of_one_core"] / ref["cpu_percent_of_one_core"],
            "rss_delta_mb": tree["peak_rss_mb"] - ref["peak_rss_mb"],
        })  # fmt: skip
    return out


def table(result: dict[str, Any]) -> str:
    lines = [
        f"this tree against {result['ref']} ({result['commit'][:12]}), {result['coins']:,} coins "
        f"at real cadence, one sitting, on {os.cpu_count()} cores",
        "",
        f"{'round':<7}{'build':<8}{'CPU % of a core':>17}{'us/frame':>10}{'peak RSS MB':>13}"
        f"{'p99 ms':>8}{'connections':>13}",
    ]
    for run in result["runs"]:
        lines.append(
            f"{run['round']:<7}{run['side']:<8}{run['cpu_percent_of_one_core']:>17.2f}"
            f"{run['cpu_us_per_frame']:>10.0f}{run['peak_rss_mb']:>13.1f}"
            f"{run['latency_ms_p99']:>8.1f}{run['connections']:>13}"
        )
    lines.append("")
    for pair in result["pairs"]:
        lines.append(
            f"round {pair['round']}: tree / {result['ref']} CPU {pair['cpu_ratio']:.3f} x, "
            f"peak RSS {pair['rss_delta_mb']:+.1f} MB"
        )
    ratios = [p["cpu_ratio"] for p in result["pairs"]]
    deltas = [p["rss_delta_mb"] for p in result["pairs"]]
    cpu, rss = statistics.median(ratios), statistics.median(deltas)
    lines.append(f"median: CPU {cpu:.3f} x, peak RSS {rss:+.1f} MB")
    return "\n".join(lines)
