"""`cmc-mqtt demo`: the whole path on one machine with nothing to set up, and no trace left.

Simulator → bridge → MQTT broker (embedded, or the one already on the port) → a subscriber
whose view is drawn as a live table (demo_screen.py). What the table shows is what any MQTT
client would see.

On a broker that is not the demo's own, the demo publishes under a topic prefix and Home
Assistant node id of its own (`cmc_demo`), so it cannot touch a real bridge's topics, and when
it ends it clears every retained topic and discovery config it made: the Home Assistant on that
broker forgets the demo's coins. Its state file lives in a temporary folder, removed too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, TextIO

import paho.mqtt.client as mqtt

from ..bridge import Bridge
from ..config import Settings, parse_settings
from ..errors import EXIT_CONFIG, CmcMqttError, ConfigError, PortBusyError
from ..homeassistant.context import DiscoveryContext
from ..homeassistant.discovery import is_own_config, subscription_patterns
from ..model.coins import BUNDLED_COINS
from ..model.topics import Topics
from ..mqtt.client import make_client
from ..mqtt.embedded_broker import EmbeddedBroker, broker_answers
from ..simulator import FakeStreamServer
from ..util.secret import Secret
from ..util.wording import counted
from ..version import VERSION
from .demo_screen import FooterLog, SubscriberView, draw

LOG = logging.getLogger(__name__)
DEMO_COINS: Final = tuple(BUNDLED_COINS)
#: Topic prefix and node id on a broker that is not the demo's own.
DEMO_PREFIX: Final = "cmc_demo"
FIRST_ANSWER_WAIT_S: Final = 10.0
CLEAR_WAIT_S: Final = 10.0


class DemoError(CmcMqttError):
    """The demo cannot run; the message is one line for the user."""


def broker_options(
    port: int,
    listen: str,
    *,
    username: str | None = None,
    password: str | None = None,
    config: Path | None = None,
) -> dict[str, Any]:
    """`[mqtt]` for the demo's bridge: a config file's broker, login and TLS, or the port on
    this machine; the command line's login over either."""
    options: dict[str, Any] = {}
    if config is not None:
        try:
            raw = tomllib.loads(config.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError([f"{config}: cannot read: {exc.strerror}"]) from exc
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError([f"{config}: invalid TOML: {exc}"]) from exc
        options = dict(raw.get("mqtt") or {})
        for own in ("client_id", "topic_prefix", "embedded"):  # the demo's, not the file's
            options.pop(own, None)
    else:
        host = "127.0.0.1" if listen in ("0.0.0.0", "::") else listen
        options = {"host": host, "port": port}
    if username is not None:
        options["username"] = username
    if password is not None:
        options["password"] = password
    return options


def login_hint(username: str | None, config: Path | None) -> str:
    """What to do about a refused login, for the login the demo was given (if any)."""
    if config is not None:
        return f"the login in {config}'s [mqtt] was refused: check username and password there"
    if username is not None:
        return "the login given with --username and --password was refused: check them"
    return "give the broker's login with --username and --password (or --config FILE)"


def demo_settings(
    mqtt_options: dict[str, Any], stream_url: str, coins: tuple[int, ...], cache: Path, *, own: bool
) -> Settings:
    """The demo's bridge: the simulator's stream, no REST look-ups, a state file of its own,
    and on a broker that is not its own the demo's prefix and node id."""
    prefix = "cmc" if own else DEMO_PREFIX
    raw = {
        "cmc": {"api_key": "demo", "url": stream_url, "crypto_ids": list(coins),
                "lookup_names": False, "cache_dir": str(cache)},
        "mqtt": {**mqtt_options, "client_id": f"cmc-mqtt-demo-{os.getpid()}",
                 "topic_prefix": prefix},
        "homeassistant": {} if own else {"node_id": DEMO_PREFIX},
    }  # fmt: skip
    return parse_settings(raw, environ={})


def clear_demo_topics(settings: Settings, timeout: float = CLEAR_WAIT_S) -> int:
    """Clear every retained topic the demo's bridge made (under its prefix, and its Home
    Assistant configs) with empty retained messages; returns how many. Another bridge's topics
    (another prefix or node id) are never touched."""
    prefix = settings.mqtt.topic_prefix
    topics = Topics(prefix)
    ctx = DiscoveryContext(settings.homeassistant, topics, VERSION)
    marker = topics.marker(f"demo-sync-{uuid.uuid4().hex}")
    found: set[str] = set()
    seen_all = threading.Event()

    def ours(topic: str) -> bool:
        return topic.startswith(prefix + "/") or is_own_config(ctx, topic)

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == marker:
            seen_all.set()  # retained messages come with the subscription, before the marker
        elif message.retain and message.payload and ours(message.topic):
            found.add(message.topic)

    client = make_client(settings.mqtt, f"cmc-demo-clear-{os.getpid()}", connect_timeout=5.0)
    client.on_message = on_message
    client.on_connect = lambda c, *_a: c.subscribe(
        [(pattern, 0) for pattern in (topics.all, *subscription_patterns(ctx))]
    )
    client.on_subscribe = lambda c, *_a: c.publish(marker, "sync")
    try:
        client.connect(settings.mqtt.host, settings.mqtt.port)
    except OSError as exc:
        raise DemoError(f"could not clear the demo's topics: {exc}") from exc
    client.loop_start()
    try:
        if not seen_all.wait(timeout):
            raise DemoError("could not clear the demo's topics: the broker did not answer")
        sent = [client.publish(topic, b"", qos=1, retain=True) for topic in sorted(found)]
        deadline = time.monotonic() + timeout
        for info in sent:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        return len(found)
    finally:
        client.disconnect()
        client.loop_stop()


@contextlib.contextmanager
def _log_to(handler: logging.Handler) -> Iterator[None]:
    """The log goes to the footer while the demo runs, back where it was after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def run_demo(
    *,
    port: int = 1883,
    listen: str = "127.0.0.1",
    username: str | None = None,
    password: str | None = None,
    config: Path | None = None,
    coins: tuple[int, ...] = DEMO_COINS,
    duration: float | None = None,
    out: TextIO = sys.stdout,
    stop: threading.Event | None = None,
    fast: float = 5.0,
    slow: float = 15.0,
) -> int:
    """Run everything until `stop` is set or `duration` passes; returns an exit code, raises
    `CmcMqttError` (one line for the user) when the demo cannot run."""
    stop = stop or threading.Event()
    options = broker_options(port, listen, username=username, password=password, config=config)
    # Checked before anything starts, by the rules `run` applies (ConfigError naming the key).
    checked = parse_settings({"cmc": {"api_key": "demo", "crypto_ids": [1]}, "mqtt": options},
                             environ={}).mqtt  # fmt: skip
    host, port = checked.host, checked.port
    # A TLS port cannot answer the plain probe; a login or a config file means "my broker".
    theirs = checked.tls.enabled or broker_answers(host, port)
    if not theirs and (config is not None or username is not None):
        raise DemoError(f"no MQTT broker answers at {host}:{port}")
    secret = options.get("password")
    footer_log = FooterLog([Secret(secret)] if isinstance(secret, str) else [])
    with contextlib.ExitStack() as cleanup, _log_to(footer_log):
        cache = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="cmc-demo-")))
        if not theirs:
            cleanup.callback(EmbeddedBroker(listen, port).start().stop)
        simulator = FakeStreamServer(fast_interval=fast, slow_interval=slow).start()
        cleanup.callback(simulator.stop)
        settings = demo_settings(options, simulator.url, coins, cache, own=not theirs)
        connected = threading.Event()
        if theirs:  # runs after the bridge has stopped (an exit stack unwinds in reverse)
            cleanup.callback(_clear_after, settings, connected, out)
        bridge = Bridge(settings).start()
        cleanup.callback(bridge.stop)
        fatal = _first_answer(bridge, stop)
        if fatal is not None:
            hint = f"; {login_hint(username, config)}" if "refused" in fatal else ""
            raise DemoError(f"{fatal}{hint}")
        connected.set()
        view = SubscriberView()
        _watch(settings, view, cleanup)
        origin = "the broker already running there" if theirs else "embedded broker"
        footer = _hints(settings, listen, origin, own=not theirs)
        _show(
            view,
            coins,
            f"mqtt://{host}:{port}",
            footer=footer,
            footer_log=footer_log,
            out=out,
            stop=stop,
            duration=duration,
        )
    return 0


def _first_answer(bridge: Bridge, stop: threading.Event) -> str | None:
    """The broker's first answer to the bridge: a refused login ends the demo, at once."""
    diagnosis = bridge.publisher.diagnosis
    deadline = time.monotonic() + FIRST_ANSWER_WAIT_S
    while not diagnosis.first_attempt.wait(0.1):
        if stop.is_set() or time.monotonic() > deadline:
            break
    return diagnosis.fatal_error


def _watch(settings: Settings, view: SubscriberView, cleanup: contextlib.ExitStack) -> None:
    """A subscriber of everything under the prefix, as any MQTT client would be."""
    everything = Topics(settings.mqtt.topic_prefix).all
    client = make_client(settings.mqtt, f"cmc-demo-view-{os.getpid()}", connect_timeout=5.0)
    client.on_message = view.on_message
    client.on_connect = lambda c, *_a: c.subscribe(everything)
    try:
        client.connect(settings.mqtt.host, settings.mqtt.port)
    except OSError as exc:
        raise DemoError(f"the demo's subscriber could not connect: {exc}") from exc
    client.loop_start()

    def stop_watching() -> None:
        client.disconnect()  # wakes its network thread, so the stop below is immediate
        client.loop_stop()

    cleanup.callback(stop_watching)


def _show(
    view: SubscriberView,
    coins: tuple[int, ...],
    url: str,
    *,
    footer: list[str],
    footer_log: FooterLog,
    out: TextIO,
    stop: threading.Event,
    duration: float | None,
) -> None:
    tty = out.isatty()
    deadline = None if duration is None else time.monotonic() + duration
    if tty:
        out.write("\x1b[2J")
    try:
        while not stop.wait(1.0):
            frame = draw(view, coins, url, color=tty, footer=footer, warnings=footer_log.snapshot())
            out.write(("\x1b[H\x1b[J" + frame) if tty else frame + "\n\n")
            out.flush()
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        if tty:
            out.write("\n")


def _hints(settings: Settings, listen: str, origin: str, *, own: bool) -> list[str]:
    mqtt_settings = settings.mqtt
    host, port, prefix = mqtt_settings.host, mqtt_settings.port, mqtt_settings.topic_prefix
    login = f" -u {mqtt_settings.username} -P …" if mqtt_settings.username else ""
    pad = " " * 17
    lines = [
        f"Broker: mqtt://{host}:{port} ({origin}); simulated CoinMarketCap stream, no API key.",
        f"Watch it:        mosquitto_sub -h {host} -p {port}{login} -v -t '{prefix}/#'",
    ]
    if own:
        lines += [
            "Home Assistant:  add the MQTT integration: broker <this machine's address>,",
            f"{pad}port {port}; the coins appear as devices by discovery.",
        ]
        if listen == "127.0.0.1":
            lines.append(f"{pad}(run with --listen 0.0.0.0 to reach it from another machine)")
    else:
        lines += [
            "Home Assistant:  on this broker it shows the demo's coins (node id "
            f"{settings.homeassistant.node_id});",
            f"{pad}they and every retained topic under {prefix}/ go when the demo stops.",
        ]
    return lines


def _clear_after(settings: Settings, connected: threading.Event, out: TextIO) -> None:
    """What the demo made on someone else's broker goes with it (once it got in at all)."""
    if not connected.is_set():
        return
    where = f"mqtt://{settings.mqtt.host}:{settings.mqtt.port}"
    try:
        count = clear_demo_topics(settings)
    except DemoError as exc:
        print(f"cmc-mqtt demo: {exc}", file=sys.stderr)
        return
    print(f"Cleared {counted(count, 'retained topic')} the demo made on {where}.", file=out)


def demo_main(
    port: int,
    listen: str,
    duration: float | None,
    *,
    username: str | None = None,
    password: str | None = None,
    config: Path | None = None,
) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stop.set())
    try:
        return run_demo(
            port=port,
            listen=listen,
            username=username,
            password=password,
            config=config,
            duration=duration,
            stop=stop,
        )
    except PortBusyError as exc:
        print(f"cmc-mqtt demo: {exc}; try another: --port {exc.port + 1}", file=sys.stderr)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"cmc-mqtt demo: {problem}", file=sys.stderr)
    except CmcMqttError as exc:
        print(f"cmc-mqtt demo: {exc}", file=sys.stderr)
    return EXIT_CONFIG
