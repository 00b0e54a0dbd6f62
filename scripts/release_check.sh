#!/usr/bin/env bash
# The release, proven here before any tag: what the release workflow publishes, built and used as
# a user would.
#   1. A clean clone of HEAD (`git clone`: nothing uncommitted, untracked or ignored comes along).
#   2. Its sdist and wheel (`python -m build`), checked by `twine check --strict` as PyPI checks
#      them, and the wheel's version against every file that states one (release_info.py).
#   3. The wheel installed with pipx into an empty HOME, with the `demo` extra, as README's
#      Raspberry Pi section installs it: `cmc-mqtt --version`, then `cmc-mqtt demo` on a free port
#      (its embedded broker, no key) until the table shows Bitcoin's price, then Ctrl-C.
# The sdist and wheel are left in the folder given (default build/release/), for
# scripts/check_image.sh, which builds the image and the add-on from that same wheel.
#
# Usage: bash scripts/release_check.sh [OUT]   (tools from .venv: build, twine, pipx)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
OUT=${1:-$REPO/build/release}
VENV=${CMC_VENV:-$REPO/.venv}

say() { printf '\n== release_check: %s\n' "$*"; }
fail() { echo "release_check: FAILED: $*" >&2; exit 1; }
for tool in python twine pipx; do
  [ -x "$VENV/bin/$tool" ] || fail "$VENV/bin/$tool is missing: .venv/bin/pip install -e '.[test]'"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cmc-mqtt-release.XXXXXX")
DEMO=
cleanup() {
  if [ -n "$DEMO" ]; then kill "$DEMO" 2>/dev/null || true; wait "$DEMO" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1. a clean clone -------------------------------------------------------------------------
COMMIT=$(git rev-parse HEAD)
say "clean clone of HEAD ($(git rev-parse --short HEAD))"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "release_check: note: the work tree has uncommitted changes; they are not in this release"
fi
git clone -q --no-hardlinks "$REPO" "$WORK/clone"
git -C "$WORK/clone" checkout -q --detach "$COMMIT"

# --- 2. sdist and wheel, checked --------------------------------------------------------------
say "sdist and wheel (python -m build), twine check --strict"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)  # absolute: the build runs from the work folder
# From the work folder: in the clone, setuptools' own build/ folder would shadow the package.
(cd "$WORK" && "$VENV/bin/python" -m build --outdir "$OUT" "$WORK/clone" >"$WORK/build.log" 2>&1) \
  || { tail -30 "$WORK/build.log" >&2; fail "python -m build"; }
"$VENV/bin/twine" check --strict "$OUT"/* || fail "twine check"
VERSION=$("$VENV/bin/python" "$WORK/clone/scripts/release_info.py" check | sed -n 's/^version=//p')
[ -n "$VERSION" ] || fail "the files state different versions (python scripts/release_info.py check)"
WHEEL=$OUT/cmc_mqtt-$VERSION-py3-none-any.whl
SDIST=$OUT/cmc_mqtt-$VERSION.tar.gz
[ -f "$WHEEL" ] && [ -f "$SDIST" ] || fail "expected $(basename "$WHEEL") and $(basename "$SDIST"): $(ls "$OUT")"
echo "release_check: $(basename "$SDIST"), $(basename "$WHEEL")"

# --- 3. installed with pipx into an empty HOME, then run ----------------------------------------
say "pipx install into an empty HOME, cmc-mqtt --version, the demo until prices show"
HOME_DIR=$WORK/home
mkdir -p "$HOME_DIR"
# An empty HOME with pipx's folders in it; the machine's pip settings (index, certificates) stay.
USER_ENV=(HOME="$HOME_DIR" PIPX_HOME="$HOME_DIR/.local/share/pipx"
  PIPX_BIN_DIR="$HOME_DIR/.local/bin" PIPX_MAN_DIR="$HOME_DIR/.local/share/man"
  XDG_CACHE_HOME="$HOME_DIR/.cache" PATH="$HOME_DIR/.local/bin:$PATH")
as_user() { env "${USER_ENV[@]}" "$@"; }
as_user "$VENV/bin/pipx" install "$WHEEL[demo]" >"$WORK/pipx.log" 2>&1 \
  || { cat "$WORK/pipx.log" >&2; fail "pipx install"; }
COMMAND=$HOME_DIR/.local/bin/cmc-mqtt
[ -x "$COMMAND" ] || fail "pipx made no cmc-mqtt command: $(cat "$WORK/pipx.log")"
SAID=$(cd "$HOME_DIR" && as_user cmc-mqtt --version)
[ "$SAID" = "cmc-mqtt $VERSION" ] || fail "cmc-mqtt --version says '$SAID', expected 'cmc-mqtt $VERSION'"
echo "release_check: $SAID (pipx, $(readlink -f "$COMMAND"))"

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$HOME_DIR" && exec env "${USER_ENV[@]}" cmc-mqtt demo --port "$PORT" --duration 120) >"$WORK/demo.log" 2>&1 &
DEMO=$!
PRICE='^Bitcoin \(BTC\) +\$[0-9][0-9,.]* .* online$'
for _ in $(seq 600); do  # up to 60 s
  grep -Eq "$PRICE" "$WORK/demo.log" && break
  kill -0 "$DEMO" 2>/dev/null || break
  sleep 0.1
done
grep -Eq "$PRICE" "$WORK/demo.log" || { tail -30 "$WORK/demo.log" >&2; fail "the demo showed no price"; }
echo "release_check: demo: $(grep -Em1 "$PRICE" "$WORK/demo.log" | tr -s ' ')"
kill -INT "$DEMO"
STATUS=0
wait "$DEMO" || STATUS=$?
DEMO=
[ "$STATUS" = 0 ] || { tail -20 "$WORK/demo.log" >&2; fail "the demo exited $STATUS on Ctrl-C"; }
if grep -q Traceback "$WORK/demo.log"; then fail "a traceback in the demo's output"; fi

say "passed: cmc-mqtt $VERSION from $(git rev-parse --short HEAD); sdist and wheel in $OUT"
