#!/usr/bin/env bash
# tests_ha/ on current Home Assistant, which needs Python 3.14: a Debian forky chroot with the
# Home Assistant that tests_ha/requirements-current.txt pins. Needs root on Debian (debootstrap,
# chroot, mount); no container runtime. Built once, then reused (CMC_HA_CHROOT, default
# /var/cache/cmc-mqtt/forky, outside the repo; delete it to start from nothing).
#
#   bash scripts/ha_chroot.sh check            exit 0 if it can run here, else say why (exit 3)
#   bash scripts/ha_chroot.sh test [ARGS]      build or reuse, then pytest tests_ha/ inside (or
#                                              only the tests_ha/test_x.py[::name] named)
#   bash scripts/ha_chroot.sh bump             move the pin to the newest harness release
#   bash scripts/ha_chroot.sh pinned           say which Home Assistant the pin gives
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

# "Home Assistant 2026.10.4 (pytest-homeassistant-custom-component==0.13.375)" from the pin line
# `pytest-homeassistant-custom-component==0.13.375  # Home Assistant 2026.10.4`.
pinned() {
  sed -n 's/^\(pytest-homeassistant-custom-component==[^ ]*\) *# *\(.*\)$/\2 (\1)/p' "$PIN"
}

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
# `inside` runs one in a subshell; `exec_inside` replaces the calling shell with it, so that in
# the background (`exec_inside ... &`) $! is the command itself and a signal reaches it.
inside() (
  exec_inside "$@"
)

exec_inside() {
  exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
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

# A signal stops what runs inside at once (bash would otherwise wait for it), then the EXIT trap
# unmounts: a run that fails or is stopped leaves no mounts behind.
CHILD=""
stop() {
  if [ -n "$CHILD" ]; then
    kill "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  exit "$1"
}

mount_all() {
  unmount_all # left by a run that was killed
  trap unmount_all EXIT
  trap 'stop 130' INT
  trap 'stop 143' TERM
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
    echo "reusing $VENV: $(pinned)"
    return
  fi
  say "Home Assistant test harness in the chroot: $(pinned)"
  rm -rf "${CHROOT:?}$VENV"
  cp "$PIN" "$CHROOT/tmp/requirements-current.txt"
  inside python3 -m venv "$VENV"
  inside "$VENV/bin/python" -m pip install -q --no-cache-dir --disable-pip-version-check \
    -r /tmp/requirements-current.txt
  echo "$want" >"$CHROOT$VENV/.pin"
}

copy_sources() {
  rm -rf "${CHROOT:?}$SRC"
  mkdir -p "$CHROOT$SRC"
  tar -C "$ROOT" -cf - cmc_mqtt custom_components tests_ha tests/fixtures blueprints | tar -C "$CHROOT$SRC" -xf -
}

# pytest's arguments as seen from tests_ha/ inside: those that name a test file of tests_ha/
# (`tests_ha/test_x.py[::name]` from the repo, or `test_x.py` from tests_ha/) run alone; without
# any, the whole folder runs.
PYTEST_ARGS=()
pytest_args() {
  local arg file named=0
  for arg in "$@"; do
    file=${arg#tests_ha/}
    file=${file:-.}
    if [[ $arg != -* && -e $ROOT/tests_ha/${file%%::*} ]]; then
      PYTEST_ARGS+=("$file")
      named=1
    else
      PYTEST_ARGS+=("$arg")
    fi
  done
  [ "$named" = 1 ] || PYTEST_ARGS+=(.)
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
  pinned)
    pinned
    ;;
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
    pytest_args "$@"
    exec_inside sh -c 'cd "$1/tests_ha" && shift && exec "$@"' sh "$SRC" \
      env PYTHONPATH="$SRC" COVERAGE_FILE=/tmp/.coverage-ha \
      "$VENV/bin/python" -m pytest -c pytest.ini "${PYTEST_ARGS[@]}" &
    CHILD=$!
    wait "$CHILD"
    ;;
  bump)
    prepare
    inside python3 -m venv --clear /tmp/bump-venv
    newest=$(inside /tmp/bump-venv/bin/python -m pip index versions --disable-pip-version-check \
      pytest-homeassistant-custom-component 2>/dev/null |
      sed -n 's/^pytest-homeassistant-custom-component (\(.*\))$/\1/p')
    [ -n "$newest" ] || {
      echo "could not find the newest pytest-homeassistant-custom-component" >&2
      exit 1
    }
    # Which Home Assistant it pins: from the wheel's METADATA.
    rm -rf "$CHROOT/tmp/bump"
    inside /tmp/bump-venv/bin/python -m pip download -q --no-deps --disable-pip-version-check \
      -d /tmp/bump "pytest-homeassistant-custom-component==$newest"
    ha=$(inside /tmp/bump-venv/bin/python -c '
import glob, re, zipfile
wheel = zipfile.ZipFile(glob.glob("/tmp/bump/*.whl")[0])
meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
print(re.search(r"^Requires-Dist: homeassistant==(\S+)", wheel.read(meta).decode(), re.M)[1])')
    line="pytest-homeassistant-custom-component==$newest  # Home Assistant $ha"
    sed -i "s/^pytest-homeassistant-custom-component==.*/$line/" "$PIN"
    echo "pinned: $(pinned)"
    ;;
  shell)
    prepare
    copy_sources
    inside sh -c 'cd "$1" && exec bash' sh "$SRC"
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
