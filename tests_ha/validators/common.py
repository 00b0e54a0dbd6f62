"""What the validators share: a problem, reading the files they judge, and the small rules
several of them apply."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

#: A version as hassfest and HACS accept one (semantic, calendar, simple or PEP 440).
VERSION: Final = re.compile(r"\d+(\.\d+)*((a|b|rc|\.dev|\.post|-)[0-9A-Za-z.]*)?")


@dataclass(frozen=True)
class Problem:
    rule: str  # "hassfest manifest", "hacs hacsjson", ...
    file: str  # relative to the integration or the repository
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.file}: {self.message}"


def load_json(path: Path, rule: str, problems: list[Problem]) -> Any:
    """The file's JSON, or None (with a problem) when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(rule, path.name, "missing"))
    except ValueError as exc:
        problems.append(Problem(rule, path.name, f"not JSON: {exc}"))
    return None


def parse_module(path: Path) -> ast.Module | None:
    if not path.is_file():
        return None
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def is_url(value: object, *, https: bool = False) -> bool:
    return isinstance(value, str) and bool(
        re.fullmatch(r"https://\S+" if https else r"https?://\S+", value)
    )


def is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
