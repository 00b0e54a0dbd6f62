"""Soak: the bridge at full CoinMarketCap cadence for 1,000 coins, with a fault every few
seconds, for a configurable time; reports RSS over time, file descriptors and threads.

    .venv/bin/python scripts/soak.py --seconds 3600     # the documented hour
    .venv/bin/python scripts/soak.py --seconds 120      # what the test command runs

Exits 1 when memory, descriptors or threads grew without bound (beyond the stated slack over
their level once start-up is done), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmc_mqtt.simulator import FakeStreamServer, Limits  # noqa: E402
from harness.faultproxy import FaultProxy  # noqa: E402
from harness.helpers import Broker, retained  # noqa: E402

RSS_SLACK_MB = 25.0
FD_SLACK = 5
THREAD_SLACK = 2


def sample(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    value = {line.split(":")[0]: line.split()[1] for line in status if len(line.split()) > 1}
    return {
        "rss_mb": int(value["VmRSS"]) / 1024,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(value["Threads"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--coins", type=int, default=1000)
    parser.add_argument("--fault-every", type=float, default=4.0)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()
    rng = random.Random(7)
    broker = Broker().start()
    broker_proxy = FaultProxy(broker.port)
    # Real cadence (5 s and 15 s); no limits: the soak is about faults and memory, not quotas.
    stream = FakeStreamServer(api_key="soak", limits=Limits.off()).start()
    stream_proxy = FaultProxy(stream.port)
    workdir = Path(tempfile.mkdtemp(prefix="cmc-soak-"))
    config = workdir / "config.toml"
    config.write_text(
        f'[cmc]\napi_key = "soak"\nurl = "ws://127.0.0.1:{stream_proxy.port}/v1"\n'
        f"crypto_ids = {list(range(1, args.coins + 1))}\nlookup_names = false\n"
        f'cache_dir = "{workdir}"\n[mqtt]\nhost = "127.0.0.1"\nport = {broker_proxy.port}\n'
        'keepalive = 10\n[homeassistant]\ndiscovery = false\n[log]\nlevel = "warning"\n'
    )
    config.chmod(0o600)
    bridge = subprocess.Popen(
        [sys.executable, "-m", "cmc_mqtt", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    samples: list[dict[str, float]] = []
    faults = 0
    try:
        retained(broker, "cmc/status", lambda last: last.get("cmc/status") == "online", 30)
        start = time.monotonic()
        next_fault = start + args.fault_every
        next_sample = start
        baseline: dict[str, float] | None = None
        while time.monotonic() - start < args.seconds:
            now = time.monotonic()
            if now >= next_sample:
                point = {"t": round(now - start, 1), **sample(bridge.pid)}
                samples.append(point)
                # The level once every coin has had its first pushes (one full 15 s cycle).
                if baseline is None and point["t"] >= 20:
                    baseline = point
                next_sample = now + 10
            if now >= next_fault:
                fault = rng.choice(("stream_drop", "stream_close", "broker_cut"))
                if fault == "stream_drop":
                    stream.drop_all()
                elif fault == "stream_close":
                    stream.close_all(rng.choice((1000, 1001, 1011, 1013)))
                else:
                    broker_proxy.cut()
                faults += 1
                next_fault = now + args.fault_every * rng.uniform(0.5, 1.5)
            time.sleep(0.2)
        alive = bridge.poll() is None
        final = sample(bridge.pid) if alive else {}
    finally:
        bridge.terminate()
        bridge.wait(10)
        stream.stop()
        stream_proxy.close()
        broker_proxy.close()
        broker.cleanup()
    baseline = baseline or samples[0]
    growth = {
        "rss_mb": final.get("rss_mb", 0) - baseline["rss_mb"],
        "fds": final.get("fds", 0) - baseline["fds"],
        "threads": final.get("threads", 0) - baseline["threads"],
    }
    ok = (
        alive
        and growth["rss_mb"] <= RSS_SLACK_MB
        and growth["fds"] <= FD_SLACK
        and growth["threads"] <= THREAD_SLACK
    )
    report = {"seconds": args.seconds, "coins": args.coins, "faults": faults, "alive": alive,
              "baseline": baseline, "final": final, "growth": growth, "ok": ok,
              "rss_over_time": [(s["t"], round(s["rss_mb"], 1)) for s in samples]}  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    print(f"soak: {args.seconds:.0f} s, {args.coins} coins, {faults} faults, bridge alive: {alive}")
    print("RSS MB over time: " + ", ".join(f"{t:.0f}s {r}" for t, r in report["rss_over_time"]))
    print(f"end: RSS {final.get('rss_mb', 0):.1f} MB, {final.get('fds')} fds, "
          f"{final.get('threads')} threads; growth since warm-up: {growth}")  # fmt: skip
    print("OK" if ok else "FAILED: something grew without bound or the bridge died")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
