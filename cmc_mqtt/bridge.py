"""The bridge: owns the stream thread and the MQTT thread, and stops them in the right order."""

from __future__ import annotations

from .backoff import Backoff
from .config import Settings
from .discovery import DiscoveryContext
from .displays import Displays
from .homeassistant import HomeAssistantDiscovery
from .names import CoinDirectory
from .pool import StreamPool
from .publisher import INFO_INTERVAL_S, MqttPublisher
from .session import StreamTimings
from .state import BridgeState, Topics
from .statefile import StateFile
from .sweep import RetainedSweep, sweep_rules
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
        ids = settings.stream.crypto_ids
        self.topics = Topics(settings.mqtt.topic_prefix)
        self.state = BridgeState(
            ids,
            self.topics,
            stale_after=settings.homeassistant.stale_after,
            changed_only=settings.mqtt.publish_mode == "changed",
            deadband=settings.mqtt.deadband,
        )
        self.names = CoinDirectory(settings.names.overrides, settings.names.cache_dir)
        ctx = DiscoveryContext(settings.homeassistant, self.topics, VERSION)
        rules = sweep_rules(
            ctx,
            self.topics,
            ids,
            text_enabled=settings.text.enabled,
            awtrix_prefixes=tuple(clock.prefix for clock in settings.awtrix),
        )
        self.sweep = RetainedSweep(f"{self.topics.prefix}/bridge/sync", rules)
        self.discovery = HomeAssistantDiscovery(ctx, self.state, self.names)
        self.displays = Displays(settings, self.state, self.names)
        self.publisher = MqttPublisher(
            settings.mqtt,
            self.state,
            version=VERSION,
            backoff=mqtt_backoff,
            info_interval=info_interval,
            extensions=[self.sweep, self.discovery, self.displays],
        )
        self.memory = StateFile(settings.names.cache_dir)
        self.stream = StreamPool(
            settings.stream.url,
            settings.stream.api_key,
            ids,
            self.state,
            set_online=self.state.set_stream_online,
            max_connections=settings.stream.max_connections,
            timings=stream_timings,
            layout=self.memory.layout(),
            save_layout=self.memory.set_layout,
        )

    def start(self) -> Bridge:
        self.publisher.start()
        self.stream.start()
        names = self.settings.names
        if names.lookup:
            self.names.refresh_in_background(
                self.settings.stream.api_key, names.rest_url, self.settings.stream.crypto_ids
            )
        return self

    def stop(self) -> list[str]:
        """Stream first, so the last word on `<prefix>/status` is `offline`; the names lookup
        is cancelled, not waited for. Returns the names of threads that did not end."""
        self.names.cancel()
        ended = {
            "cmc-mqtt-stream": self.stream.stop(timeout=0.6),
            "cmc-mqtt-publisher": self.publisher.stop(timeout=1.2),
            "cmc-mqtt-names": self.names.join(timeout=0.2),
        }
        return [name for name, done in ended.items() if not done]

    def __enter__(self) -> Bridge:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
