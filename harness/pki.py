"""Certificates and brokers that check them: a test CA, server and client certificates made with
openssl, a TLS listener and a password listener on mosquitto."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .helpers import Broker, free_port

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


def make_pki() -> Pki:
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
    return Pki(cwd, cwd / "ca.crt", cwd / "other-ca.crt", cwd / "server.crt", cwd / "server.key",
               cwd / "client.crt", cwd / "client.key")  # fmt: skip


def remove_pki(pki: Pki) -> None:
    shutil.rmtree(pki.dir, ignore_errors=True)
