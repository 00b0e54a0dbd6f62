"""TLS, client certificates and passwords against a real mosquitto; secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmc_mqtt.model.topics import Topics
from cmc_mqtt.rest.client import RestError, get_json
from cmc_mqtt.simulator import FakeStreamServer
from cmc_mqtt.state.bridge_state import BridgeState
from cmc_mqtt.stream.pool import StreamPool
from cmc_mqtt.stream.session import StreamTimings
from cmc_mqtt.util.secret import Secret
from harness.helpers import TEST_API_KEY, Broker, Subscriber, free_port, wait_until
from harness.pki import PASSWORD, Pki, make_pki, password_broker, remove_pki, tls_broker


@pytest.fixture(scope="module")
def pki() -> Iterator[Pki]:
    made = make_pki()
    yield made
    remove_pki(made)


@pytest.fixture
def stream() -> Iterator[FakeStreamServer]:
    with FakeStreamServer(api_key=TEST_API_KEY, fast_interval=0.2) as server:
        yield server


def run_bridge(tmp_path: Path, stream: FakeStreamServer, port: int, mqtt: str,
               *, wait: bool = False) -> subprocess.Popen[str]:  # fmt: skip
    config = tmp_path / "config.toml"
    config.write_text(
        f'[cmc]\napi_key = "{TEST_API_KEY}"\nurl = "{stream.url}"\ncrypto_ids = [1]\n'
        f'lookup_names = false\ncache_dir = "{tmp_path}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "sec-test"\nkeepalive = 5\n{mqtt}'
    )
    config.chmod(0o600)
    return subprocess.Popen(
        [sys.executable, "-m", "cmc_mqtt", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "CMC_API_KEY": ""},
    )  # fmt: skip


def expect_refusal(proc: subprocess.Popen[str], *phrases: str) -> str:
    """The bridge must give up at once with exit code 2 and say why, with no secret shown."""
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read() if proc.stdout else ""
    assert code == 2, output
    for phrase in phrases:
        assert phrase in output, output
    assert "Traceback" not in output
    assert PASSWORD not in output
    assert TEST_API_KEY not in output
    return output


def expect_online(proc: subprocess.Popen[str], broker: Broker) -> None:
    sub = Subscriber(broker, "cmc/#")  # on the broker's plain listener
    try:
        sub.wait_topic("cmc/status", "online", timeout=20)
        sub.wait_topic("cmc/1/p")
    finally:
        sub.close()
        proc.terminate()
        proc.wait(10)


def test_tls_with_a_verified_certificate(
    tmp_path: Path, pki: Pki, stream: FakeStreamServer
) -> None:
    broker, port = tls_broker(pki, client_certs=False)
    try:
        proc = run_bridge(tmp_path, stream, port, f'tls = true\nca_certs = "{pki.ca}"\n')
        expect_online(proc, broker)
    finally:
        broker.cleanup()


def test_an_untrusted_certificate_is_refused_with_exit_code_2(
    tmp_path: Path, pki: Pki, stream: FakeStreamServer
) -> None:
    broker, port = tls_broker(pki, client_certs=False)
    try:
        proc = run_bridge(tmp_path, stream, port, f'tls = true\nca_certs = "{pki.other_ca}"\n')
        expect_refusal(proc, "TLS certificate not trusted", "mqtt.ca_certs")
    finally:
        broker.cleanup()


def test_client_certificates(tmp_path: Path, pki: Pki, stream: FakeStreamServer) -> None:
    broker, port = tls_broker(pki, client_certs=True)
    try:
        tls = f'tls = true\nca_certs = "{pki.ca}"\n'
        with_cert = f'{tls}certfile = "{pki.client_cert}"\nkeyfile = "{pki.client_key}"\n'
        expect_online(run_bridge(tmp_path, stream, port, with_cert), broker)
        # Without a client certificate the broker refuses after the handshake: not a
        # verification failure on our side, so the bridge keeps retrying and says why.
        proc = run_bridge(tmp_path, stream, port, tls)
        sub = Subscriber(broker, "cmc/status")
        try:
            with pytest.raises(AssertionError):
                sub.wait_topic("cmc/status", "online", timeout=4)
            assert proc.poll() is None
        finally:
            sub.close()
            proc.terminate()
            proc.wait(10)
        output = proc.stdout.read() if proc.stdout else ""
        assert "WARNING" in output, output
        assert "MQTT" in output, output
        # It backs off between attempts (0.5 s doubling), never a tight reconnect loop.
        attempts = broker.log.read_text().count(f"on port {port}")
        assert 1 <= attempts <= 10, attempts
        assert "Traceback" not in output
    finally:
        broker.cleanup()


def test_username_and_password(tmp_path: Path, stream: FakeStreamServer) -> None:
    broker, port = password_broker()
    try:
        login = f'username = "cmc"\npassword = "{PASSWORD}"\n'
        expect_online(run_bridge(tmp_path, stream, port, login), broker)
    finally:
        broker.cleanup()


def test_a_wrong_password_is_refused_with_exit_code_2(
    tmp_path: Path, stream: FakeStreamServer
) -> None:
    broker, port = password_broker()
    try:
        proc = run_bridge(tmp_path, stream, port, 'username = "cmc"\npassword = "wrong"\n')
        expect_refusal(proc, "refused the connection", "mqtt.username / mqtt.password")
    finally:
        broker.cleanup()


def test_a_broker_that_is_down_is_waited_for_not_refused(
    tmp_path: Path, stream: FakeStreamServer
) -> None:
    port = free_port()
    proc = run_bridge(tmp_path, stream, port, "")
    try:
        broker = Broker(port=port)
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(timeout=4)  # an unreachable broker is not a reason to give up
            broker.start()
            expect_online(proc, broker)
        finally:
            broker.cleanup()
    finally:
        if proc.poll() is None:
            proc.kill()


INJECTING_KEY = "test-key-5f3c\r\nX-Injected: yes"


def test_a_key_that_would_inject_a_header_is_never_sent(
    stream: FakeStreamServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Defence behind the configuration's own check: neither the stream's handshake nor a REST
    call sends a key that would end its header line, and no message repeats it."""
    state = BridgeState([1], Topics("cmc"))
    pool = StreamPool(
        stream.url, Secret(INJECTING_KEY), [1], state, set_online=state.set_stream_online,
        timings=StreamTimings(permanent_retry=60.0),
    )  # fmt: skip
    pool.start()
    try:
        session = wait_until(lambda: pool.sessions[0] if pool.sessions else None)
        wait_until(lambda: session.last_error is not None)
    finally:
        pool.stop()
    error = session.last_error
    assert error is not None
    assert error.permanent
    assert "characters a key cannot have" in str(error)
    assert stream.accepted == 0  # not even a connection was opened
    with pytest.raises(RestError, match="not sent"):
        get_json(stream.rest_url, "/v1/key/info", {}, Secret(INJECTING_KEY), timeout=2)
    leaked = [r.getMessage() for r in caplog.records if "Injected" in r.getMessage()]
    assert not leaked
    assert not Secret(INJECTING_KEY).fits_a_header()
    assert not Secret("key with space").fits_a_header()
    assert not Secret("ключ").fits_a_header()
    assert Secret(TEST_API_KEY).fits_a_header()
