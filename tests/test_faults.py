"""Fault injection: a real bridge process between a fault proxy to the stream and one to the
broker, faults drawn at random, and after every fault the invariant checked:

- within a bounded time every configured coin's price on the broker is the last value the
  stream sent, and `cmc/status` says `online`;
- the bridge process is alive, and its memory has not grown without bound;
- no value ever published was one the stream did not send (no good value replaced by a bad one).

`CMC_FAULTS` sets how many faults (README's test command: 100; `scripts/reliability.py`: 500),
`CMC_FAULT_SEED` makes a run repeatable, `CMC_FAULT_REPORT` names a JSON file for the figures.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.server import Behaviour, error_frame
from cmc_mqtt.simulator.wire import OP_BINARY, encode_frame
from harness.faultproxy import FaultProxy
from harness.helpers import TEST_API_KEY, Broker, Subscriber, retained, wait_until

from .test_frames import HOSTILE

COINS = (1, 1027, 74)
FAULTS = int(os.environ.get("CMC_FAULTS", "100"))
SEED = int(os.environ.get("CMC_FAULT_SEED", str(random.SystemRandom().randrange(10**6))))
RECOVERY_BOUND_S = 60.0
TRANSIENT_CLOSE_CODES = (1000, 1001, 1011, 1012, 1013, 1014)

# Frames that must not disturb anything, beyond the parser's table: raw WebSocket-level abuse.
HOSTILE_WIRE: list[tuple[str, bytes]] = [
    ("binary frame", encode_frame(b'{"type":"data"}', OP_BINARY)),
    ("invalid utf-8 text frame", encode_frame(b'{"type":"data","x":"\xc3\x28"}')),
    ("10 MB frame", encode_frame(b'{"type":"data","pad":"' + b"x" * 10_000_000 + b'"}')),
    ("empty text frame", encode_frame(b"")),
    (
        "never subscribed id",
        encode_frame(
            json.dumps(
                {
                    "type": "data",
                    "channel": "market@crypto_latest_price",
                    "data": {"cid": 31337, "p": 1.5},
                }
            ).encode()
        ),
    ),
    (
        "negative id",
        encode_frame(
            b'{"type":"data","channel":"market@crypto_latest_price","data":{"cid":-1027,"p":1}}'
        ),
    ),
    (
        "huge id",
        encode_frame(
            b'{"type":"data","channel":"market@crypto_latest_price",'
            b'"data":{"cid":99999999999999999999,"p":1}}'
        ),
    ),
    ("unknown type", encode_frame(b'{"type":"bonus","data":{"cid":1,"p":1}}')),
    ("error frame 5001", encode_frame(error_frame("5001", "SERVER", "Internal error.").encode())),
    ("error frame 2201", encode_frame(error_frame("2201", "PROTOCOL", "Bad format.").encode())),
    ("ack for nothing", encode_frame(b'{"type":"ack","id":999,"code":0}')),
    ("pong for nothing", encode_frame(b'{"type":"pong","id":999}')),
    ("websocket ping", encode_frame(b"are you there", 0x9)),
    ("unsolicited pong", encode_frame(b"", 0xA)),
    (
        "null price",
        encode_frame(
            b'{"type":"data","channel":"market@crypto_latest_price","data":{"cid":1,"p":null}}'
        ),
    ),
]
HOSTILE_CASES = [(name, encode_frame(payload)) for name, payload in HOSTILE] + HOSTILE_WIRE


@dataclass
class Figures:
    seed: int = SEED
    faults: Tally[str] = field(default_factory=Tally)
    recoveries: int = 0
    worst_recovery_s: float = 0.0
    recovery_times: list[float] = field(default_factory=list)
    hostile_cases: set[str] = field(default_factory=set)
    values_lost: int = 0
    bad_values_published: int = 0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    fds_start: int = 0
    fds_end: int = 0
    threads_start: int = 0
    threads_end: int = 0


class Rig:
    """mosquitto <- proxy <- bridge process -> proxy -> fake stream."""

    def __init__(self, workdir: Path) -> None:
        self.broker = Broker(persistence=True).start()
        self.broker_proxy = FaultProxy(self.broker.port)
        self.stream = self._new_stream()
        self.stream_proxy = FaultProxy(self.stream.port)
        self.figures = Figures()
        config = workdir / "config.toml"
        config.write_text(
            f'[cmc]\napi_key = "{TEST_API_KEY}"\nurl = "ws://127.0.0.1:{self.stream_proxy.port}/v1"\n'
            f'crypto_ids = {list(COINS)}\nlookup_names = false\ncache_dir = "{workdir}"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {self.broker_proxy.port}\nkeepalive = 5\n'
            'client_id = "fault-bridge"\n[log]\nlevel = "info"\n'
        )
        config.chmod(0o600)
        self.log = (workdir / "bridge.log").open("w")
        self.bridge = subprocess.Popen(
            [sys.executable, "-m", "cmc_mqtt", "run", "--config", str(config)],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "CMC_API_KEY": ""},
        )  # fmt: skip
        self.monitor = Subscriber(self.broker, "cmc/+/p")
        self.check_no = 0
        self.next_hostile = 0

    def _new_stream(self, port: int = 0, old: FakeStreamServer | None = None) -> FakeStreamServer:
        server = FakeStreamServer(
            port=port, api_key=TEST_API_KEY, fast_interval=0.3, slow_interval=0.6,
            behaviour=Behaviour(ping_interval_ms=1000),
        )  # fmt: skip
        if old is not None:  # what was sent before the restart still counts
            server.sent_prices, server.last_price = old.sent_prices, old.last_price
        return server.start()

    def restart_stream(self) -> None:
        old = self.stream
        old.stop()
        self.stream = self._new_stream(old.port, old)

    def heal(self) -> None:
        self.stream_proxy.heal()
        self.broker_proxy.heal()
        behaviour = self.stream.behaviour
        behaviour.answer_upgrade, behaviour.welcome_delay, behaviour.push_data = True, 0.0, True
        if self.broker.process is None:
            self.broker.start()

    def check_invariant(self) -> float:
        """Pause the market, send each coin a fresh price until the broker holds them all."""
        self.check_no += 1
        self.stream.behaviour.push_data = False
        fresh = {cid: f"{1000 + self.check_no}.{cid:05d}" for cid in COINS}
        start = time.monotonic()
        while True:
            for cid, price in fresh.items():
                self.stream.send_quote({"cid": cid, "p": float(price)})

            def holds(last: dict[str, str]) -> bool:
                return last.get("cmc/status") == "online" and all(
                    last.get(f"cmc/{cid}/p") == price for cid, price in fresh.items()
                )

            try:
                retained(self.broker, "cmc/#", holds, timeout=1.0)
                break
            except (AssertionError, RuntimeError, OSError):
                if time.monotonic() - start > RECOVERY_BOUND_S:
                    self.figures.values_lost += 1
                    raise AssertionError(f"not recovered within {RECOVERY_BOUND_S} s") from None
        elapsed = time.monotonic() - start
        assert self.bridge.poll() is None, "the bridge process died"
        self.stream.behaviour.push_data = True
        return elapsed

    def close(self) -> None:
        self.monitor.close()
        self.bridge.terminate()
        self.bridge.wait(10)
        self.log.close()
        self.stream.stop()
        self.stream_proxy.close()
        self.broker_proxy.close()
        self.broker.cleanup()


def proc_figures(pid: int) -> tuple[float, int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    threads = next(int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("Threads"))  # fmt: skip
    return rss / 1024, len(os.listdir(f"/proc/{pid}/fd")), threads


# --- the faults -------------------------------------------------------------------------------

Fault = Callable[[Rig, random.Random], None]


def stream_drop(rig: Rig, rng: random.Random) -> None:
    rig.stream.drop_all()


def stream_close(rig: Rig, rng: random.Random) -> None:
    rig.stream.close_all(rng.choice(TRANSIENT_CLOSE_CODES), "fault")


def stream_stall(rig: Rig, rng: random.Random) -> None:
    rig.stream_proxy.stall = True  # longer than two ping intervals: the watchdog must act
    time.sleep(rng.uniform(2.3, 3.0))


def stream_refused(rig: Rig, rng: random.Random) -> None:
    rig.stream_proxy.refuse = True
    rig.stream_proxy.cut()
    time.sleep(rng.uniform(0.3, 1.5))


def stream_restart(rig: Rig, rng: random.Random) -> None:
    rig.restart_stream()


def stream_slow(rig: Rig, rng: random.Random) -> None:
    rig.stream_proxy.delay = 0.05
    time.sleep(rng.uniform(0.5, 1.5))


def stream_late_welcome(rig: Rig, rng: random.Random) -> None:
    rig.stream.behaviour.welcome_delay = rng.uniform(0.5, 1.5)
    rig.stream.drop_all()
    wait_until(lambda: rig.stream.accepted and any(c.subscribed for c in rig.stream.connections),
               timeout=20)  # fmt: skip


def stream_no_upgrade(rig: Rig, rng: random.Random) -> None:
    rig.stream.behaviour.answer_upgrade = False
    rig.stream.drop_all()
    time.sleep(rng.uniform(0.5, 1.5))


def stream_error_frames(rig: Rig, rng: random.Random) -> None:
    for code in rng.sample(["5001", "2201", "2202", "2402"], 2):
        rig.stream.broadcast(
            error_frame(code, "SERVER", f"fault {code}", request_id=rng.randint(50, 99))
        )


def hostile_frames(rig: Rig, rng: random.Random) -> None:
    """The next few cases of the corpus, in turn, so even a short run sends every one."""
    for _ in range(rng.randint(5, 9)):
        name, raw = HOSTILE_CASES[rig.next_hostile % len(HOSTILE_CASES)]
        rig.next_hostile += 1
        rig.figures.hostile_cases.add(name)
        for conn in rig.stream.live:
            conn.send_raw(raw)
        cid = rng.choice(COINS)  # a good frame between the bad ones
        rig.stream.send_quote({"cid": cid, "p": round(rng.uniform(1, 1000), 4)})


def broker_kill(rig: Rig, rng: random.Random) -> None:
    rig.broker.stop()  # killed: nothing saved
    for store in rig.broker.dir.glob("*.db"):
        store.unlink()  # and its store gone: restarted without persistence
    rig.broker.start()


def broker_restart_persistent(rig: Rig, rng: random.Random) -> None:
    rig.broker.restart(graceful=True)  # saves its retained store and loads it again


def broker_stall(rig: Rig, rng: random.Random) -> None:
    rig.broker_proxy.stall = True
    time.sleep(rng.uniform(0.5, 2.5))


def broker_cut(rig: Rig, rng: random.Random) -> None:
    rig.broker_proxy.cut()


def broker_restart_in_burst(rig: Rig, rng: random.Random) -> None:
    for i in range(200):
        rig.stream.send_quote({"cid": COINS[i % len(COINS)], "p": 500 + i / 100})
        if i == 100:
            rig.broker.stop()
    rig.broker.start()


def both_at_once(rig: Rig, rng: random.Random) -> None:
    rig.stream.drop_all()
    rig.broker.stop()
    time.sleep(rng.uniform(0.2, 1.0))
    rig.broker.start()


FAULT_MENU: list[tuple[Fault, int]] = [
    (stream_drop, 3), (stream_close, 3), (stream_stall, 1), (stream_refused, 2),
    (stream_restart, 2), (stream_slow, 1), (stream_late_welcome, 1), (stream_no_upgrade, 1),
    (stream_error_frames, 2), (hostile_frames, 4), (broker_kill, 2),
    (broker_restart_persistent, 1), (broker_stall, 1), (broker_cut, 2),
    (broker_restart_in_burst, 1), (both_at_once, 2),
]  # fmt: skip


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    built = Rig(tmp_path_factory.mktemp("faults"))
    yield built
    built.close()


@pytest.mark.timeout(FAULTS * 30 + 300)  # each fault is bounded; the whole run is long
def test_the_bridge_recovers_from_every_fault(rig: Rig) -> None:
    rng = random.Random(SEED)
    figures = rig.figures
    rig.check_invariant()  # up and running before the first fault
    figures.rss_start_mb, figures.fds_start, figures.threads_start = proc_figures(rig.bridge.pid)
    faults, weights = zip(*FAULT_MENU, strict=True)
    for number in range(FAULTS):
        fault = rng.choices(faults, weights)[0]
        figures.faults[fault.__name__] += 1
        fault(rig, rng)
        rig.heal()
        try:
            recovery = rig.check_invariant()
        except AssertionError as exc:
            rig.log.flush()
            tail = Path(rig.log.name).read_text()[-3000:]
            raise AssertionError(
                f"fault {number} ({fault.__name__}, seed {SEED}): {exc}\nbridge log:\n{tail}"
            ) from None
        figures.recoveries += 1
        figures.recovery_times.append(recovery)
        figures.worst_recovery_s = max(figures.worst_recovery_s, recovery)
    figures.rss_end_mb, figures.fds_end, figures.threads_end = proc_figures(rig.bridge.pid)
    bad = [
        (topic, payload) for topic, payload, _ in rig.monitor.messages
        if payload not in rig.stream.sent_prices.get(int(topic.split("/")[1]), set())
    ]  # fmt: skip
    figures.bad_values_published = len(bad)
    _report(figures)
    assert not bad, f"values the stream never sent were published: {bad[:5]}"
    assert figures.values_lost == 0
    assert figures.rss_end_mb - figures.rss_start_mb < 30, "memory grew"
    assert figures.fds_end <= figures.fds_start + 5, "file descriptors leaked"
    assert figures.threads_end <= figures.threads_start + 2, "threads leaked"


def _report(figures: Figures) -> None:
    target = os.environ.get("CMC_FAULT_REPORT")
    if not target:
        return
    times = sorted(figures.recovery_times)
    Path(target).write_text(json.dumps({
        "seed": figures.seed,
        "faults_injected": sum(figures.faults.values()),
        "faults_by_kind": dict(sorted(figures.faults.items())),
        "recoveries": figures.recoveries,
        "recovery_s_p50": times[len(times) // 2] if times else None,
        "recovery_s_worst": figures.worst_recovery_s,
        "hostile_cases_sent": len(figures.hostile_cases),
        "hostile_cases_known": len(HOSTILE_CASES),
        "values_lost": figures.values_lost,
        "bad_values_published": figures.bad_values_published,
        "bridge_rss_mb": [round(figures.rss_start_mb, 1), round(figures.rss_end_mb, 1)],
        "bridge_fds": [figures.fds_start, figures.fds_end],
        "bridge_threads": [figures.threads_start, figures.threads_end],
    }, indent=2))  # fmt: skip
