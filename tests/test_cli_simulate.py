"""`cmc-mqtt simulate` on a port it cannot have: one line naming it, exit 2, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMC_")}
    return subprocess.run(
        [sys.executable, "-m", "cmc_mqtt", "simulate", *args],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip


@pytest.fixture
def busy_port() -> Iterator[int]:
    holder = socket.create_server(("127.0.0.1", 0))
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def test_a_busy_port_is_one_line_and_exit_2(busy_port: int) -> None:
    result = simulate("--port", str(busy_port))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "cmc-mqtt simulate: could not start the fake CoinMarketCap server: "
        f"127.0.0.1:{busy_port} is already in use by another program"
    ]


def test_an_address_this_machine_lacks_is_one_line_and_exit_2() -> None:
    result = simulate("--host", "192.0.2.1", "--port", "0")  # TEST-NET-1: on no interface
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "cmc-mqtt simulate: could not start the fake CoinMarketCap server on 192.0.2.1:0: "
        "Cannot assign requested address"
    ]
