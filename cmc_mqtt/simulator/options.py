"""The `cmc-mqtt simulate` options: every limit and price of `Limits`, and the fake's cadence.

`add_simulator_arguments(parser)` adds them, `server_from_arguments(args)` builds the (not yet
started) server. Limit options left out keep CoinMarketCap's documented defaults, or none at all
with `--no-limits`; given with it, they still apply.
"""

from __future__ import annotations

import argparse
import math
import ssl
from dataclasses import replace
from typing import Any

from .behaviour import Behaviour
from .limits import COUNTINGS, Limits
from .server import FakeStreamServer

_DEFAULTS = Limits()
UNLIMITED_WORDS = ("none", "unlimited")


def coin_list(text: str) -> frozenset[int]:
    try:
        ids = frozenset(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ids like 1,1027, got {text!r}") from None
    if not ids or min(ids) < 1:
        raise argparse.ArgumentTypeError(f"expected positive ids like 1,1027, got {text!r}")
    return ids


def _count_or_unlimited(text: str) -> int | str:
    if text.lower() in UNLIMITED_WORDS:
        return "none"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number or 'none', got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 or 'none', got {text!r}")
    return value


def _credits_or_unlimited(text: str) -> float | str:
    if text.lower() in UNLIMITED_WORDS:
        return "none"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'none', got {text!r}")
    return value


def _price(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected zero or more, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = _count_or_unlimited(text)
    if isinstance(value, str):
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _rate(text: str) -> float:
    value = _price(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected frames per second above 0, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def _seconds(text: str) -> float:
    value = _rate(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected zero or more, got {text!r}")
    return value


def tls_context(path: str) -> ssl.SSLContext:
    """A server context from one PEM file holding the certificate chain and the private key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(path)
    except OSError as exc:  # ssl.SSLError is one too
        reason = exc.strerror or exc
        raise argparse.ArgumentTypeError(
            f"expected a PEM file with a certificate and its key, {path!r}: {reason}"
        ) from None
    return context


def add_simulator_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option of the fake to `parser` (the `simulate` subcommand), each with its
    default in its help."""
    _add_server_options(parser)
    _add_benchmark_options(parser.add_argument_group("benchmark"))
    _add_limit_options(
        parser.add_argument_group(
            "limits and credits",
            "CoinMarketCap's documented defaults unless set; 'none' = no limit",
        )
    )


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8765,
        help="port of the stream and the REST API (default %(default)s; 0: any free port)",
    )
    parser.add_argument(
        "--api-key", default=None, help="accept only this key (default: any non-empty key)"
    )
    parser.add_argument(
        "--coins",
        type=coin_list,
        default=None,
        help="quote only these ids, e.g. 1,1027 (default: every id subscribed)",
    )
    parser.add_argument(
        "--fast",
        type=_seconds,
        default=5.0,
        help="seconds between pushes of a top-500 coin (default %(default)s)",
    )
    parser.add_argument(
        "--slow",
        type=_seconds,
        default=15.0,
        help="seconds between pushes of any other coin (default %(default)s)",
    )
    parser.add_argument(
        "--tls",
        type=tls_context,
        default=None,
        metavar="PEM",
        help="serve wss:// and https:// with this file's certificate chain and private key "
        "(default: plain ws:// and http://)",
    )
    parser.add_argument(
        "--rest-delay",
        type=_price,
        default=0.0,
        help="seconds before each REST answer (default %(default)s)",
    )


def _add_benchmark_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--no-cadence",
        action="store_true",
        help="send no quotes at the cadence (with --flood: the flood's frames only)",
    )
    group.add_argument(
        "--flood",
        type=_count,
        default=0,
        help="after each subscribe, send N frames as fast as they are taken (default 0: none)",
    )
    group.add_argument(
        "--flood-rate",
        type=_rate,
        default=0.0,
        help="send the flood at this many frames a second (default: as fast as taken)",
    )
    group.add_argument(
        "--flood-batch",
        type=_positive_int,
        default=64,
        help="flood frames per write (default %(default)s; 1: each frame in its own segment)",
    )


def _add_limit_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--no-limits",
        action="store_true",
        help="no subscription, connection, credit or rate limit (still counts credits)",
    )
    group.add_argument(
        "--sub-limit",
        type=_positive_int,
        default=None,
        help=f"subscriptions per connection (default {_DEFAULTS.sub_limit})",
    )
    group.add_argument(
        "--count-subscriptions-per",
        choices=COUNTINGS,
        default=None,
        help=f"one subscription per crypto id, or per subscribe request "
        f"(default {_DEFAULTS.counting})",
    )
    group.add_argument(
        "--max-connections",
        type=_count_or_unlimited,
        default=None,
        help=f"concurrent connections per API key (default {_DEFAULTS.max_connections})",
    )
    group.add_argument(
        "--monthly-credits",
        type=_credits_or_unlimited,
        default=None,
        help=f"credits per month (default {_DEFAULTS.monthly_credits:,.0f}, a Startup plan)",
    )
    group.add_argument(
        "--daily-credits",
        type=_credits_or_unlimited,
        default=None,
        help="credits per day, enforced only when set (default none)",
    )
    group.add_argument(
        "--credits-per-message",
        type=_price,
        default=None,
        help=f"credits per data message delivered (default {_DEFAULTS.credits_per_message})",
    )
    group.add_argument(
        "--credits-per-subscription",
        type=_price,
        default=None,
        help=f"credits per subscription (default {_DEFAULTS.credits_per_subscription})",
    )
    group.add_argument(
        "--rate-limit-minute",
        type=_count_or_unlimited,
        default=None,
        help=f"REST calls per minute (default {_DEFAULTS.rate_limit_minute})",
    )


def limits_from_arguments(args: argparse.Namespace) -> Limits:
    base = Limits.off() if getattr(args, "no_limits", False) else Limits()
    given: dict[str, Any] = {}
    for option, name in (
        ("sub_limit", "sub_limit"),
        ("count_subscriptions_per", "counting"),
        ("max_connections", "max_connections"),
        ("monthly_credits", "monthly_credits"),
        ("daily_credits", "daily_credits"),
        ("credits_per_message", "credits_per_message"),
        ("credits_per_subscription", "credits_per_subscription"),
        ("rate_limit_minute", "rate_limit_minute"),
    ):
        value = getattr(args, option, None)
        if value is not None:
            given[name] = None if value == "none" else value
    return replace(base, **given)


def server_from_arguments(args: argparse.Namespace) -> FakeStreamServer:
    """The server the options describe, bound but not started (call `.start()`)."""
    return FakeStreamServer(
        args.host,
        args.port,
        api_key=args.api_key,
        fast_interval=args.fast,
        slow_interval=args.slow,
        behaviour=Behaviour(
            push_data=not args.no_cadence,
            flood_frames=args.flood,
            flood_rate=args.flood_rate,
            flood_batch=args.flood_batch,
            rest_delay=args.rest_delay,
        ),
        coins=args.coins,
        limits=limits_from_arguments(args),
        tls=args.tls,
    )
