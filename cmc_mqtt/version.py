"""The installed version, for `bridge/info`, discovery's `sw_version` and `--version`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("cmc-mqtt")
except PackageNotFoundError:  # a source tree that was not installed
    VERSION = "0.0.0+unknown"
