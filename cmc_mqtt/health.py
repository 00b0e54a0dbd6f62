"""`python -m cmc_mqtt.health`: is the bridge delivering prices? A container's HEALTHCHECK.

The answer is read from the broker, where the bridge already keeps its own state retained:
`<prefix>/status` is `online` while the stream is connected and `offline` when it is not (the
broker's last will says `offline` when the process dies), and `<prefix>/bridge/info` carries
the counters. Reading them checks what users depend on — a broker that holds a live bridge with
a live stream — with the same configuration as `cmc-mqtt run` (file and `CMC_MQTT_*`), and needs
no state file, port or thread in the bridge. The probe connects under its own client id (the
bridge's own id would make the broker drop the bridge) and publishes nothing.

Exit 0 healthy, 1 unhealthy (Docker's codes), 2 for an unusable config like every command.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import paho.mqtt.client as mqtt

from .commands.coin_lookup import cached_symbols
from .config import Settings, load_settings
from .errors import EXIT_CONFIG, ConfigError
from .model.topics import Topics
from .mqtt.client import make_client
from .mqtt.diagnosis import describe_connect_error
from .util.wording import counted

EXIT_HEALTHY: Final = 0
EXIT_UNHEALTHY: Final = 1
DEFAULT_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class Verdict:
    healthy: bool
    reason: str

    def line(self) -> str:
        return f"{'healthy' if self.healthy else 'unhealthy'}: {self.reason}"


@dataclass(slots=True)
class _Seen:
    refused: str | None = None
    done: bool = False
    status: str | None = None
    info: dict[str, Any] | None = None


def probe_client_id(settings: Settings) -> str:
    """Never the bridge's own id: a second client with it would disconnect the bridge."""
    return f"{settings.mqtt.client_id}-health"[:65535]


def check(settings: Settings, timeout: float = DEFAULT_TIMEOUT_S) -> Verdict:
    """Read the bridge's retained state from the broker and judge it."""
    topics = Topics(settings.mqtt.topic_prefix)
    status_topic, info_topic = topics.status, topics.info
    seen = _Seen()
    client = make_client(settings.mqtt, probe_client_id(settings), connect_timeout=timeout)
    barrier: list[int] = []

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            seen.refused = str(reason)
            return
        c.subscribe([(status_topic, 0), (info_topic, 0)])
        # The broker sends retained messages for a subscription before it handles the next
        # packet: the answer to a second SUBSCRIBE means everything retained has arrived.
        barrier.append(c.subscribe(topics.marker("health-probe"))[1] or 0)

    def on_subscribe(_c: mqtt.Client, _u: Any, mid: int, _codes: Any, _p: Any) -> None:
        if barrier and mid == barrier[0]:
            seen.done = True

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        payload = bytes(msg.payload).decode("utf-8", "replace")
        if msg.topic == status_topic:
            seen.status = payload.strip()
        elif msg.topic == info_topic:
            try:
                info = json.loads(payload)
            except ValueError:
                info = None
            seen.info = info if isinstance(info, dict) else None

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    where = f"{settings.mqtt.host}:{settings.mqtt.port}"
    try:
        client.connect(settings.mqtt.host, settings.mqtt.port, keepalive=max(10, int(timeout) * 2))
    except (OSError, ssl.SSLError) as exc:
        return Verdict(False, f"cannot reach the broker {where}: {describe_connect_error(exc)}")
    deadline = time.monotonic() + timeout
    try:
        while not seen.done and seen.refused is None and time.monotonic() < deadline:
            if client.loop(timeout=0.1) not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_AGAIN):
                break
    finally:
        client.disconnect()
    if seen.refused is not None:
        return Verdict(False, f"the broker {where} refused the connection: {seen.refused}")
    if not seen.done:
        return Verdict(False, f"no answer from the broker {where} within {timeout:g} s")
    return _judge(seen, status_topic, info_topic)


def _judge(seen: _Seen, status_topic: str, info_topic: str) -> Verdict:
    info = seen.info or {}
    detail = _detail(info)
    if seen.status == "online":
        return Verdict(True, f"{status_topic} is online{detail}")
    if seen.status is not None:
        return Verdict(
            False,
            f"{status_topic} is {seen.status!r}: the stream is down or the bridge stopped{detail}",
        )
    if seen.info is None:
        return Verdict(
            False,
            f"nothing retained on {status_topic} or {info_topic}: "
            "the bridge has not reached this broker (or uses another topic prefix)",
        )
    if info.get("stream_connected") is True:
        return Verdict(True, f"{info_topic} says the stream is connected{detail}")
    return Verdict(False, f"{info_topic} says the stream is not connected{detail}")


def _detail(info: dict[str, Any]) -> str:
    parts = []
    if isinstance(info.get("frames"), int):
        parts.append(counted(info["frames"], "frame"))
    if isinstance(info.get("last_frame_time"), str):
        parts.append(f"last at {info['last_frame_time']}")
    return f" ({', '.join(parts)})" if parts else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cmc_mqtt.health",
        description="Exit 0 when the bridge's retained status on the broker says it is "
        "delivering prices, 1 when not, 2 when the configuration is unusable.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("config.toml"),
        help="the bridge's TOML config (default: ./config.toml; CMC_MQTT_* variables apply)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds")
    args = parser.parse_args(argv)
    try:
        # Symbols in crypto_ids are read as `run` reads them, so a symbol known only from the
        # cached map is not a configuration error here either.
        settings = load_settings(args.config, coin_symbols=cached_symbols)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    verdict = check(settings, args.timeout)
    print(verdict.line())
    return EXIT_HEALTHY if verdict.healthy else EXIT_UNHEALTHY


if __name__ == "__main__":
    sys.exit(main())
