"""The `cmc-mqtt` command: run, check-config, init, demo, simulate."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from .bridge import Bridge
from .config import DEFAULT_REST_URL, Settings, load_settings
from .config.coin_ids import SymbolTable
from .config.load import DEFAULT_PATH, describe_source
from .errors import EXIT_CONFIG, EXIT_FAILURE, CmcMqttError, ConfigError, PortBusyError
from .util.lifecycle import enable_crash_traces, leave
from .util.malloc import use_one_malloc_arena
from .util.redact import RedactingFormatter
from .util.secret import Secret
from .util.wording import counted
from .version import VERSION

if TYPE_CHECKING:
    from .mqtt.embedded_broker import EmbeddedBroker

LOG = logging.getLogger("cmc_mqtt")
EXIT_INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C
FIRST_ATTEMPT_WAIT_S = 10.0
CONFIG_HELP = """\
configuration:
  The config is read from ./config.toml (the directory you run in) unless --config names
  another file; `cmc-mqtt init` writes a commented one, and docs/configuration.md in the
  project's repository describes every option.
  The API key may instead come from the environment variable CMC_API_KEY (it wins over the
  file) or from [cmc] api_key_file. Every option can also be set as an environment variable
  CMC_MQTT_<SECTION>_<KEY>, e.g. CMC_MQTT_MQTT_HOST=192.168.1.10 or CMC_MQTT_CMC_CRYPTO_IDS=1,1027,
  laid over the file, or standing in for it when there is none.
"""

CHECK_HELP = """\
Validate the config, list every problem, and say what it will do.

It reads the config and what the bridge cached, and asks CoinMarketCap's REST API
one thing: what the key allows (/v1/key/info, no credits), unless --offline,
lookup_names = false or a placeholder key says not to. It never connects to the
stream or the MQTT broker.
"""


def setup_logging(level: str, secrets: Sequence[Secret] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # websocket-client logs reconnect chatter of its own at ERROR; ours says it better.
    logging.getLogger("websocket").setLevel(logging.CRITICAL)


def _load(path: Path) -> Settings | None:
    try:
        return load_settings(path, coin_symbols=_cached_symbols)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def _cached_symbols(settings: Settings) -> SymbolTable:
    """Symbols in `crypto_ids` the bundled table does not know, read from this configuration's
    cached CoinMarketCap map (imported only when a config has such a symbol)."""
    from .commands.coin_lookup import cached_symbols  # noqa: PLC0415

    return cached_symbols(settings)


def _secrets(settings: Settings) -> list[Secret]:
    secrets = [settings.stream.api_key]
    if settings.mqtt.password is not None:
        secrets.append(settings.mqtt.password)
    return secrets


def _stop_on_signal() -> threading.Event:
    """SIGTERM and Ctrl-C set the returned event; installed before anything starts, so a stop
    during start-up still ends with `offline` published."""
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _wait(stop: threading.Event) -> None:
    while not stop.wait(1.0):
        pass


def cmd_run(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    if settings is None:
        return EXIT_CONFIG
    setup_logging(settings.log_level, _secrets(settings))
    for warning in settings.warnings:
        LOG.warning(warning)
    LOG.info(
        "cmc-mqtt %s with %s: %s from %s to mqtt://%s:%d/%s",
        VERSION,
        describe_source(args.config, os.environ),
        counted(len(settings.stream.crypto_ids), "coin"),
        settings.stream.url,
        settings.mqtt.host,
        settings.mqtt.port,
        settings.mqtt.topic_prefix,
    )
    use_one_malloc_arena()  # before any thread: see util/malloc.py
    stop = _stop_on_signal()
    broker = None
    bridge: Bridge | None = None
    try:
        if settings.mqtt.embedded:
            # Imported here, like the simulator and the demo: asyncio and the broker would add
            # megabytes to every bridge that does not use them.
            from .mqtt.embedded_broker import EmbeddedBroker  # noqa: PLC0415

            broker = EmbeddedBroker(settings.mqtt.host, settings.mqtt.port)
            try:
                broker.start()
            except PortBusyError as exc:
                print(
                    f"mqtt.embedded: {exc} (a broker already? then set embedded = false; "
                    "else choose another mqtt.port)",
                    file=sys.stderr,
                )
                return EXIT_CONFIG
            except CmcMqttError as exc:
                print(f"mqtt.embedded: {exc}", file=sys.stderr)
                return EXIT_CONFIG
        bridge = Bridge(settings)
        bridge.start()
        fatal = _first_attempt(bridge, stop)
        if fatal is not None:
            print(f"cmc-mqtt: {fatal}", file=sys.stderr)
            return EXIT_CONFIG
        _wait(stop)
        LOG.info("stopping")
        return 0
    except Exception as exc:
        # A bug or an environment the checks did not foresee: say it in one line, keep the
        # traceback for the log, and still stop everything that was started.
        LOG.debug("start-up failed", exc_info=True)
        print(f"cmc-mqtt: could not start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        _stop_all(bridge, broker)


def _first_attempt(bridge: Bridge, stop: threading.Event) -> str | None:
    """Wait for the broker's first answer; a refused login or an untrusted certificate is a
    configuration mistake to report, not to retry forever."""
    deadline = time.monotonic() + FIRST_ATTEMPT_WAIT_S
    while not bridge.publisher.diagnosis.first_attempt.wait(0.1):
        if stop.is_set() or time.monotonic() > deadline:
            break
    return bridge.publisher.diagnosis.fatal_error


def _stop_all(bridge: Bridge | None, broker: EmbeddedBroker | None) -> None:
    """Bridge first (its last word, `offline`, needs the broker), then the broker."""
    left = bridge.stop() if bridge is not None else []
    if broker is not None and not broker.stop():
        left.append("cmc-mqtt-broker")
    if left:
        LOG.warning("did not stop in time: %s", ", ".join(left))


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    if settings is None:
        return EXIT_CONFIG
    for warning in settings.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    from .commands.check import describe_plan  # noqa: PLC0415 - only this command needs it

    mqtt, source = settings.mqtt, describe_source(args.config, os.environ)
    print(
        f"{source.name}: OK ({counted(len(settings.stream.crypto_ids), 'coin')}, broker "
        f"{mqtt.host}:{mqtt.port}{' with TLS' if mqtt.tls.enabled else ''}, prefix "
        f"{mqtt.topic_prefix!r}{f'; {source.over}' if source.over else ''})",
        flush=True,
    )
    for line in describe_plan(settings, ask_key=not args.offline):
        print(line, flush=True)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    import getpass  # noqa: PLC0415 - only this command needs it

    from .commands.init import InitError, run_init  # noqa: PLC0415

    # A terminal hides the key as it is typed; piped answers (scripts, tests) are read as lines.
    ask_secret = getpass.getpass if sys.stdin.isatty() else input
    try:
        run_init(
            args.config,
            force=args.force,
            ask=input,
            ask_secret=ask_secret,
            out=sys.stdout,
            rest_url=args.rest_url,
        )
    except InitError as exc:
        print(f"cmc-mqtt init: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print("\ncmc-mqtt init: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulator.options import server_from_arguments  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        server = server_from_arguments(args).start()
    except CmcMqttError as exc:  # a busy port, an address it cannot have: one line
        print(f"cmc-mqtt simulate: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    LOG.info("fake CoinMarketCap stream on %s (Ctrl-C stops it)", server.url)
    stop = _stop_on_signal()
    try:
        _wait(stop)
    finally:
        server.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from .commands.demo import demo_main  # noqa: PLC0415

    return demo_main(
        args.port,
        args.listen,
        args.duration,
        username=args.username,
        password=args.password,
        config=args.config,
    )


def build_parser(*, simulator: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cmc-mqtt", description="Live CoinMarketCap prices as retained MQTT topics."
    )
    parser.add_argument("--version", action="version", version=f"cmc-mqtt {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_config_commands(sub)
    _add_init(sub)
    _add_demo(sub)
    sim = sub.add_parser("simulate", help="run a fake CoinMarketCap stream server")
    if simulator:
        # Only for this command: the simulator's modules would cost every bridge memory.
        from .simulator.options import add_simulator_arguments  # noqa: PLC0415

        add_simulator_arguments(sim)
    sim.set_defaults(func=cmd_simulate)
    return parser


#: What `add_subparsers` returns (argparse names no public type for it).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _add_config_commands(sub: Commands) -> None:
    """`run` and `check-config`: the commands that read a configuration."""
    config_help = "TOML config file (default: ./config.toml)"
    run = sub.add_parser(
        "run",
        help="run the bridge",
        description="Stream CoinMarketCap prices to MQTT until stopped (SIGTERM or Ctrl-C).",
        epilog=CONFIG_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--config", type=Path, default=DEFAULT_PATH, help=config_help)
    run.set_defaults(func=cmd_run)
    check = sub.add_parser(
        "check-config",
        help="validate a config file and exit",
        description=CHECK_HELP,
        epilog=CONFIG_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("--config", type=Path, default=DEFAULT_PATH, help=config_help)
    check.add_argument(
        "--offline",
        action="store_true",
        help="ask CoinMarketCap nothing: skip the key's allowance (/v1/key/info)",
    )
    check.set_defaults(func=cmd_check_config)


def _add_init(sub: Commands) -> None:
    init = sub.add_parser(
        "init",
        help="write a commented starter config after asking for the key, coins and broker",
        description="Ask for the API key, the coins and the broker, and write a commented "
        "starter config readable by you only (mode 600). An existing file is kept unless "
        "--force is given. Coins may be given by symbol: the well-known ones are bundled, any "
        "other is looked up in CoinMarketCap's map with the key given (no credits).",
    )
    init.add_argument(
        "--config", type=Path, default=DEFAULT_PATH, help="file to write (default: %(default)s)"
    )
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.add_argument(
        "--rest-url",
        default=DEFAULT_REST_URL,
        help="where symbols are looked up (default: %(default)s; `cmc-mqtt simulate` answers "
        "at http://127.0.0.1:8765); the config written still names CoinMarketCap",
    )
    init.set_defaults(func=cmd_init)


def _add_demo(sub: Commands) -> None:
    demo = sub.add_parser(
        "demo", help="simulator + broker + bridge in one process, with a live table"
    )
    demo.add_argument("--port", type=int, default=1883, help="MQTT port (default 1883)")
    demo.add_argument(
        "--listen", default="127.0.0.1", help="address the embedded broker listens on"
    )
    demo.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    demo.add_argument("--username", help="login for a broker already on the port")
    demo.add_argument("--password", help="password for --username")
    demo.add_argument(
        "--config",
        type=Path,
        default=None,
        help="use the broker, login and TLS of this config file's [mqtt]",
    )
    demo.set_defaults(func=cmd_demo)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(simulator=words[:1] == ["simulate"]).parse_args(words)
    result: int = args.func(args)
    return result


def entry() -> NoReturn:
    """The `cmc-mqtt` command: `main`, then leave without finalizing under running threads."""
    enable_crash_traces()
    leave(main())


if __name__ == "__main__":
    entry()
