"""A paho client set up from `[mqtt]`: protocol, login and TLS, the same for the bridge and for
anything else that talks to the broker on its behalf (the container health check)."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ..config import MqttSettings
from .adapter import PROTOCOL


def make_client(settings: MqttSettings, client_id: str, *, connect_timeout: float) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=PROTOCOL,
        clean_session=True,
    )
    client.connect_timeout = connect_timeout
    if settings.username is not None:
        password = settings.password.reveal() if settings.password is not None else None
        client.username_pw_set(settings.username, password)
    tls = settings.tls
    if tls.enabled:
        client.tls_set(
            ca_certs=str(tls.ca_certs) if tls.ca_certs else None,
            certfile=str(tls.certfile) if tls.certfile else None,
            keyfile=str(tls.keyfile) if tls.keyfile else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
        if tls.insecure:
            client.tls_insecure_set(True)
    return client
