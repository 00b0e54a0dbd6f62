"""The bridge: owns the stream thread and the MQTT thread, and stops them in the right order."""

from __future__ import annotations

from .backoff import Backoff
from .config import Settings
from .publisher import INFO_INTERVAL_S, MqttPublisher
from .state import BridgeState, Topics
from .stream import StreamClient, StreamTimings
from .version import VERSION


class Bridge:
    """Stream → frames → state → MQTT. `with Bridge(settings):` runs it."""

    def __init__(
        self,
        settings: Settings,
        *,
        stream_timings: StreamTimings | None = None,
        mqtt_backoff: Backoff | None = None,
        info_interval: float = INFO_INTERVAL_S,
    ) -> None:
        self.settings = settings
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.state = BridgeState(settings.stream.crypto_ids, self.topics)
        self.publisher = MqttPublisher(
            settings.mqtt,
            self.state,
            version=VERSION,
            backoff=mqtt_backoff,
            info_interval=info_interval,
        )
        self.stream = StreamClient(settings.stream, self.state, timings=stream_timings)

    def start(self) -> Bridge:
        self.publisher.start()
        self.stream.start()
        return self

    def stop(self) -> None:
        """Stream first, so the last word on `<prefix>/status` is `offline`."""
        self.stream.stop(timeout=0.6)
        self.publisher.stop(timeout=1.0)

    def __enter__(self) -> Bridge:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
