"""A fake Home Assistant Supervisor on loopback: just the MQTT service an add-on asks for.

Answers as the real one does (supervisor/api/services.py and api/utils.py): `GET /services/mqtt`
with `Authorization: Bearer <token>` gives `{"result": "ok", "data": {host, port, ssl, protocol,
username, password, addon}}`, or HTTP 400 `{"result": "error", "message": "Service not
enabled"}` when no broker app provides the service; a wrong token gets 401.
Also runnable for scripts/check_image.sh:
`python3 harness/fake_supervisor.py --port N --token T [--mqtt-port P --username U --password W]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "fake-supervisor-token"


class FakeSupervisor:
    def __init__(self, mqtt: dict[str, Any] | None, *, token: str = TOKEN, port: int = 0) -> None:
        self.mqtt = mqtt
        self.token = token
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization header)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != f"Bearer {owner.token}":
                    self._answer(401, {"result": "error", "message": "Unauthorized"})
                elif self.path != "/services/mqtt":
                    self._answer(404, {"result": "error", "message": "Not found"})
                elif owner.mqtt is None:
                    self._answer(400, {"result": "error", "message": "Service not enabled"})
                else:
                    data = {"ssl": False, "protocol": "3.1.1", **owner.mqtt}
                    self._answer(200, {"result": "ok", "data": {**data, "addon": "core_mosquitto"}})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeSupervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default=TOKEN)
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=None, help="none: no MQTT service")
    parser.add_argument("--username", default=None)
    parser.add_argument("--password", default=None)
    args = parser.parse_args()
    mqtt = None
    if args.mqtt_port is not None:
        mqtt = {"host": args.mqtt_host, "port": args.mqtt_port}
        if args.username:
            mqtt.update(username=args.username, password=args.password or "")
    supervisor = FakeSupervisor(mqtt, token=args.token, port=args.port)
    with contextlib.suppress(KeyboardInterrupt):
        supervisor._server.serve_forever()


if __name__ == "__main__":
    main()
