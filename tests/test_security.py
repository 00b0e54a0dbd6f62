"""TLS, client certificates and passwords against a real mosquitto; secrets never shown."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cmc_mqtt.simulator import FakeStreamServer

from .helpers import TEST_API_KEY, Broker, Subscriber, free_port

PASSWORD = "correct-horse-battery-5"


@dataclass
class Pki:
    dir: Path
    ca: Path
    other_ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(cwd: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
            f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={name}", cwd=cwd)  # fmt: skip


def make_cert(cwd: Path, name: str, ca: str, san: str) -> None:
    (cwd / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={name}", cwd=cwd)  # fmt: skip
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
            cwd=cwd)  # fmt: skip


@pytest.fixture(scope="module")
def pki() -> Iterator[Pki]:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate."""
    # Directly under /tmp: mosquitto reads these after dropping to its own user, and pytest's
    # own temporary folders sit below directories only root may enter.
    cwd = Path(tempfile.mkdtemp(prefix="cmc-pki-"))
    cwd.chmod(0o755)
    make_ca(cwd, "ca")
    make_ca(cwd, "other-ca")
    make_cert(cwd, "server", "ca", "IP:127.0.0.1")
    make_cert(cwd, "client", "ca", "DNS:cmc-mqtt-client")
    for path in cwd.iterdir():
        path.chmod(0o644)
    yield Pki(cwd, cwd / "ca.crt", cwd / "other-ca.crt", cwd / "server.crt", cwd / "server.key",
              cwd / "client.crt", cwd / "client.key")  # fmt: skip
    shutil.rmtree(cwd, ignore_errors=True)


def tls_broker(pki: Pki, *, client_certs: bool) -> tuple[Broker, int]:
    port = free_port()
    listener = (
        f"listener {port} 127.0.0.1\nallow_anonymous true\ncafile {pki.ca}\n"
        f"certfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        f"require_certificate {'true' if client_certs else 'false'}\n"
    )
    return Broker(listener).start(), port


def password_broker() -> tuple[Broker, int]:
    port = free_port()
    broker = Broker(f"listener {port} 127.0.0.1\nallow_anonymous false\n")
    passwords = broker.dir / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "cmc", PASSWORD], check=True,
                   capture_output=True, timeout=30)  # fmt: skip
    passwords.chmod(0o644)
    broker.extra_config += f"password_file {passwords}\n"
    return broker.start(), port


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
