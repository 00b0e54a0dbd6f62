"""Every hostile input of issue #20 at full size against a real `cmc-mqtt run` process, a real
mosquitto and the fake CoinMarketCap; writes the "hostile inputs" section of RELIABILITY.md.

.venv/bin/python scripts/hostile.py             # about 3 minutes
.venv/bin/python scripts/hostile.py --no-write  # print the section, leave RELIABILITY.md alone

The tests check each case briefly, in process or with small sizes; this runs them as an operator
would meet them: a bridge process that has been streaming, a broker with a packet bound, a
client that floods for half a minute, files left corrupt on disk. Each row is judged on what a
stranger sees (the answers, `bridge/info`, the prices on the broker, the process, its log), never
on the bridge's insides.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from exit_stress import SECTION_START as EXIT_START  # noqa: E402
from exit_stress import replace_section  # noqa: E402

from cmc_mqtt.config import load_settings  # noqa: E402
from cmc_mqtt.extensions.ratelimit import ALLOWANCES, ANSWERS  # noqa: E402
from cmc_mqtt.extensions.request_payloads import MAX_IDS_PER_REQUEST, MAX_REQUEST_BYTES  # noqa: E402
from cmc_mqtt.extensions.requests import SUMMARY_EVERY_S  # noqa: E402
from cmc_mqtt.model.coins import MAX_COIN_ID  # noqa: E402
from cmc_mqtt.rest.client import REST_TIMEOUT_S  # noqa: E402
from cmc_mqtt.simulator import FakeStreamServer  # noqa: E402
from cmc_mqtt.simulator.limits import Limits  # noqa: E402
from cmc_mqtt.simulator.server import Behaviour  # noqa: E402
from cmc_mqtt.state.identity import memory_path  # noqa: E402
from harness.helpers import (  # noqa: E402
    TEST_API_KEY,
    Broker,
    Subscriber,
    free_port,
    retained,
    wait_until,
)

SECTION_START, SECTION_END = "<!-- hostile -->", "<!-- /hostile -->"
PYTHON = ROOT / ".venv" / "bin" / "python"
COINS = (1, 1027)
HELD = "0.5"  # coin 1's holding in the main configuration: what no request may change
#: mosquitto's bound on one packet: above the 10 MB payloads the bridge itself must refuse, so
#: those reach it; one beyond this shows where the broker takes over.
MAX_PACKET = 16 * 1024 * 1024
PUSH_EVERY_S = 1.0  # the fake's cadence for the configured coins
FLOOD_RATE, FLOOD_S, IDLE_S = 1000, 30.0, 30.0
OTHER_KEY = "hostile-other-key-2b9e-do-not-log"
CRLF_KEY = "hostile-key-7c1d\r\nX-Injected: yes"
RATE_LIMITED = "rate limited: retry in "

# --- what is seen on a broker ---------------------------------------------------------------


class Watcher(Subscriber):
    """A `Subscriber` to several topic filters that notes when each message arrived, so a row is
    cut out of one long run by position and time, and answers are taken in order."""

    def __init__(self, broker: Broker, topics: list[str]) -> None:
        self._filters = topics
        self.arrived: list[float] = []
        super().__init__(broker, topics[0])

    def _on_connect(self, client: mqtt.Client, *_args: Any) -> None:
        client.subscribe([(topic, 0) for topic in self._filters])

    def _on_message(self, c: mqtt.Client, u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:  # a reentrant lock: the message and its time are one step
            super()._on_message(c, u, msg)
            self.arrived.append(time.monotonic())

    def mark(self) -> int:
        with self._cond:
            return len(self.messages)

    def since(self, mark: int, until: int | None = None) -> list[tuple[float, str, str]]:
        with self._cond:
            end = len(self.messages) if until is None else until
            return [(self.arrived[i], *self.messages[i][:2]) for i in range(mark, end)]

    def next_on(self, topic: str, after: int, timeout: float) -> str | None:
        """The first payload on `topic` at or after position `after`; None when none came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(after, len(self.messages)):
                    if self.messages[i][0] == topic:
                        return self.messages[i][1]
                after = len(self.messages)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def json_when(
        self, topic: str, expect: Callable[[dict[str, Any]], Any], timeout: float = 25.0
    ) -> dict[str, Any] | None:
        """The last JSON on `topic` once `expect` holds for it; None if it never did in time."""

        def check(last: dict[str, str]) -> dict[str, Any] | None:
            if not last.get(topic):
                return None
            body = json.loads(last[topic])
            return body if expect(body) else None

        try:
            return dict(self.wait_for(check, timeout))
        except AssertionError:
            return None

    def last_json(self, topic: str) -> dict[str, Any]:
        with self._cond:
            text = self.last.get(topic)
        return json.loads(text) if text else {}


class Client:
    """A client publishing requests to one bridge, reading its answers on a `Watcher`."""

    def __init__(self, broker: Broker, prefix: str, watcher: Watcher) -> None:
        self.prefix, self.watcher = prefix, watcher
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hostile-{free_port()}")
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def topic(self, action: str) -> str:
        return f"{self.prefix}/bridge/request/{action}"

    def publish(self, action: str, payload: bytes, *, retain: bool = False, qos: int = 1) -> None:
        info = self.client.publish(self.topic(action), payload, qos=qos, retain=retain)
        if qos:
            info.wait_for_publish(30)

    def ask(self, action: str, payload: bytes, *, retain: bool = False) -> dict[str, Any] | None:
        mark = self.watcher.mark()
        self.publish(action, payload, retain=retain)
        answer = self.watcher.next_on(f"{self.prefix}/bridge/response/{action}", mark, 30)
        return None if answer is None else dict(json.loads(answer))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# --- a bridge process -----------------------------------------------------------------------


def toml(sections: dict[str, dict[str, Any]]) -> str:
    """A configuration file's text; JSON's string escapes are TOML's too."""
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            written = str(value).lower() if isinstance(value, bool) else json.dumps(value)
            lines.append(f"{key} = {written}")
    return "\n".join(lines) + "\n"


def configuration(
    path: Path,
    server: FakeStreamServer,
    broker: Broker,
    prefix: str,
    cache: Path,
    *,
    key: str | None = TEST_API_KEY,
    cmc: dict[str, Any] | None = None,
    more: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A configuration file against `server` and `broker`; `key` None: the key is given
    elsewhere (`cmc`'s `api_key_file`, or the environment)."""
    sections: dict[str, dict[str, Any]] = {
        "cmc": {
            **({"api_key": key} if key is not None else {}),
            "url": server.url, "rest_url": server.rest_url,
            "crypto_ids": list(COINS), "lookup_names": True, "cache_dir": str(cache),
            **(cmc or {}),
        },
        "mqtt": {"host": broker.host, "port": broker.port, "topic_prefix": prefix,
                 "client_id": f"hostile-{prefix}"},
        "homeassistant": {"node_id": prefix},
        **(more or {}),
        "log": {"level": "info"},
    }  # fmt: skip
    path.write_text(toml(sections))
    path.chmod(0o600)
    return path


class Bridge:
    """`cmc-mqtt run` as a process of its own, started with the tree's interpreter."""

    def __init__(self, name: str, config: Path, workdir: Path, env: dict[str, str] | None = None):
        self.name, self.config = name, config
        self.log_path = workdir / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(PYTHON), "-m", "cmc_mqtt", "run", "--config", str(config)],
                stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                env={**os.environ, "CMC_API_KEY": "", "PYTHONUNBUFFERED": "1", **(env or {})},
            )  # fmt: skip

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return kb / 1024

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> int | None:
        """SIGTERM, as a service manager stops it; its status (None: it had to be killed)."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        status = self.wait_exit(10)
        if status is None:
            self.proc.kill()
            self.proc.wait(5)
        return status


# --- the run's figures ----------------------------------------------------------------------


@dataclass
class Row:
    attack: str
    sent: str
    contained: str
    flowing: str
    never_sent: int
    alive: str
    notes: str
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        cells = [self.attack, self.sent, self.contained, self.flowing, str(self.never_sent),
                 self.alive, self.notes]  # fmt: skip
        if self.problems:
            cells[-1] += " **FAILED: " + "; ".join(self.problems) + "**"
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


@dataclass
class Answers:
    """What one row's requests were answered, case by case."""

    errors: Counter[str] = field(default_factory=Counter)  # by the error's first words
    ok: int = 0
    limited: int = 0  # rate limited on the way, then sent again when the bridge said
    unanswered: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return sum(self.errors.values())

    def reasons(self) -> str:
        return ", ".join(f"`{reason}` x{n}" for reason, n in self.errors.most_common())


def reason_of(error: str) -> str:
    """An error's kind as the table names it: the words before the first colon."""
    return error.split(":", 1)[0] + ": …" if ":" in error else error


@dataclass
class Case:
    label: str
    payload: bytes
    expect: str | None = "bad payload: "  # how the answer's error begins; None: `ok`
    answered: bool = True
    retain: bool = False
    before: Callable[[], None] | None = None  # arranged just before it is sent
    after: Callable[[], None] | None = None


def run_cases(client: Client, action: str, cases: list[Case], answers: Answers) -> None:
    """Each case in turn, every one answered before the next: when the action's allowance is
    spent the bridge says when to retry, and the case is sent again then (counted as
    `limited`), so every case reaches the parser and no answer is lost to the answers' cap."""
    for case in cases:
        if case.before is not None:
            case.before()
        try:
            while case.answered:
                answer = client.ask(action, case.payload, retain=case.retain)
                if answer is None:
                    answers.unanswered += 1
                    answers.problems.append(f"{case.label}: no answer")
                    break
                error = str(answer.get("error", ""))
                if error.startswith(RATE_LIMITED):
                    answers.limited += 1
                    time.sleep(int(error.removeprefix(RATE_LIMITED).removesuffix(" s")))
                    continue
                ok = answer.get("status") == "ok"
                if ok:
                    answers.ok += 1
                else:
                    answers.errors[reason_of(error)] += 1
                if ok != (case.expect is None) or not error.startswith(case.expect or ""):
                    answers.problems.append(f"{case.label}: answered {str(answer)[:120]}")
                break
            if not case.answered:
                client.publish(action, case.payload)
        finally:
            if case.after is not None:
                case.after()


def fresh_updates(
    seen: list[tuple[float, str, str]], timed: set[str]
) -> tuple[Counter[str], float]:
    """Prices that moved (a republished value is no update), per topic, and the longest time
    between two moves of one of the `timed` topics (a coin added and removed again has gaps
    that are no stop)."""
    updates: Counter[str] = Counter()
    last: dict[str, tuple[float, str]] = {}
    gap = 0.0
    for at, topic, payload in seen:
        if not payload or not topic.endswith("/p"):
            continue
        before = last.get(topic)
        if before is None or before[1] != payload:
            if before is not None and topic in timed:
                gap = max(gap, at - before[0])
            updates[topic] += 1
            last[topic] = (at, payload)
    return updates, gap


def flowing(seen: list[tuple[float, str, str]], prefix: str) -> str:
    """Whether every configured coin's price moved, and how long the longest pause was."""
    configured = {f"{prefix}/{cid}/p" for cid in COINS}
    updates, gap = fresh_updates(seen, configured)
    word = "yes" if all(updates[topic] for topic in configured) else "no"
    longest = f", longest gap {gap:.1f} s" if gap else ""
    return f"{word} ({sum(updates.values())} updates{longest})"


def number(text: str) -> Decimal | None:
    """`text` as a number to compare, or None (in no set of prices) when it is none."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def never_sent(
    seen: list[tuple[float, str, str]], server: FakeStreamServer, prefix: str, held: Decimal
) -> list[str]:
    """Published prices (and coin 1's value) that are no price the stream sent (or that price
    times the holding, rounded to cents). Compared as numbers: the bridge writes a price the
    stream sent in exponent form (`6.7e-05`) out in full (`0.000067`), exactly."""
    sent = {cid: {Decimal(p) for p in prices} for cid, prices in server.sent_prices.items()}
    cents = Decimal("0.01")
    values = {(p * held).quantize(cents, ROUND_HALF_EVEN) for p in sent.get(1, set())}
    bad = []
    for _, topic, payload in seen:
        parts = topic.split("/")
        if not payload or parts[0] != prefix or not parts[1].isdigit():
            continue
        if (parts[2] == "p" and number(payload) not in sent.get(int(parts[1]), set())) or (
            parts[2] == "value_usd" and number(payload) not in values
        ):
            bad.append(f"{topic}={payload}")
    return bad


def log_kinds(lines: list[str]) -> str:
    """Log lines by what they say (time, level, logger and numbers left out), most frequent
    first."""
    kinds: Counter[str] = Counter()
    for line in lines:
        text = re.sub(r"^\S+ \S+ \S+ \S+: ", "", line)
        text = re.sub(r"\d+", "N", text).split(":")[0].split("(")[0]
        kinds[" ".join(text.split()[:6])] += 1
    return ", ".join(f"{text} x{n}" for text, n in kinds.most_common())


# --- the lab --------------------------------------------------------------------------------


class Lab:
    """The brokers, the fake servers and every bridge process; `close` stops them all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.cache = workdir / "cache"  # one cache folder for every configuration
        self._stack = contextlib.ExitStack()
        bound = f"max_packet_size {MAX_PACKET}"
        self.broker = self._broker(Broker(extra_config=bound).start())  # the main bridge's
        self.side_broker = self._broker(Broker(extra_config=bound).start())  # everyone else's
        self.stream = self.server(limits=Limits(rate_limit_minute=None))
        self.side_stream = self.server()  # the start-up attacks' CoinMarketCap
        self.bridges: list[Bridge] = []
        self.watch = self._closing(Watcher(self.broker, [
            "cmc/+/p", "cmc/1/value_usd", "cmc/status", "cmc/bridge/info", "cmc/bridge/response/#",
        ]))  # fmt: skip
        self.side_watch = self._closing(Watcher(self.side_broker, [
            "+/+/p", "+/+/p_eur", "+/status", "+/bridge/info", "+/bridge/response/#",
            "+/bridge/credits", "+/bridge/names",
        ]))  # fmt: skip

    def _broker(self, broker: Broker) -> Broker:
        self._stack.callback(broker.cleanup)
        return broker

    def _closing(self, watcher: Watcher) -> Watcher:
        self._stack.callback(watcher.close)
        return watcher

    def server(
        self, *, api_key: str = TEST_API_KEY, limits: Limits | None = None
    ) -> FakeStreamServer:
        server = FakeStreamServer(
            api_key=api_key, fast_interval=PUSH_EVERY_S, slow_interval=2 * PUSH_EVERY_S,
            limits=limits, behaviour=Behaviour(ping_interval_ms=5000),
        ).start()  # fmt: skip
        self._stack.callback(server.stop)
        return server

    def client(self, prefix: str = "cmc", *, side: bool = False) -> Client:
        broker, watch = (self.side_broker, self.side_watch) if side else (self.broker, self.watch)
        client = Client(broker, prefix, watch)
        self._stack.callback(client.close)
        return client

    def bridge(self, name: str, config: Path, env: dict[str, str] | None = None) -> Bridge:
        bridge = Bridge(name, config, self.workdir, env)
        self.bridges.append(bridge)
        return bridge

    def close(self) -> None:
        for bridge in self.bridges:
            if bridge.alive():
                bridge.stop()
        self._stack.close()


def wait_streaming(watch: Watcher, prefix: str, coins: tuple[int, ...] = COINS) -> None:
    """Until every coin has a price and the bridge says it is online: its requests are
    subscribed by then (they are subscribed on connecting, before any value is published)."""
    watch.wait_for(
        lambda last: (
            last.get(f"{prefix}/status") == "online"
            and all(last.get(f"{prefix}/{cid}/p") for cid in coins)
        ),
        timeout=30,
    )


def counters(info: dict[str, Any]) -> tuple[int, int]:
    return int(info.get("refused_requests", 0)), int(info.get("rate_limited_requests", 0))


class Main:
    """The main bridge (prefix `cmc`): what a row did to it, judged from outside."""

    def __init__(self, lab: Lab, bridge: Bridge) -> None:
        self.lab, self.bridge = lab, bridge
        self.counted = (0, 0)  # refused_requests, rate_limited_requests as last confirmed

    def confirm(self, refused: int, limited: int) -> tuple[str, list[str]]:
        """Wait until `bridge/info` has counted this many more; the counters' text."""
        want = (self.counted[0] + refused, self.counted[1] + limited)
        watch = self.lab.watch
        info = watch.json_when(
            "cmc/bridge/info", lambda i: all(g >= w for g, w in zip(counters(i), want, strict=True))
        )
        got = counters(info if info is not None else watch.last_json("cmc/bridge/info"))
        delta = (got[0] - self.counted[0], got[1] - self.counted[1])
        self.counted = got
        text = f"`refused_requests` +{delta[0]}, `rate_limited_requests` +{delta[1]}"
        if delta == (refused, limited):
            return text, []
        return text, [f"counted {delta}, answered {(refused, limited)}"]

    def judge(self, mark: int) -> tuple[str, list[str], str]:
        seen = self.lab.watch.since(mark)
        bad = never_sent(seen, self.lab.stream, "cmc", Decimal(HELD))
        status = self.lab.watch.last.get("cmc/status")
        alive = "yes" if self.bridge.alive() and status == "online" else f"NO ({status})"
        return flowing(seen, "cmc"), bad, alive

    def crypto_ids(self) -> list[int]:
        return list(self.lab.watch.last_json("cmc/bridge/info").get("crypto_ids", []))

    def row(self, attack: str, sent: str, answers: Answers, mark: int, notes: str) -> Row:
        text, problems = self.confirm(answers.refused + answers.limited, answers.limited)
        flow, bad, alive = self.judge(mark)
        contained = f"{answers.refused} refused: {answers.reasons()}; {text}"
        if answers.limited:
            contained += f" (with the {answers.limited} retries)"
        if answers.limited:
            notes += (f"; {answers.limited} sent again after `rate limited: retry in N s` "
                      "(each action's allowance)")  # fmt: skip
        problems = answers.problems + problems + bad[:3]
        if not flow.startswith("yes") or not alive.startswith("yes"):
            problems.append("prices stopped or the bridge is down")
        return Row(attack, sent, contained, flow, len(bad), alive, notes, problems)


# --- the attacks on the main bridge ---------------------------------------------------------

RETAINED_AT_START = {
    "coins/add": b'{"ids": [52]}',
    "coins/remove": b'{"ids": [1027]}',
    "holdings/set": b'{"holdings": {"1": "7"}}',
    "republish": b"{}",
    "reconnect": b"{}",
    "discovery/set": b'{"enabled": false}',
}


def place_retained_requests(lab: Lab) -> None:
    """Left on the broker while no bridge ran, each one a change if it were carried out."""
    client = lab.client()
    for action, payload in RETAINED_AT_START.items():
        client.publish(action, payload, retain=True)


def retained_at_start(main: Main, mark: int) -> Row:
    watch = main.lab.watch
    answers = Answers()
    for action in RETAINED_AT_START:
        answer = watch.next_on(f"cmc/bridge/response/{action}", mark, 30)
        if answer is None:
            answers.problems.append(f"{action}: no answer")
            continue
        error = json.loads(answer).get("error", "")
        answers.errors[reason_of(error)] += 1
        if not error.startswith("refused: requests must not be retained"):
            answers.problems.append(f"{action}: answered {answer[:100]}")
    left = retained(main.lab.broker, "cmc/bridge/request/#", expect=lambda s: not s, timeout=10)
    info = watch.last_json("cmc/bridge/info")
    unchanged = (
        info.get("crypto_ids") == list(COINS)
        and info.get("discovery", {}).get("enabled") is True
        and info.get("portfolio", {}).get("holdings") == {"1": HELD}
    )
    if not unchanged:
        answers.problems.append(f"something changed: {info}")
    return main.row(
        "retained requests present at start (one per action)",
        f"{len(RETAINED_AT_START)}, before the bridge started",
        answers, mark,
        f"none carried out (coins, holdings, discovery as configured); {len(left)} left "
        "retained on the broker afterwards",
    )  # fmt: skip


def retained_while_running(main: Main) -> tuple[Row, Callable[[Bridge], None]]:
    """Published retained while the bridge runs: carried out once and cleared. The second half
    (after a restart: never again) is `finish`."""
    client = main.lab.client()
    mark = main.lab.watch.mark()
    answers = Answers()
    case = Case("retained add", b'{"ids": [52]}', expect=None, retain=True)
    run_cases(client, "coins/add", [case], answers)
    cleared = retained(main.lab.broker, "cmc/bridge/request/#", expect=lambda s: not s, timeout=5)
    streamed = main.lab.watch.json_when("cmc/bridge/info", lambda i: 52 in i["crypto_ids"], 15)
    if answers.ok != 1 or streamed is None:
        answers.problems.append(f"not carried out once (ok answers: {answers.ok})")
    row = main.row(
        "a request published retained while the bridge runs", "1 (coins/add 52)", answers, mark,
        f"carried out once (52 streamed), cleared from the broker ({len(cleared)} left)",
    )  # fmt: skip
    row.contained = "carried out once, then cleared (not a refusal: it is a live message)"

    def finish(again: Bridge) -> None:
        """After a restart: not carried out again, proven by an answer to a later request
        coming first (answers leave in the order requests arrive)."""
        later = main.lab.client()
        mark = main.lab.watch.mark()
        marker = later.ask("coins/remove", b'{"ids": [777777], "transaction": "marker"}')
        adds = [m for m in main.lab.watch.since(mark) if m[1] == "cmc/bridge/response/coins/add"]
        store = retained(main.lab.broker, "cmc/bridge/request/#", expect=lambda s: True)
        if marker is None or adds or store:
            row.problems.append(f"after the restart: marker {marker}, adds {adds}, left {store}")
        row.notes += "; not carried out again after a restart"
        row.alive += f"; restarted: {'yes' if again.alive() else 'NO'}"

    return row, finish


def holdings_cases() -> list[Case]:
    def amount(value: str) -> bytes:
        return b'{"holdings": {"1": ' + value.encode() + b"}}"

    return [
        Case("1e400", amount("1e400")),
        Case('"1e400"', amount('"1e400"')),
        Case("-1", amount("-1")),
        Case("NaN", amount("NaN")),
        Case("Infinity", amount("Infinity")),
        Case("10^19", amount(str(10**19))),
        Case("19 decimals", amount('"0.0000000000000000001"')),
        Case("1e-19", amount("1e-19")),
        Case("60,000 digits", amount("1" * 60_000)),
        Case("10 MB number", amount("9" * 10_000_000)),
        Case("true", amount("true")),
        Case("null", amount("null")),
        Case("a list", amount("[1]")),
        Case('key "abc"', b'{"holdings": {"abc": 1}}'),
    ]


def absurd_amounts(main: Main) -> Row:
    client, mark, answers = main.lab.client(), main.lab.watch.mark(), Answers()
    cases = holdings_cases()
    run_cases(client, "holdings/set", cases, answers)
    values = sum(1 for _, t, p in main.lab.watch.since(mark) if t == "cmc/1/value_usd" and p)
    info = main.lab.watch.last_json("cmc/bridge/info")
    held = info.get("portfolio", {}).get("holdings")
    if held != {"1": HELD}:
        answers.problems.append(f"holdings now {held}")
    return main.row(
        "absurd amounts over holdings/set", f"{len(cases)}", answers, mark,
        f"1e400, -1, NaN, Infinity, 10^19, 19 decimals, 60,000 digits, a 10 MB number, wrong "
        f"types; holdings still {json.dumps(held)}; coin 1's value ({values} published) only "
        f"ever its price x {HELD}",
    )  # fmt: skip


def bad_ids(main: Main) -> Row:
    lab = main.lab
    client, mark, answers = lab.client(), lab.watch.mark(), Answers()
    before = main.crypto_ids()

    def ids(values: object) -> bytes:
        return json.dumps({"ids": values}).encode()

    def slow_rest() -> None:
        lab.stream.behaviour.rest_delay = REST_TIMEOUT_S + 3

    def rest_back() -> None:
        lab.stream.behaviour.rest_delay = 0.0

    unknown = list(range(50_000_001, 50_000_001 + MAX_IDS_PER_REQUEST))
    cases = [
        Case("a float", ids([1.5])),
        Case("a bool", ids([True])),
        Case("negative", ids([-1])),
        Case("zero", ids([0])),
        Case("past the max id", ids([MAX_COIN_ID + 1])),
        Case("10^30", ids([10**30])),
        Case("a string", ids(["52"])),
        Case("not a list", ids("52")),
        Case("an empty list", ids([])),
        Case("10,000 ids", ids(list(range(1, 10_001)))),
        Case("an unknown id", ids([99_999_999]), expect="unknown id: 99999999"),
        Case("1,000 unknown ids", ids(unknown), expect="unknown id: "),
        Case("the REST API cannot answer now", ids([4242]), expect="cannot verify now: ",
             before=slow_rest, after=rest_back),
    ]  # fmt: skip
    run_cases(client, "coins/add", cases, answers)
    after = main.crypto_ids()
    subscribed = set().union(*(c.subscribed for c in lab.stream.live))
    strangers = sorted(subscribed - set(after))
    if after != before or strangers:
        answers.problems.append(f"coins {before} -> {after}, subscribed besides: {strangers[:5]}")
    return main.row(
        "bad ids over coins/add", f"{len(cases)}", answers, mark,
        f"floats, bools, negatives, past {MAX_COIN_ID:,}, 10,000 ids, unknown ids, an id while "
        f"the REST API times out ({REST_TIMEOUT_S:g} s); coins still {after}, nothing else "
        "subscribed",
    )  # fmt: skip


def oversized_for_the_broker(lab: Lab) -> bool:
    """A payload past mosquitto's max_packet_size: the broker drops its sender."""
    gone = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hostile-big-{free_port()}")
    client.on_disconnect = lambda *_a: gone.set()
    client.connect(lab.broker.host, lab.broker.port)
    client.loop_start()
    try:
        client.publish("cmc/bridge/request/coins/remove", b"1" * (MAX_PACKET + 1024), qos=0)
        return gone.wait(30)
    finally:
        client.loop_stop()
        client.disconnect()


def malformed(main: Main) -> Row:
    lab = main.lab
    client, mark, answers = lab.client(), lab.watch.mark(), Answers()
    pad = b"x" * MAX_REQUEST_BYTES
    cases = [
        Case("not JSON", b"hello"),
        Case("nested arrays", b'{"ids": ' + b"[" * 60_000 + b"]" * 60_000 + b"}"),
        Case("nested objects", b'{"a": ' * 7_000 + b"1" + b"}" * 7_000),
        Case("invalid UTF-8", b'{"ids": [1027], "x": "\xff\xfe\xc3"}'),
        Case("NUL bytes", b"\x00" * 1000),
        Case("empty (ignored: how a retained request is cleared)", b"", answered=False),
        Case("a list", b"[1027]"),
        Case("a string", b'"1027"'),
        Case("no ids", b"{}"),
        Case("a 100-character transaction", b'{"ids": [1027], "transaction": "' + b"t" * 100
             + b'"}'),
        Case("a 2^64 transaction", b'{"ids": [1027], "transaction": ' + str(2**64).encode()
             + b"}"),
        Case("over the payload bound", b'{"ids": [1027], "pad": "' + pad + b'"}'),
        Case("10 MB", b'{"ids": [1027], "pad": "' + b"x" * 10_000_000 + b'"}'),
    ]  # fmt: skip
    run_cases(client, "coins/remove", cases, answers)
    others = [("republish", b"hello"), ("reconnect", b"[" * 60_000),
              ("discovery/set", b'{"enabled": "no"}')]  # fmt: skip
    for action, payload in others:
        run_cases(client, action, [Case(f"{action}: bad", payload)], answers)
    dropped = oversized_for_the_broker(lab)
    if not dropped:
        answers.problems.append("mosquitto kept a sender past max_packet_size")
    after = main.crypto_ids()
    if 1027 not in after:
        answers.problems.append(f"coins now {after}")
    sent = len(cases) + len(others) + 1
    return main.row(
        "malformed request payloads", f"{sent} (13 on coins/remove, 1 on each other action, "
        "1 past the broker's bound)", answers, mark,
        "not JSON, 60,000-deep nesting, invalid UTF-8, NUL bytes, over the 64 KiB bound, 10 MB; "
        f"an empty payload is ignored, not counted; {MAX_PACKET // 2**20 + 1} MiB: mosquitto "
        f"(max_packet_size) dropped the sender{'' if dropped else ' NOT'}, the bridge saw "
        "nothing",
    )  # fmt: skip


FLOOD_PAYLOADS = {
    "coins/add": b'{"ids": [52], "transaction": "flood"}',
    "coins/remove": b'{"ids": [52], "transaction": "flood"}',
    "holdings/set": b'{"holdings": {"1": "' + HELD.encode() + b'"}, "transaction": "flood"}',
    "republish": b'{"transaction": "flood"}',
    "reconnect": b'{"transaction": "flood"}',
    "discovery/set": b'{"enabled": true, "transaction": "flood"}',
}


@dataclass
class Flood:
    sent: int = 0
    seconds: float = 0.0
    counted: int = 0
    carried_out: int = 0
    answers: int = 0
    cpu: float = 0.0
    idle_cpu: float = 0.0
    rss_at_start: float = 0.0
    rss: tuple[float, float] = (0.0, 0.0)
    log_lines: list[str] = field(default_factory=list)
    flow: str = ""
    gap: float = 0.0


def flood(main: Main, idle_cpu: float, rss_at_start: float) -> tuple[Row, Flood]:
    """FLOOD_RATE requests a second for FLOOD_S seconds, spread evenly over every action, each
    a request that would be carried out if its allowance let it."""
    lab, bridge = main.lab, main.bridge
    figures = Flood(idle_cpu=idle_cpu, rss_at_start=rss_at_start)
    client = lab.client()
    topics = [(client.topic(action), payload) for action, payload in FLOOD_PAYLOADS.items()]
    log_before, cpu_before = len(bridge.lines()), bridge.cpu_seconds()
    figures.rss = (bridge.rss_mb(), 0.0)
    mark = lab.watch.mark()
    started = time.monotonic()
    total = int(FLOOD_S * FLOOD_RATE)
    while figures.sent < total:
        due = min(int((time.monotonic() - started) * FLOOD_RATE) + 1, total)
        while figures.sent < due:
            topic, payload = topics[figures.sent % len(topics)]
            client.client.publish(topic, payload, qos=0)
            figures.sent += 1
        time.sleep(0.002)  # the pace is the clock's: what is due is sent on the next turn
    figures.seconds = time.monotonic() - started
    figures.cpu = bridge.cpu_seconds() - cpu_before
    end = lab.watch.mark()
    figures.log_lines = bridge.lines()[log_before:]

    def answered() -> list[dict[str, Any]]:
        return [json.loads(p) for _, t, p in lab.watch.since(mark)
                if t.startswith("cmc/bridge/response/")]  # fmt: skip

    def all_counted(info: dict[str, Any]) -> bool:
        refused = counters(info)[0] - main.counted[0]
        carried_out = sum(a["status"] == "ok" for a in answered())
        return bool(refused + carried_out >= figures.sent)

    info = lab.watch.json_when("cmc/bridge/info", all_counted, timeout=30)
    info = info or lab.watch.last_json("cmc/bridge/info")
    refused, limited = counters(info)[0] - main.counted[0], counters(info)[1] - main.counted[1]
    main.counted = counters(info)
    replies = answered()
    figures.carried_out = sum(a["status"] == "ok" for a in replies)
    figures.answers = len(replies)
    figures.counted = refused + figures.carried_out
    figures.rss = (figures.rss[0], bridge.rss_mb())
    seen = lab.watch.since(mark, end)
    configured = {f"cmc/{cid}/p" for cid in COINS}
    updates, figures.gap = fresh_updates(seen, configured)
    _, bad, alive = main.judge(mark)
    figures.flow = flowing(seen, "cmc")
    problems = bad[:3]
    if figures.counted < figures.sent:
        problems.append(f"{figures.sent - figures.counted} requests neither counted nor answered")
    if not all(updates[topic] for topic in configured) or figures.gap > 5:
        problems.append("prices stopped during the flood")
    if len(figures.log_lines) > 60:
        problems.append(f"{len(figures.log_lines)} log lines")
    if figures.answers > ANSWERS.burst + figures.seconds / ANSWERS.every + figures.carried_out + 50:
        problems.append(f"{figures.answers} answers: not capped")
    if not alive.startswith("yes"):
        problems.append("the bridge is down")
    row = Row(
        f"request flood: {FLOOD_RATE:,}/s for {FLOOD_S:g} s over all {len(topics)} actions",
        f"{figures.sent:,}",
        f"{refused:,} refused, of which {limited:,} rate limited (`refused_requests` "
        f"+{refused:,}, `rate_limited_requests` +{limited:,}); {figures.carried_out} carried "
        "out within the allowances",
        figures.flow, len(bad), alive,
        f"{len(figures.log_lines)} log lines during the flood; {figures.answers:,} answers; "
        "figures below",
        problems,
    )  # fmt: skip
    return row, figures


# --- the attacks at start-up, each a bridge of its own on the side broker ------------------


def side_row_parts(
    lab: Lab, mark: int, server: FakeStreamServer, prefix: str, bridge: Bridge
) -> tuple[str, list[str], str]:
    configured = {f"{prefix}/{cid}/p" for cid in COINS}

    def moved_again() -> bool:
        updates, _ = fresh_updates(lab.side_watch.since(checked), configured)
        return all(updates[topic] >= 2 for topic in configured)

    # Prices still moving after the attack was judged, not only before: a few pushes more.
    checked = lab.side_watch.mark()
    with contextlib.suppress(AssertionError):
        wait_until(moved_again, timeout=15)
    seen = lab.side_watch.since(mark)
    bad = never_sent(seen, server, prefix, Decimal(HELD))
    flow = flowing(seen, prefix)
    alive = (
        "yes"
        if bridge.alive() and lab.side_watch.last.get(f"{prefix}/status") == "online"
        else "NO"
    )
    return flow, bad, f"{alive}; SIGTERM: exit {bridge.stop()}"


CORRUPT: dict[str, bytes] = {
    "state.json": b'{"added": [NaN], "usage": {"month": "2026-12", "credits": 1e999}}',
    "coins.json": b'{"coins": 5}',
    "fiats.json": b"[" * 100_000,
}


def dead_pid() -> int:
    """The pid of a process that has ended: what a killed writer's temporary file carries."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def corrupt_memory(lab: Lab) -> Row:
    """Files no version of ours writes, where the configuration's memory is: each set aside with
    one line, the start goes on."""
    server, prefix = lab.side_stream, "corrupt"
    config = configuration(lab.workdir / "corrupt.toml", server, lab.side_broker, prefix,
                           lab.cache, cmc={"currency": "EUR"})  # fmt: skip
    folder = memory_path(load_settings(config, environ={}))
    assert folder is not None
    folder.mkdir(parents=True)
    for name, content in CORRUPT.items():
        (folder / name).write_bytes(content)
    fifo = folder / f".state-{dead_pid()}-left.tmp"
    os.mkfifo(fifo)  # a reader would block on it for good
    mark = lab.side_watch.mark()
    bridge = lab.bridge("corrupt", config)
    problems: list[str] = []
    try:
        wait_streaming(lab.side_watch, prefix)
        lab.side_watch.wait_topic(f"{prefix}/1/p_eur", timeout=30)  # the fiat map fetched again
    except AssertionError as exc:
        problems.append(str(exc))
    said = []
    for name, content in CORRUPT.items():
        lines = [line for line in bridge.lines() if f"{name} cannot be used" in line]
        said.extend(lines)
        aside = list(folder.glob(f"{name}.corrupt-*"))
        if len(lines) != 1 or len(aside) != 1 or aside[0].read_bytes() != content:
            problems.append(f"{name}: {len(lines)} lines, {len(aside)} set aside")
        if any(content[:40].decode(errors="replace") in line for line in bridge.lines()):
            problems.append(f"{name}: its content repeated in the log")
    if os.path.lexists(fifo):
        problems.append("the FIFO is still there")
    flow, bad, alive = side_row_parts(lab, mark, server, prefix, bridge)
    longest = max((len(line) for line in said), default=0)
    return Row(
        "corrupt memory at start (state.json, coins.json, fiats.json, a dead writer's FIFO)",
        "3 files + 1 FIFO", f"{len(said)} warnings (one per file), each file moved aside intact",
        flow, len(bad), alive,
        f"NaN and 1e999 in state.json, a wrong shape, 100,000 `[`; lines of at most {longest} "
        "characters, never the content; the FIFO removed unread; the EUR rate applied",
        problems + bad[:3],
    )  # fmt: skip


def crlf_key(lab: Lab) -> Row:
    """A key that would end its header line and start another: refused before anything is
    sent, in whichever of the three places it was given, and never printed."""
    server = lab.server()
    key_file = lab.workdir / "crlf.key"
    key_file.write_text(CRLF_KEY + "\n")
    key_file.chmod(0o600)
    ways: dict[str, tuple[dict[str, Any], str | None, dict[str, str]]] = {
        "cmc.api_key": ({}, CRLF_KEY, {}),
        "CMC_API_KEY": ({}, TEST_API_KEY, {"CMC_API_KEY": CRLF_KEY}),
        "cmc.api_key_file": ({"api_key_file": str(key_file)}, None, {}),
    }
    statuses: list[int | None] = []
    said: list[str] = []
    problems: list[str] = []
    for where, (cmc, key, env) in ways.items():
        config = configuration(lab.workdir / f"crlf-{len(statuses)}.toml", server,
                               lab.side_broker, "crlf", lab.cache, key=key, cmc=cmc)  # fmt: skip
        bridge = lab.bridge(f"crlf-{len(statuses)}", config, env)
        statuses.append(bridge.wait_exit(20))
        output = "\n".join(bridge.lines())
        said.extend(bridge.lines())
        if statuses[-1] is None:
            bridge.stop()
        if any(part in output for part in ("hostile-key", "Injected", "7c1d")):
            problems.append(f"{where}: the key was printed")
        if where not in output:
            problems.append(f"{where}: not named")
    if statuses != [2, 2, 2]:
        problems.append(f"statuses {statuses}")
    if server.accepted or server.rest_requests:
        problems.append(f"{server.accepted} stream and {server.rest_requests} REST connections")
    line = said[0] if said else ""
    return Row(
        "an API key with CR/LF (config, `CMC_API_KEY`, `api_key_file`)", "3 starts",
        f"exit {', '.join(map(str, statuses))}, before any connection (the fake saw "
        f"{server.accepted} stream and {server.rest_requests} REST connections)",
        "n/a (never started)", 0, "exits 2, as it should",
        f"one line each: `{line.replace(TEST_API_KEY, '…')}`; no part of the key printed",
        problems,
    )  # fmt: skip


def shared_cache(lab: Lab) -> Row:
    """Two configurations (another key, URL and prefix) with one cache folder, at once."""
    one_server, other_server = lab.side_stream, lab.server(api_key=OTHER_KEY)
    watch, problems = lab.side_watch, []
    one_config = configuration(lab.workdir / "one.toml", one_server, lab.side_broker, "one",
                               lab.cache)  # fmt: skip
    two_config = configuration(lab.workdir / "two.toml", other_server, lab.side_broker, "two",
                               lab.cache, key=OTHER_KEY)  # fmt: skip
    one_folder = memory_path(load_settings(one_config, environ={}))
    two_folder = memory_path(load_settings(two_config, environ={}))
    mark = watch.mark()
    one = lab.bridge("one", one_config)
    wait_streaming(watch, "one")
    client = lab.client("one", side=True)
    added = client.ask("coins/add", b'{"ids": [4242]}')
    held = client.ask("holdings/set", b'{"holdings": {"1": "0.5"}}')
    if not (added and added["status"] == "ok" and held and held["status"] == "ok"):
        problems.append(f"the first configuration's requests: {added}, {held}")
    assert one_folder is not None
    assert two_folder is not None
    saved = one_folder / "state.json"
    deadline = time.monotonic() + 15
    while not (saved.exists() and "4242" in saved.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    two = lab.bridge("two", two_config)
    wait_streaming(watch, "two")
    info = watch.json_when("two/bridge/info", lambda i: "crypto_ids" in i) or {}
    names = watch.json_when("two/bridge/names", lambda n: "1" in n) or {}
    if info.get("crypto_ids") != list(COINS) or info.get("portfolio", {}).get("holdings") != {}:
        problems.append(f"the second sees {info.get('crypto_ids')}, {info.get('portfolio')}")
    if "4242" in names:
        problems.append("the second knows the first's coin name")
    if one_folder == two_folder or one_folder.parent != two_folder.parent:
        problems.append("one folder for both")
    statuses = [one.stop()]
    restart = watch.mark()
    again = lab.bridge("one-again", one_config)
    first = watch.next_on("one/bridge/info", restart, 30)
    kept = json.loads(first) if first else {}
    if kept.get("crypto_ids") != [*COINS, 4242] or kept.get("portfolio", {}).get(
            "holdings") != {"1": "0.5"}:  # fmt: skip
        problems.append(f"the first's memory after a restart: {kept}")
    wait_streaming(watch, "one")
    leaked = [
        str(path.relative_to(lab.cache)) for path in lab.cache.rglob("*") if path.is_file()
        and any(k.encode() in path.read_bytes() or k in path.name for k in (TEST_API_KEY,
                                                                             OTHER_KEY))
    ]  # fmt: skip
    if leaked:
        problems.append(f"a key in {leaked}")
    seen = watch.since(mark)
    bad = never_sent(seen, one_server, "one", Decimal("0.5"))
    bad += never_sent(seen, other_server, "two", Decimal(0))
    flow = flowing(seen, "two")
    statuses += [again.stop(), two.stop()]
    folders = len([p for p in lab.cache.iterdir() if p.name.startswith("config-")])
    return Row(
        "two configurations sharing one cache folder", "2 at once (another key, URL, prefix)",
        "separate memory: the second saw none of the first's coins (4242), holdings or names",
        flow, len(bad), f"yes; SIGTERM: exit {', '.join(map(str, statuses))}",
        f"{folders} `config-…` folders in the one cache folder (every configuration of this "
        "run); the first's coins and holdings whole after a restart; no key in any file",
        problems + bad[:3],
    )  # fmt: skip


def billing(lab: Lab) -> Row:
    """Every subscription billed (as CoinMarketCap's overview says it may be): credits counted
    exactly, and what would spend past the budget refused."""
    limits = Limits(credits_per_message=0, credits_per_subscription=1, rate_limit_minute=None)
    server, prefix, watch = lab.server(limits=limits), "billing", lab.side_watch
    config = configuration(
        lab.workdir / "billing.toml", server, lab.side_broker, prefix, lab.cache,
        cmc={"lookup_names": False, "credits_per_message": 0, "credits_per_subscription": 1,
             "monthly_credit_budget": 10},
    )  # fmt: skip
    mark = watch.mark()
    bridge = lab.bridge("billing", config)
    wait_streaming(watch, prefix)
    client, problems, answers = lab.client(prefix, side=True), [], Answers()

    def streams_52() -> bool:
        return any(52 in c.subscribed for c in server.live)

    def cycle(*, past_budget: bool) -> None:
        """Add coin 52 and remove it again, each seen by the server before the next step: an
        add and a remove that meet before the stream's thread sends anything bill nothing."""
        answer = client.ask("coins/add", b'{"ids": [52]}')
        if answer is None or answer["status"] != "ok":
            if not past_budget:
                problems.append(f"coins/add within the budget: {answer}")
            elif answer is None:
                answers.problems.append("coins/add: no answer")
            else:
                answers.errors["coins/add: " + reason_of(answer["error"])] += 1
            return
        if past_budget:
            answers.ok += 1
            answers.problems.append("coins/add past the budget carried out")
        server.wait_for(streams_52, timeout=15)
        client.ask("coins/remove", b'{"ids": [52]}')
        server.wait_for(lambda: not streams_52(), timeout=15)

    cycles = 7  # 2 subscriptions at start, then one per add: 9 of the budget of 10
    for _ in range(cycles):
        cycle(past_budget=False)
    ledger = server.ledger()
    server.wait_for(lambda: ledger.used_month >= 2 + cycles, timeout=15)
    billed = ledger.used_month
    counted = watch.json_when(f"{prefix}/bridge/credits", lambda c: c["estimated_used"] == billed)
    for _ in range(3):
        answer = client.ask("reconnect", b"{}")
        if answer is None or answer["status"] == "ok":
            answers.problems.append(f"reconnect past the budget: {answer}")
        else:
            answers.errors["reconnect: " + reason_of(answer["error"])] += 1
    for _ in range(3):
        cycle(past_budget=True)
    spent = server.wait_for(lambda: ledger.used_month > billed, timeout=3)
    if spent:
        problems.append(f"spent past the budget: {ledger.used_month} credits")
    want = (answers.refused, answers.errors.get("reconnect: rate limited: …", 0))
    info = watch.json_when(f"{prefix}/bridge/info", lambda i: counters(i) == want) or {}
    flow, bad, alive = side_row_parts(lab, mark, server, prefix, bridge)
    if counted is None:
        problems.append(f"the bridge's count is not the {billed} billed")
    return Row(
        "per-subscription billing against the budget (1 credit a subscription, budget 10)",
        f"{cycles} add/remove cycles, then 3 reconnects and 3 cycles past the budget",
        f"{answers.reasons()} (`refused_requests` +{counters(info)[0]}, "
        f"`rate_limited_requests` +{counters(info)[1]})",
        flow, len(bad), alive,
        f"billed {billed:g} credits, counted {billed:g} (`cmc/bridge/credits` `estimated_used`)"
        f"{'' if counted else ' NOT'}; nothing billed after the refusals",
        problems + answers.problems + bad[:3],
    )  # fmt: skip


# --- the run --------------------------------------------------------------------------------


STARTED = time.monotonic()
LOAD = os.getloadavg()[0]  # other work on the machine, which the figures share it with


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:5.0f} s] {text}", file=sys.stderr, flush=True)


def guarded(attack: str, run: Callable[[], Row]) -> Row:
    """A row whose attack broke one of the run's own waits is a failed row, not a lost run:
    the other attacks still run and every process is still stopped."""
    started = time.monotonic()
    try:
        row = run()
    except Exception as exc:
        row = Row(attack, "-", "-", "-", 0, "-", "", [f"{type(exc).__name__}: {exc}"[:300]])
    verdict = "FAILED: " + "; ".join(row.problems)[:300] if row.problems else "ok"
    say(f"{attack}: {verdict} ({time.monotonic() - started:.0f} s)")
    return row


def attack(lab: Lab) -> tuple[list[Row], Flood, dict[str, Any]]:
    place_retained_requests(lab)
    mark = lab.watch.mark()
    config = configuration(lab.workdir / "main.toml", lab.stream, lab.broker, "cmc", lab.cache,
                           more={"coins.1": {"holdings": HELD}})  # fmt: skip
    bridge = lab.bridge("main", config)
    wait_streaming(lab.watch, "cmc")
    main = Main(lab, bridge)
    rss_at_start = bridge.rss_mb()
    say("the main bridge streams")

    # The idle figure, while the attacks at start-up run beside it on the other broker.
    idle: dict[str, float] = {}
    sampled = threading.Event()
    cpu_before = bridge.cpu_seconds()

    def sample() -> None:
        idle["cpu"] = bridge.cpu_seconds() - cpu_before
        sampled.set()

    timer = threading.Timer(IDLE_S, sample)
    timer.start()
    side = [
        guarded("corrupt memory", lambda: corrupt_memory(lab)),
        guarded("CR/LF key", lambda: crlf_key(lab)),
        guarded("shared cache", lambda: shared_cache(lab)),
        guarded("billing", lambda: billing(lab)),
    ]
    sampled.wait(IDLE_S + 10)

    at_start = guarded("retained at start", lambda: retained_at_start(main, mark))
    running, finish = retained_while_running(main)
    rows = [
        guarded("absurd amounts", lambda: absurd_amounts(main)),
        guarded("bad ids", lambda: bad_ids(main)),
        guarded("malformed", lambda: malformed(main)),
    ]
    say("the flood")
    flood_row, figures = flood(main, idle.get("cpu", float("nan")), rss_at_start)
    say(f"the flood: {'ok' if not flood_row.problems else flood_row.problems}")
    status = bridge.stop()
    again = lab.bridge("main-again", config)
    wait_streaming(lab.watch, "cmc")
    finish(again)
    summaries = [line for b in (bridge, again) for line in b.lines()
                 if "since the last report" in line]  # fmt: skip
    extra = {"exit": status, "exit_again": again.stop(), "summaries": len(summaries)}
    return [flood_row, *rows, at_start, running, *side], figures, extra


def section(rows: list[Row], figures: Flood, extra: dict[str, Any], minutes: float) -> str:
    failed = [row.attack for row in rows if row.problems]
    verdict = "passed" if not failed else f"FAILED ({len(failed)} of {len(rows)} attacks)"
    table = "\n".join(row.line() for row in rows)
    rate = figures.sent / figures.seconds if figures.seconds else 0.0
    allowances = ", ".join(
        f"{action}: {a.burst} at once, then one every {a.every:g} s"
        for action, a in ALLOWANCES.items()
    )
    kinds = log_kinds(figures.log_lines) or "none"
    refusals = sum("refused" in line for line in figures.log_lines)
    answers_cap = f"at most {ANSWERS.burst} at once, then {1 / ANSWERS.every:g} a second"
    flood_figures = [
        ("requests sent", f"{figures.sent:,} in {figures.seconds:.1f} s ({rate:,.0f}/s)"),
        ("received and counted (refused, or carried out and answered)", f"{figures.counted:,}"),
        ("carried out", f"{figures.carried_out}"),
        ("answers published", f"{figures.answers:,} (refusals are answered {answers_cap})"),
        (f"bridge CPU during the flood / during an idle {IDLE_S:g} s",
         f"{figures.cpu:.2f} s / {figures.idle_cpu:.2f} s"),
        ("bridge RSS when it began streaming / before the flood / after",
         f"{figures.rss_at_start:.1f} MB / {figures.rss[0]:.1f} MB / {figures.rss[1]:.1f} MB"),
        ("log lines during the flood", f"{len(figures.log_lines)}, {refusals} of them about "
         f"refusals; by kind: {kinds}"),
        (f"refusals summed up in the log (once every {SUMMARY_EVERY_S:g} s)",
         f"{extra['summaries']} in the whole run"),
        ("prices during the flood", figures.flow),
        ("exit on SIGTERM afterwards",
         f"{extra['exit']}, and {extra['exit_again']} after the restart"),
    ]  # fmt: skip
    flood_table = "\n".join(f"| {name} | {value} |" for name, value in flood_figures)
    header = (
        "| attack | sent | refused or contained (counted in `bridge/info`) "
        "| prices kept flowing | values the stream never sent | bridge alive | notes |"
    )
    cadence = "every second" if PUSH_EVERY_S == 1 else f"every {PUSH_EVERY_S:g} seconds"
    intro = textwrap.fill(
        f"Regenerated by `scripts/hostile.py` on {time.strftime('%Y-%m-%d')} "
        f"({os.cpu_count()} cores, load average {LOAD:.1f} at the start; {minutes:.1f} min). "
        "Every attack of issue #20 at full size against a real `cmc-mqtt run` process, a real "
        f"mosquitto with `max_packet_size` {MAX_PACKET // 2**20} MiB and the fake CoinMarketCap "
        f"(`cmc_mqtt.simulator`) pushing each coin's price {cadence}. Each request row is "
        "sent one request at a time, each answered before the next, so every case reaches the "
        "bridge's checks; the counters are `cmc/bridge/info`'s, read after the row. \"Values "
        "the stream never sent\" counts every price published (and coin 1's value of its "
        "holding) that is not a price the stream sent (times the holding). The tests "
        "(`tests/test_hostile_requests.py`, `test_hostile_properties.py`, `test_bounds.py`, "
        "`test_security.py`, `test_memory_*.py`) check the same cases briefly in README's test "
        "command.",
        100, break_on_hyphens=False, break_long_words=False,
    )  # fmt: skip
    flood_intro = textwrap.fill(
        f"The flood: {FLOOD_RATE:,} requests a second spread evenly over the six request "
        "topics, each one a request the bridge would carry out if its allowance let it "
        f"({allowances}).",
        100, break_on_hyphens=False, break_long_words=False,
    )  # fmt: skip
    return f"""{SECTION_START}
## Hostile inputs: {verdict}

{intro}

{header}
| --- | --- | --- | --- | --- | --- | --- |
{table}

{flood_intro}

| figure | value |
| --- | --- |
{flood_table}
{SECTION_END}"""


def write(text: str) -> None:
    """Into RELIABILITY.md: in place, or the first time just before the exit paths' section."""
    path = ROOT / "RELIABILITY.md"
    current = path.read_text()
    if SECTION_START not in current and EXIT_START in current:
        before, after = current.split(EXIT_START, 1)
        path.write_text(f"{before}{SECTION_START}\n{SECTION_END}\n\n{EXIT_START}{after}")
    replace_section(path, SECTION_START, SECTION_END, text)


def main() -> int:
    global FLOOD_S, IDLE_S
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-write", action="store_true", help="do not touch RELIABILITY.md")
    parser.add_argument("--flood-seconds", type=float, default=FLOOD_S)
    parser.add_argument("--idle-seconds", type=float, default=IDLE_S)
    args = parser.parse_args()
    FLOOD_S, IDLE_S = args.flood_seconds, args.idle_seconds
    started = time.time()
    workdir = Path(tempfile.mkdtemp(prefix="cmc-hostile-"))
    lab = Lab(workdir)
    try:
        rows, figures, extra = attack(lab)
    finally:
        lab.close()
    for bridge in lab.bridges:
        if bridge.alive():
            print(f"{bridge.name} still running", file=sys.stderr)
    shutil.rmtree(workdir, ignore_errors=True)
    text = section(rows, figures, extra, (time.time() - started) / 60)
    print(text)
    if not args.no_write:
        write(text)
    return 0 if not any(row.problems for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
