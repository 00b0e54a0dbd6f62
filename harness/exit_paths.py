"""Every way `cmc-mqtt` ends, run as a real process: the status it leaves with, and how long
after the cause. Shared by tests/test_exit_paths.py (a few runs per path) and
scripts/exit_stress.py (hundreds, for RELIABILITY.md).

Each run has work in flight when the cause comes: the stream connected and subscribing, the
names lookup waiting on a REST endpoint that never answers, and (optionally) the CPU kept busy
by other processes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.simulator.server import Behaviour

from .helpers import TEST_API_KEY, Broker, SilentServer, free_port
from .pki import PASSWORD, Pki, make_pki, password_broker, remove_pki, tls_broker

#: A run that has not ended this long after its cause has hung.
HANG_AFTER_S = 10.0
#: Runs the CLI as `cmc-mqtt` does, and names any thread still running when the interpreter
#: begins to finalize (atexit runs just before; `os._exit` skips it, and says so in the log).
RUN_CLI = (
    "import atexit, threading\n"
    "def report():\n"
    "    left = [t.name for t in threading.enumerate()\n"
    "            if t is not threading.main_thread() and t.is_alive()]\n"
    "    if left:\n"
    "        print('LINGERING THREADS AT FINALIZATION:', left, flush=True)\n"
    "atexit.register(report)\n"
    "{patch}"
    "from cmc_mqtt.cli import entry\n"
    "entry()\n"
)
#: A start-up step that fails after the stream and MQTT threads started.
FAIL_AT_START_UP = (
    "import cmc_mqtt.rest.worker as restworker\n"
    "def refuse(*_a, **_k):\n"
    '    raise RuntimeError("can\'t start new thread")\n'
    "restworker.RestWorker.start = refuse\n"
)
LINGERING = "LINGERING THREADS AT FINALIZATION"


@dataclass
class Outcome:
    path: str
    status: int | None  # None: still running at the hang deadline (then killed)
    after_cause: float | None  # seconds from the cause to the exit
    output: str
    left_by_os_exit: bool = False

    @property
    def lingering(self) -> bool:
        """Threads were still running when the interpreter began to finalize."""
        return LINGERING in self.output

    @property
    def crashed(self) -> bool:
        return self.status is not None and self.status < 0


@dataclass
class _Watch:
    """A process's merged output, line by line with arrival times."""

    proc: subprocess.Popen[str]
    lines: list[tuple[float, str]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append((time.monotonic(), line))
                self.cond.notify_all()
        with self.cond:
            self.lines.append((time.monotonic(), ""))  # end of output
            self.cond.notify_all()

    def wait_line(self, pattern: str, timeout: float) -> float | None:
        """When a line matching `pattern` arrived; None if the output ended or time ran out."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self.cond:
            while True:
                for arrived, line in self.lines[seen:]:
                    if regex.search(line):
                        return arrived
                    if line == "":
                        return None
                seen = len(self.lines)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)

    def text(self) -> str:
        with self.cond:
            return "".join(line for _, line in self.lines)


class ExitLab:
    """The parts every run shares: stream, brokers, certificates, a silent REST endpoint."""

    PATHS = (
        "sigterm",
        "sigint",
        "refused-login",
        "untrusted-certificate",
        "embedded-broker-fails",
        "start-up-exception",
        "demo-ctrl-c",
    )

    def __init__(self, workdir: Path, *, cpu_load: int = 1) -> None:
        self.workdir = workdir
        self.stream = FakeStreamServer(
            api_key=TEST_API_KEY, fast_interval=0.2, behaviour=Behaviour(ping_interval_ms=1000)
        ).start()
        self.rest = SilentServer()
        self.broker = Broker().start()
        self.password_broker, self.password_port = password_broker()
        self.pki: Pki = make_pki()
        self.tls_broker, self.tls_port = tls_broker(self.pki, client_certs=False)
        self.load = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cpu_load)
        ]

    def close(self) -> None:
        for proc in self.load:
            proc.kill()
            proc.wait(5)
        for broker in (self.broker, self.password_broker, self.tls_broker):
            broker.cleanup()
        remove_pki(self.pki)
        self.rest.close()
        self.stream.stop()

    # --- one run --------------------------------------------------------------------------------

    def run(self, path: str) -> Outcome:
        command, cause = self._plan(path)
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "CMC_API_KEY": "", "PYTHONUNBUFFERED": "1"},
            cwd=self.workdir,
        )
        watch = _Watch(proc)
        try:
            caused_at = cause(proc, watch)
            status: int | None
            try:
                status = proc.wait(HANG_AFTER_S)
            except subprocess.TimeoutExpired:
                status = None
            ended_at = time.monotonic()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        watch.wait_line(r"^$", 5)  # the rest of the output
        output = watch.text()
        return Outcome(
            path,
            status,
            None if caused_at is None or status is None else ended_at - caused_at,
            output,
            "leaving without waiting" in output,
        )

    def _plan(
        self, path: str
    ) -> tuple[list[str], Callable[[subprocess.Popen[str], _Watch], float | None]]:
        python = [sys.executable, "-c", RUN_CLI.format(patch="")]
        if path in ("sigterm", "sigint"):
            sig = signal.SIGTERM if path == "sigterm" else signal.SIGINT
            config = self._config(path, self.broker.port)
            return [*python, "run", "--config", str(config)], _signal_once(
                r"subscribed to \d+ coins", sig
            )
        if path == "refused-login":
            mqtt = f'username = "cmc"\npassword = "not-{PASSWORD}"\n'
            config = self._config(path, self.password_port, mqtt)
            return [*python, "run", "--config", str(config)], _line(r"refused the connection")
        if path == "untrusted-certificate":
            mqtt = f'tls = true\nca_certs = "{self.pki.other_ca}"\n'
            config = self._config(path, self.tls_port, mqtt)
            return [*python, "run", "--config", str(config)], _line(r"not trusted")
        if path == "embedded-broker-fails":
            # The port is held by a server that is not a broker: the embedded one cannot bind.
            config = self._config(path, self.rest.port, "embedded = true\n")
            return [*python, "run", "--config", str(config)], _line(r"could not start")
        if path == "start-up-exception":
            config = self._config(path, self.broker.port)
            patched = [sys.executable, "-c", RUN_CLI.format(patch=FAIL_AT_START_UP)]
            return [*patched, "run", "--config", str(config)], _line(r"could not start")
        if path == "demo-ctrl-c":
            command = [*python, "demo", "--port", str(free_port())]
            return command, _signal_once(r"Bitcoin.*\$", signal.SIGINT)
        raise ValueError(f"unknown exit path {path!r}")

    def _config(self, name: str, port: int, mqtt: str = "") -> Path:
        config = self.workdir / f"{name}.toml"
        config.write_text(
            f'[cmc]\napi_key = "{TEST_API_KEY}"\nurl = "{self.stream.url}"\n'
            f"crypto_ids = [1, 1027, 74]\nlookup_names = true\n"
            f'rest_url = "http://127.0.0.1:{self.rest.port}"\n'
            f'cache_dir = "{self.workdir}/cache"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "exit-{name}"\n{mqtt}'
            f'[log]\nlevel = "info"\n'
        )
        config.chmod(0o600)
        return config


def _signal_once(
    ready: str, sig: signal.Signals
) -> Callable[[subprocess.Popen[str], _Watch], float | None]:
    def cause(proc: subprocess.Popen[str], watch: _Watch) -> float | None:
        if watch.wait_line(ready, 20) is None:
            return None
        proc.send_signal(sig)
        return time.monotonic()

    return cause


def _line(pattern: str) -> Callable[[subprocess.Popen[str], _Watch], float | None]:
    def cause(_proc: subprocess.Popen[str], watch: _Watch) -> float | None:
        return watch.wait_line(pattern, 20)

    return cause


EXPECTED_STATUS = {
    "sigterm": 0,
    "sigint": 0,
    "refused-login": 2,
    "untrusted-certificate": 2,
    "embedded-broker-fails": 2,
    "start-up-exception": 1,  # not a configuration problem: a restart may help
    "demo-ctrl-c": 0,
}


@contextlib.contextmanager
def exit_lab(workdir: Path, *, cpu_load: int = 1) -> Iterator[ExitLab]:
    lab = ExitLab(workdir, cpu_load=cpu_load)
    try:
        yield lab
    finally:
        lab.close()
