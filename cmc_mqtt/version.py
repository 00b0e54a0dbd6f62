"""The version, for `bridge/info`, discovery's `sw_version` and `--version`.

Written here and read by the build (`[tool.setuptools.dynamic]`), so the package metadata says
the same: asking `importlib.metadata` at run time instead costs every bridge ~4 MB of imports.
"""

from __future__ import annotations

from typing import Final

VERSION: Final = "0.3.0"
