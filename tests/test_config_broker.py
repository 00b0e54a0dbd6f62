"""A broker written as people write it: `host:port`, `mqtt://` or `mqtts://` URLs, split into
host, port and TLS, or refused in one line with the fix; never a URL as a host name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmc_mqtt.config import parse_settings
from cmc_mqtt.config.broker import AddressError, BrokerAddress, parse_address
from cmc_mqtt.errors import ConfigError
from cmc_mqtt.simulator import FakeStreamServer
from harness.helpers import TEST_API_KEY, Broker

from .test_cli_run import run_until_price

CMC = {"api_key": TEST_API_KEY, "crypto_ids": [1]}


def mqtt_of(**mqtt: Any) -> tuple[str, int, bool]:
    settings = parse_settings({"cmc": CMC, "mqtt": mqtt}, environ={}).mqtt
    return settings.host, settings.port, settings.tls.enabled


def problems(**mqtt: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings({"cmc": CMC, "mqtt": mqtt}, environ={})
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("broker.lan", BrokerAddress("broker.lan")),
        ("broker.lan:1884", BrokerAddress("broker.lan", 1884)),
        ("192.168.1.10:1883", BrokerAddress("192.168.1.10", 1883)),
        ("::1", BrokerAddress("::1")),
        ("fe80::1%eth0", BrokerAddress("fe80::1%eth0")),
        ("[::1]", BrokerAddress("::1")),
        ("[::1]:1884", BrokerAddress("::1", 1884)),
        ("mqtt://broker.lan", BrokerAddress("broker.lan", None, tls=False)),
        ("mqtt://broker.lan/", BrokerAddress("broker.lan", None, tls=False)),
        ("MQTT://127.0.0.1:18831", BrokerAddress("127.0.0.1", 18831, tls=False)),
        ("mqtts://broker.lan", BrokerAddress("broker.lan", None, tls=True)),
        ("mqtts://[::1]:8884", BrokerAddress("::1", 8884, tls=True)),
    ],
)
def test_addresses_people_write_are_split(text: str, expected: BrokerAddress) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("http://broker:1883", "http:// does not name an MQTT broker"),
        ("ws://broker:9001", "ws:// does not name an MQTT broker"),
        ("mqtt://broker/topic", "has no path, query or fragment"),
        ("mqtt://broker?x=1", "has no path, query or fragment"),
        ("broker/x", "has no path"),
        ("broker:", "is not a port number"),
        ("broker:abc", "is not a port number"),
        ("broker:0", "is not a port number"),
        ("broker:65536", "is not a port number"),
        (":1883", "names no host"),
        ("[::1", "an IPv6 address is written [address]"),
        ("[::1]1883", "expected :port after [::1]"),
        ("a:b:c", "more than one ':'"),
        ("h" * 254, "a host name is longer than 253 characters"),
    ],
)
def test_what_is_no_address_is_refused_with_why(text: str, reason: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_address(text)
    assert reason in info.value.reason
    assert not info.value.login


def test_the_config_takes_the_port_and_tls_from_the_address() -> None:
    assert mqtt_of(host="mqtt://127.0.0.1:18831") == ("127.0.0.1", 18831, False)
    assert mqtt_of(host="mqtts://broker.lan") == ("broker.lan", 8883, True)
    assert mqtt_of(host="mqtts://broker.lan", port=9883) == ("broker.lan", 9883, True)
    assert mqtt_of(host="broker.lan:1884") == ("broker.lan", 1884, False)
    assert mqtt_of(host="[::1]:1884", tls=True) == ("::1", 1884, True)
    # What said the same twice is no contradiction.
    assert mqtt_of(host="mqtt://b:1884", port=1884, tls=False) == ("b", 1884, False)
    # Without a scheme, the options' own defaults, as ever (tls = true keeps port 1883).
    assert mqtt_of(host="broker.lan") == ("broker.lan", 1883, False)
    assert mqtt_of(host="broker.lan", tls=True) == ("broker.lan", 1883, True)


def test_an_address_the_options_contradict_is_refused_with_the_fix() -> None:
    assert problems(host="mqtt://b:1884", port=1885) == [
        "mqtt.host: names port 1884 and mqtt.port says 1885; give the port once"
    ]
    assert problems(host="mqtts://b", tls=False) == [
        "mqtt.host: mqtts:// means mqtt.tls = true, and mqtt.tls says otherwise; "
        "remove mqtt.tls or change the scheme"
    ]
    assert problems(host="mqtt://b", tls=True)[0].startswith("mqtt.host: mqtt:// means")


def test_a_bad_address_is_one_line_with_the_fix_and_never_shows_a_login() -> None:
    assert problems(host="http://broker:1883") == [
        "mqtt.host: http:// does not name an MQTT broker (got 'http://broker:1883'); write the "
        "host alone, host:port, mqtt://host:port or mqtts://host:port (TLS)"
    ]
    (line,) = problems(host="mqtt://cmc:hunter2@broker:1883")
    assert line.startswith("mqtt.host: a login does not belong in the address")
    assert "hunter2" not in line


def env_only(**variables: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CMC_")}
    return {**base, "CMC_API_KEY": TEST_API_KEY, "CMC_MQTT_CMC_CRYPTO_IDS": "1", **variables}


def test_check_config_shows_the_address_split_or_refuses_it_in_one_line(tmp_path: Path) -> None:
    def check(host: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cmc_mqtt", "check-config", "--offline"],
            capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
            env=env_only(CMC_MQTT_MQTT_HOST=host),
        )  # fmt: skip

    good = check("mqtts://broker.lan:8884")
    assert good.returncode == 0, good.stderr
    assert "broker broker.lan:8884 with TLS" in good.stdout
    bad = check("tcp://broker.lan:1883")
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "CMC_MQTT_MQTT_HOST: tcp:// does not name an MQTT broker (got 'tcp://broker.lan:1883'); "
        "write the host alone, host:port, mqtt://host:port or mqtts://host:port (TLS)"
    ]


def test_the_bridge_runs_on_a_broker_given_as_a_url(
    tmp_path: Path, broker: Broker, stream: FakeStreamServer
) -> None:
    env = env_only(
        CMC_MQTT_MQTT_HOST=f"mqtt://127.0.0.1:{broker.port}",
        CMC_MQTT_CMC_URL=stream.url,
        CMC_MQTT_CMC_LOOKUP_NAMES="false",
    )
    code, output = run_until_price(tmp_path, env, broker)
    assert code == 0, output
    assert (
        f"with the environment (4 CMC_MQTT_* variables; no config.toml): 1 coin from {stream.url}"
        in output
    )
    assert f"to mqtt://127.0.0.1:{broker.port}/cmc" in output
    assert "unknown host" not in output
