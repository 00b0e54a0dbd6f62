#!/usr/bin/env bash
# Proof that the container image and the Home Assistant add-on work, without a container runtime.
#
# No container runtime runs on the machines this project is tested on, so this builds the root
# file systems the two Dockerfiles build — Debian bookworm, minimal, with Debian's python3,
# python3-venv and ca-certificates (debootstrap; the base is cached and reused), a venv in
# /opt/cmc-mqtt holding the project's wheel — and runs them under chroot against mosquitto and
# the fake CoinMarketCap stream on 127.0.0.1:
#   1. the image (Dockerfile, with the non-root user `cmc`): its entrypoint, `cmc-mqtt run` as
#      `cmc`, configured only by CMC_MQTT_* variables, until prices arrive on the broker; then
#      its HEALTHCHECK (healthy, and unhealthy once the bridge has stopped);
#   2. the add-on (cmc-mqtt/Dockerfile): its run.sh as root with /data/options.json and a fake
#      Supervisor whose MQTT service names a broker that needs a login, until prices arrive
#      under the add-on's prefix; then its HEALTHCHECK, which the Supervisor's watchdog reads.
# Both hold the same wheel, as the release workflow's images do: $CMC_WHEEL when set (the test
# command passes the one scripts/release_check.sh built from a clean clone), else one built here
# from a clean clone of HEAD; never cmc-mqtt from a package index (its dependencies are). The
# HEALTHCHECK commands are read from the Dockerfiles, so what runs is what the images run.
# Not root, or not Debian: it says what it skipped and exits 0.
#
# Usage: [CMC_WHEEL=dist/cmc_mqtt-X.Y.Z-py3-none-any.whl] bash scripts/check_image.sh [--fresh]
#   --fresh: rebuild the cached base first. Cache: $CMC_IMAGE_CACHE (default
#   /var/cache/cmc-mqtt-image).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

skip() { echo "check_image: SKIPPED: $*"; echo "check_image: the image and add-on were not checked"; exit 0; }
say() { printf '\n== check_image: %s\n' "$*"; }
fail() { echo "check_image: FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(uname -s)" = Linux ] || skip "not Linux"
[ -f /etc/debian_version ] && command -v apt-get >/dev/null || skip "not Debian (needs debootstrap)"
[ "$(id -u)" = 0 ] || skip "not root (debootstrap and chroot need root); run: sudo bash $0"

START=$(now)
CACHE=${CMC_IMAGE_CACHE:-/var/cache/cmc-mqtt-image}
BASE=$CACHE/bookworm-minbase
PYTHON=${PYTHON:-python3}
[ "${1:-}" = --fresh ] && rm -rf "$BASE"

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
# Ubuntu's debootstrap does not bring Debian's archive key (Debian's has it already).
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_sub >/dev/null || need+=(mosquitto-clients)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

# --- the base root file system (cached) -------------------------------------------------------
T=$(now)
if [ -f "$BASE/.complete" ]; then
  say "base root file system: reused $BASE"
  BASE_HOW=reused
else
  MIRROR=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  MIRROR=${MIRROR:-$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)}
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  say "base root file system: debootstrap bookworm from $MIRROR"
  rm -rf "$BASE.partial" && mkdir -p "$CACHE"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    bookworm "$BASE.partial" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; fail "debootstrap (log: $CACHE/debootstrap.log)"; }
  # As the Dockerfile's `rm -rf /var/lib/apt/lists/*`: no package cache in the image.
  rm -rf "$BASE.partial"/var/cache/apt/archives/*.deb "$BASE.partial"/var/lib/apt/lists/*
  touch "$BASE.partial/.complete"
  rm -rf "$BASE" && mv "$BASE.partial" "$BASE"
  BASE_HOW="built from nothing"
fi
BASE_S=$(since "$T")

WORK=$(mktemp -d /var/tmp/cmc-mqtt-image.XXXXXX)
IMAGE_ROOT=$WORK/image
ADDON_ROOT=$WORK/addon
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for root in "$IMAGE_ROOT" "$ADDON_ROOT"; do
    if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc"; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- the wheel: given, or built from a clean clone; its dependencies' wheels beside it --------
T=$(now)
if [ -n "${CMC_WHEEL:-}" ]; then
  [ -f "$CMC_WHEEL" ] || fail "CMC_WHEEL=$CMC_WHEEL: no such file"
  WHEEL=$(cd "$(dirname "$CMC_WHEEL")" && pwd)/$(basename "$CMC_WHEEL")
  say "wheel: $WHEEL"
else
  say "wheel: built from a clean clone of HEAD ($(git rev-parse --short HEAD))"
  git clone -q --no-hardlinks "$REPO" "$WORK/clone"
  git -C "$WORK/clone" checkout -q --detach "$(git rev-parse HEAD)"
  "$PYTHON" -m pip wheel -q --no-cache-dir --no-deps --wheel-dir "$WORK/built" "$WORK/clone" \
    >"$WORK/wheel.log" 2>&1 || { cat "$WORK/wheel.log" >&2; fail "building the wheel"; }
  WHEEL=$(ls "$WORK"/built/cmc_mqtt-*.whl)
fi
# Made here and installed offline inside: the chroot needs no network or proxy.
"$PYTHON" -m pip wheel -q --no-cache-dir --wheel-dir "$WORK/wheels" "$WHEEL" \
  >"$WORK/deps.log" 2>&1 || { cat "$WORK/deps.log" >&2; fail "collecting the dependencies' wheels"; }
WHEEL_S=$(since "$T")

# `exec`: started in the background (`... &` runs a function in a subshell), the PID that $!
# names is then the program itself, so a SIGTERM reaches it as `docker stop` would.
inside() {  # root, command...: as root in that root file system, with a plain environment
  local root=$1
  shift
  exec chroot "$root" /usr/bin/env -i PATH=/opt/cmc-mqtt/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 "$@"
}
# What both Dockerfiles' `RUN python3 -m venv … pip install … cmc_mqtt-*.whl` do.
INSTALL_WHEEL='python3 -m venv /opt/cmc-mqtt
  /opt/cmc-mqtt/bin/pip install -q --no-index --find-links /tmp/wheels /tmp/wheels/cmc_mqtt-*.whl
  rm -rf /tmp/wheels'
new_root() {  # root: a copy of the base, /proc, the wheels, the package installed
  cp -a "$BASE" "$1"
  mount -t proc proc "$1/proc"
  cp -r "$WORK/wheels" "$1/tmp/wheels"
  (inside "$1" sh -ec "$INSTALL_WHEEL")
}
healthcheck() {  # Dockerfile: its HEALTHCHECK's command, one argument per line
  "$PYTHON" - "$1" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
match = re.search(r"^HEALTHCHECK\b.*?\bCMD (\[.*\])\s*$", text, re.MULTILINE)
if not match:
    sys.exit(f"{sys.argv[1]}: no HEALTHCHECK ... CMD [...]")
print("\n".join(json.loads(match.group(1))))
PY
}
mapfile -t IMAGE_HEALTH < <(healthcheck "$REPO/Dockerfile")
mapfile -t ADDON_HEALTH < <(healthcheck "$REPO/cmc-mqtt/Dockerfile")
[ ${#IMAGE_HEALTH[@]} -gt 0 ] && [ ${#ADDON_HEALTH[@]} -gt 0 ] || fail "reading the HEALTHCHECKs"

# --- the image: the base, the wheel in a venv, the user ---------------------------------------
T=$(now)
say "image (Dockerfile): a copy of the base, the wheel and its dependencies, user cmc"
new_root "$IMAGE_ROOT"
(inside "$IMAGE_ROOT" sh -ec 'useradd --uid 10001 --user-group --home-dir /config --no-create-home \
    --shell /usr/sbin/nologin cmc
  install -d -o cmc -g cmc -m 0750 /config /var/cache/cmc-mqtt')
VERSION=$(inside "$IMAGE_ROOT" cmc-mqtt --version)
IMAGE_S=$(since "$T")
echo "check_image: $VERSION from $(basename "$WHEEL"), $(inside "$IMAGE_ROOT" python3 --version)," \
  "$(du -shx "$IMAGE_ROOT" | cut -f1) root file system"

# --- the add-on's image: the base, the same wheel, run.sh -------------------------------------
T=$(now)
say "add-on image (cmc-mqtt/Dockerfile): a copy of the base, the same wheel, run.sh"
new_root "$ADDON_ROOT"
install -m 0755 "$REPO/cmc-mqtt/run.sh" "$ADDON_ROOT/run.sh"
ADDON_VERSION=$(inside "$ADDON_ROOT" cmc-mqtt --version)
[ "$ADDON_VERSION" = "$VERSION" ] || fail "the add-on holds $ADDON_VERSION, the image $VERSION"
ADDON_IMAGE_S=$(since "$T")

# --- services on loopback: mosquitto (plain and with a login), the fake stream, a Supervisor --
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MQTT_PORT=$(free_port); LOGIN_PORT=$(free_port); STREAM_PORT=$(free_port); SUP_PORT=$(free_port)
KEY=image-check-key
PASSWORD=image-check-password
chmod 0755 "$WORK"
mosquitto_passwd -c -b "$WORK/passwords" addons "$PASSWORD"
chmod 0644 "$WORK/passwords"
cat >"$WORK/mosquitto.conf" <<EOF
per_listener_settings true
persistence false
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
listener $LOGIN_PORT 127.0.0.1
allow_anonymous false
password_file $WORK/passwords
EOF
chmod 0644 "$WORK/mosquitto.conf"
"$MOSQUITTO" -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)
inside "$IMAGE_ROOT" cmc-mqtt simulate --host 127.0.0.1 --port "$STREAM_PORT" --api-key "$KEY" \
  --coins 1,1027 --fast 1 --slow 2 >"$WORK/simulator.log" 2>&1 &
PIDS+=($!)
"$PYTHON" "$REPO/harness/fake_supervisor.py" --port "$SUP_PORT" --token supervisor-token \
  --mqtt-port "$LOGIN_PORT" --username addons --password "$PASSWORD" &
PIDS+=($!)

wait_port() {  # port, what: listening within 20 s
  "$PYTHON" - "$1" <<'PY' || fail "$2 did not listen on 127.0.0.1:$1"
import socket, sys, time
deadline = time.monotonic() + 20
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.05)
PY
}
wait_port "$MQTT_PORT" mosquitto
wait_port "$LOGIN_PORT" mosquitto
wait_port "$STREAM_PORT" "the fake stream"
wait_port "$SUP_PORT" "the fake Supervisor"

wait_for_price() {  # topic, what, log: one message within 60 s, or fail showing the log
  local got
  got=$(mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$1" -C 1 -W 60 2>/dev/null) \
    || { tail -20 "$3" >&2; fail "$2: no price on $1 within 60 s"; }
  echo "check_image: $2: $1 = $got"
}

# --- 1. the container's entrypoint, as the image runs it ---------------------------------------
T=$(now)
say "container: cmc-mqtt run as user cmc, configured by CMC_MQTT_* variables only"
IMAGE_ENV=(PYTHONUNBUFFERED=1 XDG_CACHE_HOME=/var/cache CMC_API_KEY="$KEY"
  CMC_MQTT_CMC_URL="ws://127.0.0.1:$STREAM_PORT/v1" CMC_MQTT_CMC_CRYPTO_IDS=1,1027
  CMC_MQTT_CMC_LOOKUP_NAMES=false CMC_MQTT_MQTT_HOST=127.0.0.1 CMC_MQTT_MQTT_PORT="$MQTT_PORT"
  CMC_MQTT_MQTT_CLIENT_ID=cmc-mqtt-image)
as_image() { exec chroot --userspec=cmc:cmc "$IMAGE_ROOT" /usr/bin/env -i PATH=/opt/cmc-mqtt/bin:/usr/bin:/bin HOME=/config "${IMAGE_ENV[@]}" sh -c 'cd /config && exec "$@"' sh "$@"; }
as_image cmc-mqtt run >"$WORK/bridge.log" 2>&1 &
BRIDGE=$!
PIDS+=($BRIDGE)
wait_for_price cmc/1/p container "$WORK/bridge.log"
wait_for_price cmc/1027/p container "$WORK/bridge.log"
HEALTH=$(as_image "${IMAGE_HEALTH[@]}") || fail "container: health check: $HEALTH"
echo "check_image: container: HEALTHCHECK: $HEALTH"
kill -TERM "$BRIDGE"
wait "$BRIDGE" || fail "the bridge exited $? on SIGTERM: $(tail -5 "$WORK/bridge.log")"
if HEALTH=$(as_image "${IMAGE_HEALTH[@]}"); then fail "container: still healthy after stopping: $HEALTH"; fi
echo "check_image: container: stopped cleanly; HEALTHCHECK now: $HEALTH"
if grep -q "$KEY" "$WORK/bridge.log"; then fail "the API key appears in the bridge's log"; fi
CONTAINER_S=$(since "$T")

# --- 2. the add-on's run script, as the Supervisor starts it -----------------------------------
T=$(now)
say "add-on: run.sh with /data/options.json and a fake Supervisor's MQTT service (with login)"
mkdir -p "$ADDON_ROOT/data"
cat >"$ADDON_ROOT/data/options.json" <<EOF
{"api_key": "$KEY", "coins": [1, 1027], "topic_prefix": "addon", "discovery": true,
 "enabled_fields": ["p", "p24h"], "discovery_mode": "entity", "publish_mode": "all",
 "deadband": 0, "lookup_names": false, "log_level": "info"}
EOF
inside "$ADDON_ROOT" SUPERVISOR_TOKEN=supervisor-token \
  CMC_ADDON_SUPERVISOR_URL="http://127.0.0.1:$SUP_PORT" \
  CMC_MQTT_CMC_URL="ws://127.0.0.1:$STREAM_PORT/v1" PYTHONUNBUFFERED=1 /run.sh \
  >"$WORK/addon.log" 2>&1 &
ADDON=$!
PIDS+=($ADDON)
wait_for_price addon/1/p add-on "$WORK/addon.log"
grep -q "MQTT broker 127.0.0.1:$LOGIN_PORT, user addons (Supervisor MQTT service)" "$WORK/addon.log" \
  || fail "add-on: did not use the Supervisor's broker: $(head -3 "$WORK/addon.log")"
MODE=$(stat -c %a "$ADDON_ROOT/data/cmc-mqtt.toml")
[ "$MODE" = 600 ] || fail "add-on: its config file has mode $MODE, not 600"
# The watchdog's view: the add-on image's HEALTHCHECK as Docker runs it (root, the image's own
# environment), reading the config the add-on wrote.
HEALTH=$(inside "$ADDON_ROOT" "${ADDON_HEALTH[@]}") || fail "add-on: health check: $HEALTH"
echo "check_image: add-on: HEALTHCHECK: $HEALTH"
kill -TERM "$ADDON"
wait "$ADDON" || fail "the add-on exited $? on SIGTERM: $(tail -5 "$WORK/addon.log")"
if HEALTH=$(inside "$ADDON_ROOT" "${ADDON_HEALTH[@]}"); then fail "add-on: still healthy after stopping: $HEALTH"; fi
echo "check_image: add-on: stopped cleanly; HEALTHCHECK now: $HEALTH"
if grep -q -e "$KEY" -e "$PASSWORD" "$WORK/addon.log"; then fail "a secret appears in the add-on's log"; fi
echo "check_image: add-on: $(head -1 "$WORK/addon.log")"
ADDON_S=$(since "$T")

say "passed in $(since "$START") s: base $BASE_S s ($BASE_HOW), wheels $WHEEL_S s, image $IMAGE_S s, add-on image $ADDON_IMAGE_S s, container $CONTAINER_S s, add-on $ADDON_S s"
