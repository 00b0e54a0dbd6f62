#!/usr/bin/env bash
# tests_ha/ on current Home Assistant, which needs Python 3.14: a Debian forky chroot with the
# Home Assistant that tests_ha/requirements-current.txt pins. Needs root on Debian (debootstrap,
# chroot, mount); no container runtime. Built once, then reused (CMC_HA_CHROOT, default
# /var/cache/cmc-mqtt/forky, outside the repo; delete it to start from nothing).
#
#   bash scripts/ha_chroot.sh check            exit 0 if it can run here, else say why (exit 3)
#   bash scripts/ha_chroot.sh test [ARGS]      build or reuse, then pytest tests_ha/ inside
#   bash scripts/ha_chroot.sh bump             move the pin to the newest harness release
#   bash scripts/ha_chroot.sh shell            a shell inside, the sources in /src/cmc-mqtt
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHROOT=${CMC_HA_CHROOT:-/var/cache/cmc-mqtt/forky}
PIN=$ROOT/tests_ha/requirements-current.txt
VENV=/opt/ha-venv # inside the chroot
SRC=/src/cmc-mqtt # inside the chroot: a copy of what the tests need, refreshed every run
# Bump when the build steps below change: a chroot built by other steps is rebuilt.
RECIPE="forky python3.14 v1"
PACKAGES="python3 python3-venv python3-dev gcc g++ git ca-certificates"
MOUNTS=(proc dev/pts) # in mount order; unmounted in reverse

say() { printf '\n== %s\n' "$*"; }

why_not() {
  if [ "$(id -u)" != 0 ]; then
    echo "not root (debootstrap, chroot and mount need root)"
  elif [ ! -r /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "not Debian (the chroot is built with debootstrap from a Debian mirror)"
  elif ! command -v chroot >/dev/null 2>&1 || ! command -v mount >/dev/null 2>&1; then
    echo "no chroot or mount command"
  fi
}

# Commands inside see nothing of the host's environment (its PIP_* variables name host paths).
inside() {
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 \
    chroot "$CHROOT" "$@"
}

unmount_all() {
  local i target
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    target=$CHROOT/${MOUNTS[i]}
    if mountpoint -q "$target" 2>/dev/null; then
      umount "$target" 2>/dev/null || umount -l "$target"
    fi
  done
}

mount_all() {
  unmount_all # left by a run that was killed
  trap unmount_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mount -t proc proc "$CHROOT/proc"
  mount --bind /dev/pts "$CHROOT/dev/pts"
}

debian_mirror() {
  local uri
  if [ -n "${CMC_DEBIAN_MIRROR:-}" ]; then
    echo "$CMC_DEBIAN_MIRROR"
    return
  fi
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' \
    /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list \
      2>/dev/null || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# What the host knows and the chroot must too: name servers and extra CA certificates (a proxy's).
refresh_host_files() {
  cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$CHROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$CHROOT/usr/local/share/ca-certificates/"
    if [ -x "$CHROOT/usr/sbin/update-ca-certificates" ]; then
      inside update-ca-certificates >/dev/null 2>&1
    fi
  fi
}

build_chroot() {
  local mirror log
  if [ "$(cat "$CHROOT/.cmc-mqtt-recipe" 2>/dev/null)" = "$RECIPE" ]; then
    echo "reusing the chroot at $CHROOT"
    return
  fi
  say "building a Debian forky chroot at $CHROOT (once; reused by later runs)"
  unmount_all
  rm -rf --one-file-system "$CHROOT"
  mkdir -p "$CHROOT"
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  mirror=$(debian_mirror)
  log=$(dirname "$CHROOT")/debootstrap.log
  # Bookworm's debootstrap does not know forky by name; testing is built like sid.
  if ! debootstrap --variant=minbase forky "$CHROOT" "$mirror" \
    /usr/share/debootstrap/scripts/sid >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "debootstrap of forky from $mirror failed (log: $log)" >&2
    exit 1
  fi
  # Package scripts must not start services; the mirror's forky Release may be past Valid-Until.
  printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d"
  chmod 755 "$CHROOT/usr/sbin/policy-rc.d"
  echo 'Acquire::Check-Valid-Until "false";' >"$CHROOT/etc/apt/apt.conf.d/99cmc-mqtt"
  refresh_host_files
  mount_all
  inside apt-get update -qq
  # shellcheck disable=SC2086
  inside apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
  refresh_host_files # update-ca-certificates exists now
  unmount_all
  echo "$RECIPE" >"$CHROOT/.cmc-mqtt-recipe"
}

# The venv is rebuilt whenever the pin file changes, so it always holds exactly the pin.
ensure_venv() {
  local want
  want=$(sha256sum <"$PIN" | cut -d' ' -f1)
  if [ -x "$CHROOT$VENV/bin/python" ] && [ "$(cat "$CHROOT$VENV/.pin" 2>/dev/null)" = "$want" ]; then
    echo "reusing $VENV ($(grep -m1 '^pytest-homeassistant' "$PIN"))"
    return
  fi
  say "Home Assistant test harness in the chroot ($(grep -m1 '^pytest-homeassistant' "$PIN"))"
  rm -rf "${CHROOT:?}$VENV"
  cp "$PIN" "$CHROOT/tmp/requirements-current.txt"
  inside python3 -m venv "$VENV"
  inside "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r /tmp/requirements-current.txt
  echo "$want" >"$CHROOT$VENV/.pin"
}

copy_sources() {
  rm -rf "${CHROOT:?}$SRC"
  mkdir -p "$CHROOT$SRC"
  tar -C "$ROOT" -cf - cmc_mqtt custom_components tests_ha tests/fixtures | tar -C "$CHROOT$SRC" -xf -
}

prepare() {
  local reason
  reason=$(why_not)
  if [ -n "$reason" ]; then
    echo "cannot build the Home Assistant chroot: $reason" >&2
    exit 3
  fi
  mkdir -p "$(dirname "$CHROOT")"
  exec 9>"$CHROOT.lock" # one run at a time per chroot
  flock 9
  build_chroot
  refresh_host_files
  mount_all
}

case "${1:-}" in
  check)
    reason=$(why_not)
    [ -z "$reason" ] || {
      echo "$reason"
      exit 3
    }
    ;;
  test)
    shift
    prepare
    ensure_venv
    copy_sources
    inside sh -c 'cd "$1/tests_ha" && shift && exec "$@"' sh "$SRC" \
      env PYTHONPATH="$SRC" COVERAGE_FILE=/tmp/.coverage-ha \
      "$VENV/bin/python" -m pytest -c pytest.ini "$@" .
    ;;
  bump)
    prepare
    inside python3 -m venv /tmp/bump-venv
    newest=$(inside /tmp/bump-venv/bin/python -m pip index versions --disable-pip-version-check \
      pytest-homeassistant-custom-component 2>/dev/null | sed -n 's/^pytest-homeassistant-custom-component (\(.*\))$/\1/p')
    [ -n "$newest" ] || {
      echo "could not find the newest pytest-homeassistant-custom-component" >&2
      exit 1
    }
    sed -i "s/^pytest-homeassistant-custom-component==.*/pytest-homeassistant-custom-component==$newest/" "$PIN"
    echo "pinned pytest-homeassistant-custom-component==$newest; run 'bash scripts/ha_chroot.sh test'"
    ;;
  shell)
    prepare
    copy_sources
    inside sh -c 'cd "$1" && exec bash' sh "$SRC"
    ;;
  *)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
