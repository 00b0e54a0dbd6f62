"""cmc-mqtt benchmark: the bridge measured against the limit of the stack it is built on.

    .venv/bin/python bench/run.py            # full run, about 11 minutes on 2 cores
    .venv/bin/python bench/run.py --quick    # seconds; the test suite runs this so it cannot rot
    .venv/bin/python bench/run.py --against [REF]   # this tree against a release, one sitting

Everything runs on this machine in separate processes: mosquitto, the simulator
(`cmc-mqtt simulate`), the bridge (`cmc-mqtt run`), and a subscriber in this process. Prints one
table and writes it as JSON to bench/results/latest.json. It asserts nothing; it reports.

The simulator holds every key to CoinMarketCap's limits (100 ids a connection, 10 connections).
Scenarios that measure one connection carrying more than 100 coins run it with `--no-limits`
and the bridge with `max_connections = 1`: the first ack then says `sub_limit` 1,000,000, and
the bridge moves every coin onto that one connection (bridge/info is read back to show it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import websocket
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import against  # noqa: E402
from cmc_mqtt.model.fields import FIELD_KEYS  # noqa: E402
from cmc_mqtt.simulator import Behaviour, FakeStreamServer, Market  # noqa: E402
from cmc_mqtt.stream.frames import CHANNEL, parse_frame  # noqa: E402
from cmc_mqtt.util.fastpath import DISABLE_ENV  # noqa: E402
from harness.helpers import Broker, free_port, retained, wait_until  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


# --- helpers ----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmHWM:")


def rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmRSS:")


def sample_frames(count: int, coins: int = 100) -> list[bytes]:
    market = Market(seed=1)
    return [market.frame(1 + i % coins, 1).encode() for i in range(count)]


class Counter:
    """A minimal MQTT subscriber on a raw socket: counts PUBLISH packets and reads `ts` from
    `.../json` payloads. paho's per-message cost would make the measuring client the
    bottleneck on a 2-core machine; this one costs a fraction of it."""

    def __init__(self, port: int, topic: str = "cmc/#") -> None:
        self.count = 0
        self.coins: set[bytes] = set()  # the `.../json` topics seen: one per coin
        self.latencies: list[float] = []
        self.first_at: float | None = None
        self.last_at = 0.0
        self.done = threading.Event()
        self.target = 0
        self._sock = socket.create_connection(("127.0.0.1", port))
        client_id = f"bench-{free_port()}".encode()
        body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big") + client_id
        self._sock.sendall(bytes([0x10, len(body)]) + body)
        self._sock.recv(4)  # CONNACK
        sub = b"\x00\x01" + len(topic).to_bytes(2, "big") + topic.encode() + b"\x00"
        self._sock.sendall(bytes([0x82, len(sub)]) + sub)
        self._running = True
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        while self._running:
            try:
                chunk = self._sock.recv(262144)
            except OSError:
                return
            if not chunk:
                return
            now = time.time()
            buffer += chunk
            offset = 0
            while True:
                if len(buffer) - offset < 2:
                    break
                first = buffer[offset]
                length, multiplier, pos = 0, 1, offset + 1
                while pos < len(buffer):
                    byte = buffer[pos]
                    length += (byte & 0x7F) * multiplier
                    multiplier *= 128
                    pos += 1
                    if not byte & 0x80:
                        break
                else:
                    break
                if pos + length > len(buffer):
                    break
                if first & 0xF0 == 0x30:
                    self._publish(buffer[pos : pos + length], first, now)
                offset = pos + length
            buffer = buffer[offset:]

    def _publish(self, packet: bytes, first: int, now: float) -> None:
        if first & 0x01:
            return  # retained, left by an earlier run: not a value this run delivered
        topic_len = int.from_bytes(packet[:2], "big")
        start = 2 + topic_len + (2 if first & 0x06 else 0)
        if start == len(packet):
            return  # an empty payload clears a topic an earlier run left: not a value
        self.count += 1
        mono = time.monotonic()
        if self.first_at is None:
            self.first_at = mono
        self.last_at = mono
        topic = packet[2 : 2 + topic_len]
        if topic.endswith(b"/json"):
            self.coins.add(topic)
            ts = json.loads(packet[start:]).get("ts")
            if ts:
                self.latencies.append(now * 1000 - ts)
        if self.target and self.count >= self.target:
            self.done.set()

    def started(self) -> bool:
        return self.first_at is not None

    def has_values_of(self, coins: int) -> bool:
        return len(self.coins) >= coins

    def close(self) -> None:
        self._running = False
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


@dataclass(frozen=True)
class Tls:
    """A self-signed CA and a server certificate for 127.0.0.1 that it signed."""

    ca: Path
    pem: Path  # the server's certificate and key, for `cmc-mqtt simulate --tls`


def make_tls(directory: Path) -> Tls:
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True,
                       timeout=60)  # fmt: skip

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", "ca.key",
            "-out", "ca.crt", "-subj", "/CN=cmc-mqtt bench CA",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
        "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n"
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=127.0.0.1")  # fmt: skip
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", "server.crt",
            "-extfile", "server.ext")  # fmt: skip
    pem = directory / "server.pem"
    pem.write_text((directory / "server.crt").read_text() + (directory / "server.key").read_text())
    return Tls(directory / "ca.crt", pem)


def bridge_env(tls: Tls | None = None, *, fast_path: bool = True) -> dict[str, str]:
    """The bridge's environment. A self-signed CA is trusted the way a user would do it, with
    no bridge setting: websocket-client reads WEBSOCKET_CLIENT_CA_BUNDLE, and the REST calls'
    default context reads SSL_CERT_FILE. Without the fast path both adapters (websocket-client
    and paho) use the dependencies' public APIs only."""
    env = {k: v for k, v in os.environ.items() if k != DISABLE_ENV}
    if tls is not None:
        env["WEBSOCKET_CLIENT_CA_BUNDLE"] = env["SSL_CERT_FILE"] = str(tls.ca)
    if not fast_path:
        env[DISABLE_ENV] = "1"
    return env


@contextmanager
def bridge_process(
    port: int,
    url: str,
    coins: int,
    mqtt_extra: str = "",
    *,
    cmc_extra: str = "",
    prefix: str = "cmc",
    env: dict[str, str] | None = None,
    python: str = sys.executable,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """The bridge `python -m cmc_mqtt` runs: this tree's, or (with `python` and `cwd` outside
    it) another build's, such as a release's (`--against`)."""
    rest_url = "http" + url.removesuffix("/v1")[2:]  # the simulator answers REST on its port
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            f'[cmc]\napi_key = "bench"\nurl = "{url}"\nrest_url = "{rest_url}"\n'
            f"crypto_ids = {list(range(1, coins + 1))}\n"
            f'lookup_names = false\ncache_dir = "{tmp}"\n{cmc_extra}'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "bench-{prefix}"\n'
            f'topic_prefix = "{prefix}"\n{mqtt_extra}'
            '[homeassistant]\ndiscovery = false\n[log]\nlevel = "warning"\n'
        )
        config.chmod(0o600)
        proc = subprocess.Popen(
            [python, "-m", "cmc_mqtt", "run", "--config", str(config)],
            env=env if env is not None else bridge_env(),
            cwd=cwd,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(10)


#: One connection for every coin: the simulator's limits off, the bridge told to use one.
ONE_CONNECTION = ("--no-limits",), "max_connections = 1\n"


def connection_layout(broker: Broker, prefix: str, coins: int, timeout: float) -> dict[str, Any]:
    """The bridge's connections as its retained bridge/info shows them, once they carry every
    coin (or whatever they carry after `timeout`): proof of how the coins were spread."""
    topic = f"{prefix}/bridge/info"

    def connections(snapshot: dict[str, str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(snapshot.get(topic) or "{}").get("connections", [])
        return found

    def complete(snapshot: dict[str, str]) -> bool:
        found = connections(snapshot)
        return bool(found) and sum(len(c["ids"]) for c in found) == coins

    try:
        snapshot = retained(broker, topic, expect=complete, timeout=timeout)
    except AssertionError:
        snapshot = retained(broker, topic, expect=lambda _s: True)
    found = connections(snapshot)
    return {
        "connections": len(found),
        "connected": sum(1 for c in found if c["connected"]),
        "ids_per_connection": [len(c["ids"]) for c in found],
    }


@contextmanager
def simulator_process(*args: str, tls: Tls | None = None) -> Iterator[str]:
    port = free_port()
    extra = ("--tls", str(tls.pem)) if tls is not None else ()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmc_mqtt", "simulate", "--port", str(port), *args, *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"{'wss' if tls else 'ws'}://127.0.0.1:{port}/v1"
    try:
        wait_until(lambda: _answers(port), timeout=15)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# --- 1. the stack's limit ---------------------------------------------------------------------


def raw_paho_rate(broker: Broker, messages: int) -> dict[str, float]:
    """Retained QoS0 publishes until a subscriber has them all (paho driven from one thread)."""
    counter = Counter(broker.port, "raw/#")
    counter.target = messages
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw")
    client.on_socket_register_write = lambda *_a: None
    client.connect("127.0.0.1", broker.port)
    client.loop_read()
    start = time.monotonic()
    for i in range(messages):
        client.publish(f"raw/{i % 1000}/p", "81187.93284788371", 0, True)
        if i % 64 == 63:
            client.loop_write()
            client.loop_read()
    while client.want_write():
        client.loop_write()
    counter.done.wait(60)
    elapsed = time.monotonic() - start
    counter.close()
    client.disconnect()
    return {"messages_per_s": counter.count / elapsed}


def raw_websocket_rate(frames: int) -> dict[str, float]:
    """websocket-client receiving and parsing frames from the simulator, flat out."""
    with FakeStreamServer(behaviour=Behaviour(push_data=False, flood_frames=frames)) as server:
        ws = websocket.create_connection(server.url, header=["X-CMC_PRO_API_KEY: k"],
                                         skip_utf8_validation=True)  # fmt: skip
        ws.recv()
        ws.send(json.dumps({"id": 1, "method": "subscribe", "channel": CHANNEL,
                            "params": {"crypto_ids": list(range(1, 101))}}))  # fmt: skip
        got = 0
        start = time.monotonic()
        while got < frames:
            _, data = ws.recv_data()
            if b'"data"' in data[:20]:
                parse_frame(data)
                got += 1
        elapsed = time.monotonic() - start
        ws.close()
        return {"frames_per_s": got / elapsed}


def bare_floor(broker: Broker, frames: list[bytes], *, threaded: bool) -> dict[str, float]:
    """CPU per frame of the minimal job: json.loads a frame, publish its 13 fields with paho."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-floor-{threaded}")
    if not threaded:
        client.on_socket_register_write = lambda *_a: None
    client.connect("127.0.0.1", broker.port)
    if threaded:
        client.loop_start()
    cpu = time.process_time()
    for raw in frames:
        data = json.loads(raw)["data"]
        cid = data["cid"]
        for key in FIELD_KEYS:
            client.publish(f"floor/{cid}/{key}", str(data[key]), 0, True)
        if not threaded:
            client.loop_write()
    # The job is done when paho has written everything: with loop_start() that happens on its
    # own thread, whose CPU time counts too (process time covers every thread).
    while client.want_write():
        if threaded:
            time.sleep(0.001)
        else:
            client.loop_write()
    used = time.process_time() - cpu
    if threaded:
        client.loop_stop()
    client.disconnect()
    return {"cpu_ms_per_frame": used / len(frames) * 1000}


# --- 2. flood the bridge ----------------------------------------------------------------------


def flood(
    broker: Broker,
    frames: int,
    coins: int,
    *,
    paced: tuple[str, ...] = (),
    tls: Tls | None = None,
    fast_path: bool = True,
    quiet: float = 1.0,
) -> dict[str, Any]:
    """`frames` frames sent right after the subscribe, as fast as the bridge takes them unless
    `paced` gives the simulator a rate and frames per write."""
    counter = Counter(broker.port)
    sim_args = ("--no-cadence", "--flood", str(frames), *paced)
    with simulator_process(*sim_args, tls=tls) as url, \
            bridge_process(broker.port, url, coins,
                           env=bridge_env(tls, fast_path=fast_path)) as bridge:  # fmt: skip
        # The flood ends with every coin's newest frame; wait until the subscriber is quiet.
        wait_until(lambda: counter.first_at is not None, timeout=30)
        cpu_start = cpu_seconds(bridge.pid)
        wait_until(lambda: time.monotonic() - counter.last_at > quiet, timeout=300, interval=0.1)
        cpu = cpu_seconds(bridge.pid) - cpu_start
        assert counter.first_at is not None
        elapsed = counter.last_at - counter.first_at
        rss = peak_rss_mb(bridge.pid)
    counter.close()
    return {
        "frames": frames,
        "seconds": elapsed,
        "frames_per_s": frames / elapsed,
        "publishes_per_s": counter.count / elapsed,
        "publishes": counter.count,
        # Below 16 (13 fields, json, text, a status now and then) when the broker and the
        # subscriber could not take every value: the newest ones were published instead.
        "messages_per_frame": counter.count / frames,
        "bridge_cpu_ms_per_frame": cpu / frames * 1000,
        "bridge_cpu_us_per_message": cpu / max(counter.count, 1) * 1e6,
        "peak_rss_mb": rss,
    }


# --- 3. real cadence --------------------------------------------------------------------------


def cadence(
    broker: Broker,
    coins: int,
    seconds: float,
    settle: float,
    tls: Tls | None = None,
    *,
    one_connection: bool = True,
    python: str = sys.executable,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Every coin at CoinMarketCap's cadence, on one connection (or as the bridge spreads them
    when the simulator allows any number, `one_connection=False`: what a release without the
    `max_connections` option understands). The simulator writes each frame on its own (one
    send, Nagle off), so each arrives in its own TCP segment, as from a busy server."""
    counter = Counter(broker.port, "cmc/+/json")
    sim_args, cmc_extra = ONE_CONNECTION if one_connection else (("--no-limits",), "")
    started = time.monotonic()
    with simulator_process(*sim_args, tls=tls) as url, \
            bridge_process(broker.port, url, coins, cmc_extra=cmc_extra,
                           env=bridge_env(tls), python=python, cwd=cwd) as bridge:  # fmt: skip
        wait_until(lambda: counter.first_at is not None, timeout=30)
        assert counter.first_at is not None
        first_value = counter.first_at - started
        # Steady state: the first second carries every coin's first push at once (start-up,
        # reported above); the window opens after one full 15 s cycle.
        time.sleep(settle)
        counter.latencies.clear()
        cpu0, t0, rss0 = cpu_seconds(bridge.pid), time.monotonic(), rss_mb(bridge.pid)
        time.sleep(seconds)
        cpu = cpu_seconds(bridge.pid) - cpu0
        cpu_share = cpu / (time.monotonic() - t0)
        rss = peak_rss_mb(bridge.pid)
        growth = rss_mb(bridge.pid) - rss0
        # The window's quotes only: a release without `connections` in bridge/info keeps the
        # layout wait below busy for its whole timeout, while quotes go on arriving.
        lat = sorted(counter.latencies)
        layout = connection_layout(broker, "cmc", coins, timeout=min(settle + seconds, 15))
    counter.close()
    return {
        "coins": coins,
        "transport": "wss" if tls else "ws",
        **layout,
        "quotes": len(lat),
        "cpu_percent_of_one_core": cpu_share * 100,
        "cpu_us_per_frame": cpu / max(len(lat), 1) * 1e6,
        "peak_rss_mb": rss,
        "rss_growth_mb": growth,
        "latency_ms_p50": statistics.median(lat) if lat else float("nan"),
        "latency_ms_p99": lat[int(len(lat) * 0.99)] if lat else float("nan"),
        "latency_ms_max": lat[-1] if lat else float("nan"),
        "start_to_first_value_s": first_value,
    }


# --- 4. what publish_mode = "changed" saves ---------------------------------------------------

PUBLISH_MODES = (
    ("all", ""),
    ("changed", 'publish_mode = "changed"\n'),
    ("changed, deadband 0.1", 'publish_mode = "changed"\ndeadband = 0.1\n'),
)


def traffic(broker: Broker, coins: int, seconds: float, settle: float) -> list[dict[str, Any]]:
    """Messages per second the broker gets at real cadence, per publish mode."""
    rows = []
    sim_args, cmc_extra = ONE_CONNECTION
    for mode, extra in PUBLISH_MODES:
        counter = Counter(broker.port)
        with simulator_process(*sim_args) as url, \
                bridge_process(broker.port, url, coins, extra, cmc_extra=cmc_extra):  # fmt: skip
            wait_until(counter.started, timeout=30)
            time.sleep(settle)
            count0, t0 = counter.count, time.monotonic()
            time.sleep(seconds)
            rate = (counter.count - count0) / (time.monotonic() - t0)
        counter.close()
        rows.append({"mode": mode, "coins": coins, "messages_per_s": rate})
    return rows


# --- 5. what sharding over connections costs ---------------------------------------------------

#: (label, simulator options, bridge [cmc] lines, topic prefix)
SHARDING_ARMS = (
    ("sharded", (), "", "sharded"),  # CoinMarketCap's limits: 100 ids a connection
    ("one connection", *ONE_CONNECTION, "single"),
)


def sharding(broker: Broker, coins: int, seconds: float, settle: float) -> dict[str, Any]:
    """The same coins at real cadence spread over connections of 100 ids (the default
    simulator's limits) and on one connection (limits off), both running at once, so the
    machine's noise falls on both alike."""
    with ExitStack() as stack:
        arms = []
        for label, sim_args, cmc_extra, prefix in SHARDING_ARMS:
            counter = Counter(broker.port, f"{prefix}/+/json")
            stack.callback(counter.close)
            url = stack.enter_context(simulator_process(*sim_args))
            bridge = stack.enter_context(
                bridge_process(broker.port, url, coins, cmc_extra=cmc_extra, prefix=prefix)
            )
            arms.append((label, prefix, counter, bridge))
        # Connections open one a second; every coin has a value once the last one streams.
        for *_, counter, _bridge in arms:
            wait_until(partial(counter.has_values_of, coins), timeout=60, interval=0.2)
        time.sleep(settle)
        start = [(cpu_seconds(b.pid), c.count) for *_, c, b in arms]
        t0 = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        rows = {}
        for (label, prefix, counter, bridge), (cpu0, count0) in zip(arms, start, strict=True):
            cpu = cpu_seconds(bridge.pid) - cpu0
            rows[label] = {
                **connection_layout(broker, prefix, coins, timeout=15),
                "coins": coins,
                "quotes": counter.count - count0,
                "cpu_percent_of_one_core": cpu / elapsed * 100,
                "cpu_us_per_frame": cpu / max(counter.count - count0, 1) * 1e6,
                "peak_rss_mb": peak_rss_mb(bridge.pid),
            }
    sharded, single = rows["sharded"], rows["one connection"]
    return {
        **rows,
        "cpu_ratio": sharded["cpu_percent_of_one_core"] / single["cpu_percent_of_one_core"],
        "rss_delta_mb": sharded["peak_rss_mb"] - single["peak_rss_mb"],
    }


# --- 6. how frames arrive: batched or one per segment, plain or TLS, fast path or not ----------

ARRIVALS = (("64 frames per write", 64), ("one frame per segment", 1))


def arrivals(
    broker: Broker, tls: Tls, frames: int, rate: int, quiet: float
) -> list[dict[str, Any]]:
    """CPU per frame at one rate (so the publishing side does the same work in every row),
    changing only how frames reach the bridge and how it reads them."""
    rows = []
    for transport, transport_tls in (("ws", None), ("wss", tls)):
        for arrival, per_write in ARRIVALS:
            for fast_path in (True, False):
                paced = ("--flood-rate", str(rate), "--flood-batch", str(per_write))
                result = flood(broker, frames, 100, paced=paced, tls=transport_tls,
                               fast_path=fast_path, quiet=quiet)  # fmt: skip
                rows.append({
                    "transport": transport, "arrival": arrival, "fast_path": fast_path,
                    "rate": rate, **result,
                })  # fmt: skip
    return rows


def arrival_row(r: dict[str, Any], transport: str, per_write: int, fast: bool) -> dict[str, Any]:
    arrival = {n: label for label, n in ARRIVALS}[per_write]
    return next(
        row for row in r["arrivals"]
        if (row["transport"], row["arrival"], row["fast_path"]) == (transport, arrival, fast)
    )  # fmt: skip


# --- the run ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, for the test suite")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    against.add_arguments(parser)
    args = parser.parse_args()
    if args.against is not None:
        return against.main(
            args, measure=cadence, broker_factory=lambda: Broker("set_tcp_nodelay true\n").start()
        )
    quick = args.quick
    frames = sample_frames(2000 if quick else 20000)
    result: dict[str, Any] = {
        "cores": os.cpu_count(),
        "quick": quick,
        "python": sys.version.split()[0],
    }
    # Nagle off towards subscribers, as on any broker tuned for latency: otherwise mosquitto's
    # default adds tens of milliseconds to every small message, whoever publishes it.
    broker = Broker("set_tcp_nodelay true\n").start()
    tls_dir = tempfile.TemporaryDirectory()
    took: dict[str, float] = {}
    started = time.monotonic()

    def timed(name: str, value: Any) -> None:
        nonlocal started
        result[name] = value
        took[name] = round(time.monotonic() - started, 1)
        started = time.monotonic()

    try:
        tls = make_tls(Path(tls_dir.name))
        timed("raw_paho", raw_paho_rate(broker, 20_000 if quick else 200_000))
        timed("raw_websocket", raw_websocket_rate(2000 if quick else 50_000))
        timed("floor_threaded", bare_floor(broker, frames, threaded=True))
        timed("floor_single_thread", bare_floor(broker, frames, threaded=False))
        timed("flood", flood(broker, 2000 if quick else 50_000, 100))
        timed("arrivals", arrivals(broker, tls, 300 if quick else 10_000, 1000,
                                   0.3 if quick else 0.5))  # fmt: skip
        timed("sharding", sharding(broker, 200 if quick else 1000, 1.5 if quick else 45,
                                   0.5 if quick else 16))  # fmt: skip
        timed("cadence", [
            cadence(broker, coins, 2 if quick else 30, 0.5 if quick else 16, via)
            for coins, via in ([(500, None)] if quick else
                               [(500, None), (2000, None), (10_000, None), (10_000, tls)])
        ])  # fmt: skip
        timed("publish_modes",
              traffic(broker, 500, 1 if quick else 30, 0.3 if quick else 16))  # fmt: skip
    finally:
        broker.cleanup()
        tls_dir.cleanup()
    result["seconds_per_part"] = took
    one_segment = arrival_row(result, "ws", 1, True)
    result["ratios"] = {
        "bridge_cpu_vs_threaded_floor": result["flood"]["bridge_cpu_ms_per_frame"]
        / result["floor_threaded"]["cpu_ms_per_frame"],
        "bridge_publishes_vs_raw_paho": result["flood"]["publishes_per_s"]
        / result["raw_paho"]["messages_per_s"],
        "sharded_cpu_vs_one_connection": result["sharding"]["cpu_ratio"],
        "sharded_rss_minus_one_connection_mb": result["sharding"]["rss_delta_mb"],
        "one_per_segment_vs_batched_cpu": one_segment["bridge_cpu_ms_per_frame"]
        / arrival_row(result, "ws", 64, True)["bridge_cpu_ms_per_frame"],
        "tls_vs_plain_cpu_one_per_segment": arrival_row(result, "wss", 1, True)[
            "bridge_cpu_ms_per_frame"
        ]
        / one_segment["bridge_cpu_ms_per_frame"],
        "fallback_vs_fast_path_cpu_one_per_segment": arrival_row(result, "ws", 1, False)[
            "bridge_cpu_ms_per_frame"
        ]
        / one_segment["bridge_cpu_ms_per_frame"],
        "fallback_vs_fast_path_cpu_batched": arrival_row(result, "ws", 64, False)[
            "bridge_cpu_ms_per_frame"
        ]
        / arrival_row(result, "ws", 64, True)["bridge_cpu_ms_per_frame"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(table(result))
    print(f"\n(JSON: {args.out})")
    return 0


def table(r: dict[str, Any]) -> str:
    flood, ratios = r["flood"], r["ratios"]
    measures: list[tuple[str, str]] = [
        ("stack: raw paho publishes/s (retained QoS0, seen by a subscriber)",
         f"{r['raw_paho']['messages_per_s']:,.0f}"),
        ("stack: raw websocket-client frames/s (received + parsed)",
         f"{r['raw_websocket']['frames_per_s']:,.0f}"),
        ("floor: CPU ms/frame, json.loads + 13 publishes, loop_start",
         f"{r['floor_threaded']['cpu_ms_per_frame']:.3f}"),
        ("floor: CPU ms/frame, same, one thread, batched writes",
         f"{r['floor_single_thread']['cpu_ms_per_frame']:.3f}"),
        ("flood: bridge frames/s end to end", f"{flood['frames_per_s']:,.0f}"),
        ("flood: bridge publishes/s seen by a subscriber", f"{flood['publishes_per_s']:,.0f}"),
        ("flood: messages published per frame taken (16 = none coalesced)",
         f"{flood['messages_per_frame']:.1f}"),
        ("flood: bridge CPU ms/frame", f"{flood['bridge_cpu_ms_per_frame']:.3f}"),
        ("flood: bridge CPU us/message published",
         f"{flood['bridge_cpu_us_per_message']:.1f}"),
        ("floor: CPU us/message, one thread (13 per frame)",
         f"{r['floor_single_thread']['cpu_ms_per_frame'] / 13 * 1000:.1f}"),
        ("flood: bridge peak RSS MB", f"{flood['peak_rss_mb']:.1f}"),
        ("ratio: bridge CPU / threaded floor (target <= 0.6)",
         f"{ratios['bridge_cpu_vs_threaded_floor']:.2f}"),
        ("ratio: bridge publishes / raw paho (target >= 0.7)",
         f"{ratios['bridge_publishes_vs_raw_paho']:.2f}"),
    ]  # fmt: skip
    for row in r["arrivals"]:
        path = "fast path" if row["fast_path"] else "fallback"
        measures.append((
            f"{row['transport']}, {row['arrival']}, {path}: us/frame (msg/frame)",
            f"{row['bridge_cpu_ms_per_frame'] * 1000:.1f} ({row['messages_per_frame']:.1f})",
        ))  # fmt: skip
    measures += [
        ("ratio: one frame per segment / 64 per write, CPU per frame",
         f"{ratios['one_per_segment_vs_batched_cpu']:.2f}"),
        ("ratio: wss / ws, one frame per segment, CPU per frame",
         f"{ratios['tls_vs_plain_cpu_one_per_segment']:.2f}"),
        ("ratio: fallback / fast path, one frame per segment",
         f"{ratios['fallback_vs_fast_path_cpu_one_per_segment']:.2f}"),
        ("ratio: fallback / fast path, 64 frames per write",
         f"{ratios['fallback_vs_fast_path_cpu_batched']:.2f}"),
    ]  # fmt: skip
    shard = r["sharding"]
    for label in ("sharded", "one connection"):
        row = shard[label]
        n = f"{row['coins']:,} coins, {label}"
        measures += [
            (f"{n}: connections (connected), ids on each",
             f"{row['connections']} ({row['connected']}), {_ids(row['ids_per_connection'])}"),
            (f"{n}: CPU % of one core (us/frame)",
             f"{row['cpu_percent_of_one_core']:.2f} ({row['cpu_us_per_frame']:.0f})"),
            (f"{n}: peak RSS MB", f"{row['peak_rss_mb']:.1f}"),
        ]  # fmt: skip
    measures += [
        ("ratio: sharded / one connection, CPU (target <= 1.10)",
         f"{ratios['sharded_cpu_vs_one_connection']:.2f}"),
        ("sharded - one connection, peak RSS MB (target <= +5)",
         f"{ratios['sharded_rss_minus_one_connection_mb']:+.1f}"),
    ]  # fmt: skip
    for c in r["cadence"]:
        n = f"{c['coins']:,} coins, real cadence, {c['transport']}"
        latency = (
            f"{c['latency_ms_p50']:.1f} / {c['latency_ms_p99']:.1f} / {c['latency_ms_max']:.0f}"
        )
        measures += [
            (
                f"{n}: connections, ids on each",
                f"{c['connections']}, {_ids(c['ids_per_connection'])}",
            ),
            (f"{n}: CPU % of one core", f"{c['cpu_percent_of_one_core']:.1f}"),
            (f"{n}: CPU us/frame", f"{c['cpu_us_per_frame']:.0f}"),
            (f"{n}: peak RSS MB", f"{c['peak_rss_mb']:.1f}"),
            (f"{n}: RSS growth over the window MB", f"{c['rss_growth_mb']:+.1f}"),
            (f"{n}: added latency ms p50 / p99 / max", latency),
            (f"{n}: quotes measured", f"{c['quotes']:,}"),
            (f"{n}: start to first value s", f"{c['start_to_first_value_s']:.2f}"),
        ]
    base = r["publish_modes"][0]["messages_per_s"]
    for row in r["publish_modes"]:
        saved = (1 - row["messages_per_s"] / base) * 100 if base else float("nan")
        measures.append((
            f"publish_mode {row['mode']}, {row['coins']:,} coins: messages/s (saved)",
            f"{row['messages_per_s']:,.0f} ({saved:.0f} %)",
        ))  # fmt: skip
    quick = " (quick run: rough figures)" if r["quick"] else ""
    rows = [f"cmc-mqtt benchmark on {r['cores']} cores, Python {r['python']}{quick}", ""]
    rows += [f"{name:<66} {value:>20}" for name, value in measures]
    return "\n".join(rows)


def _ids(counts: list[int]) -> str:
    """Ids per connection, runs of equal counts folded: `100 x 10`."""
    if counts and len(set(counts)) == 1:
        return f"{counts[0]:,}" + (f" x {len(counts)}" if len(counts) > 1 else "")
    return " + ".join(f"{n:,}" for n in counts)


if __name__ == "__main__":
    sys.exit(main())
