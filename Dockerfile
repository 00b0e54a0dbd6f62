# syntax=docker/dockerfile:1
# cmc-mqtt as a container image:  docker build -t cmc-mqtt .
#
# The runtime is Debian bookworm with Debian's own python3 (security fixes through apt), the
# same root file system scripts/check_image.sh builds with debootstrap and runs under chroot:
# the machines this project is tested on have no container runtime, so that is how the image's
# contents are proven. Configure with a TOML file mounted at /config/config.toml, or with
# CMC_MQTT_<SECTION>_<KEY> variables (docs/install.md), or both.
#
# The wheel installed is the `wheels` stage's: built here from the checkout, unless the build
# is given a context of that name. The release workflow passes `--build-context wheels=dist`,
# so the published image holds the very wheel that went to PyPI from the same commit.

FROM debian:bookworm-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY cmc_mqtt ./cmc_mqtt
RUN python3 -m venv /tmp/build \
    && /tmp/build/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM scratch AS wheels
COPY --from=build /wheels/ /

FROM debian:bookworm-slim
# ca-certificates: the stream is wss:// and the name lookup https://.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=wheels / /tmp/wheels/
RUN python3 -m venv /opt/cmc-mqtt \
    && /opt/cmc-mqtt/bin/pip install --no-cache-dir /tmp/wheels/cmc_mqtt-*.whl \
    && rm -rf /tmp/wheels \
    && useradd --uid 10001 --user-group --home-dir /config --no-create-home \
        --shell /usr/sbin/nologin cmc \
    && install -d -o cmc -g cmc -m 0750 /config /var/cache/cmc-mqtt

# XDG_CACHE_HOME: the coin-name cache goes to /var/cache/cmc-mqtt (a volume keeps it).
ENV PATH="/opt/cmc-mqtt/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/var/cache

USER cmc
# `cmc-mqtt run` looks for ./config.toml: here, /config/config.toml.
WORKDIR /config

# Healthy while the broker holds this bridge's `<prefix>/status` = online (cmc_mqtt/health.py).
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 \
    CMD ["python", "-m", "cmc_mqtt.health"]

ENTRYPOINT ["cmc-mqtt"]
CMD ["run"]

# The version is the package's (tests/test_release.py keeps them equal).
LABEL org.opencontainers.image.title="cmc-mqtt" \
      org.opencontainers.image.version="0.3.0" \
      org.opencontainers.image.description="Live CoinMarketCap prices as retained MQTT topics, with Home Assistant discovery" \
      org.opencontainers.image.source="https://github.com/cmc-mqtt/cmc-mqtt" \
      org.opencontainers.image.licenses="MIT"
